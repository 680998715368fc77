"""An autoscaler: adds instances to hold a target utilisation, after a launch delay, if it can.

Launches go through a control plane: in Dec 2021 and Oct 2025 the EC2 APIs that launch instances were
themselves impaired, so autoscaling could not add capacity when it was needed (and API throttling limited
how fast it could). Each ``interval`` the scaler compares the target's busy share with its goal and asks
for ``current x busy / goal`` (between ``min`` and ``max`` x nominal); launches it asks for while the
control plane is failing are lost; those that go through serve after ``launch_time``. It scales in at
most 10% of nominal per interval.
"""

from __future__ import annotations

import numpy as np

SCALE_IN_PER_INTERVAL = 0.1  # share of nominal instances removed per interval at most


def scale_step(current: np.ndarray, pending: np.ndarray, busy: np.ndarray, *, goal: float, low: float,
               high: float, max_launch: float, plane_ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One decision per replica, arrays [R] in shares of nominal instances.

    Returns (new current after scaling in, launched now, asked but blocked by the control plane).
    """
    want = np.clip(current * busy / goal, low, high)
    ask = np.clip(want - current - pending, 0.0, max_launch)
    launched = np.where(plane_ok, ask, 0.0)
    blocked = np.where(plane_ok, 0.0, ask)
    shrink = np.clip(current - want, 0.0, SCALE_IN_PER_INTERVAL) * (pending <= 0.0)
    return current - shrink, launched, blocked
