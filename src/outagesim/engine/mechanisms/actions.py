"""Operator and scripted actions as they act at time t: throttles, restarts, added capacity.

The levers of the four seed incidents: AWS throttled the EC2 lease manager's work and restarted its
hosts (Oct 2025), restarted S3's index and placement subsystems (2017), and throttled internal clients
and added capacity on the internal network (Dec 2021). A throttle rejects at the door, at no cost to
the service; a restart takes a service's capacity to zero (its queues and caches are lost) until its
startup time has passed; added instances serve after their launch time.
"""

from __future__ import annotations

import numpy as np

from ..controls import ADD_CAPACITY, RESTART, THROTTLE, ActionSpec


def action_effects(actions: tuple[ActionSpec, ...], start: np.ndarray, t: float, n_cells: int,
                   n_links: int) -> tuple[np.ndarray, np.ndarray]:
    """Capacity multiplier per cell, float[R, C], and share admitted per link, float[R, L], at t.

    ``start`` is float[A, R]: each action's start per replica (inf until an operator decides).
    """
    r = start.shape[1]
    cap = np.ones((r, n_cells))
    admit = np.ones((r, n_links))
    for i, a in enumerate(actions):
        s = start[i]
        if a.kind == THROTTLE:
            on = (s <= t) & (t < s + a.duration)
            admit[:, a.links] *= np.where(on, a.magnitude, 1.0)[:, None]
        elif a.kind == RESTART:
            on = (s <= t) & (t < s + a.duration)
            cap[:, a.cells] *= np.where(on, 0.0, 1.0)[:, None]
        elif a.kind == ADD_CAPACITY:  # duration = launch time; the instances stay
            cap[:, a.cells] *= np.where(t >= s + a.duration, 1.0 + a.magnitude, 1.0)[:, None]
    return cap, admit
