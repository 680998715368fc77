"""Monitors: time to detect, and blindness when the monitor shares fate with what it watches.

In Dec 2021 AWS's internal monitoring ran over the congested internal network and went blind, so
operators "had to rely on logs"; in 2017 the status dashboard could not be updated because it stored on
S3. An internal monitor reads continuously but sees nothing while a service it ``depends_on`` fails; an
external probe samples every ``interval`` and sees what a client sees. Either alarms once the watched
thing's failed share has stayed at or above ``threshold`` for ``sustain``.
"""

from __future__ import annotations

import numpy as np

BLIND_AT = 0.5  # a dependency failing this share of its work carries no monitoring data
TRAFFIC_FLOOR = 1e-5  # arrivals below this share of what a service could serve are no traffic to judge


def failed_share(arrivals: np.ndarray, goodput: np.ndarray, cap: np.ndarray,
                 floor: np.ndarray | float = 1e-9) -> np.ndarray:
    """Share of arriving work that did not succeed in time, float[...]; with arrivals at or below
    ``floor`` (no traffic), a cell counts as failed when it has no capacity (its callers could not
    reach it), else as healthy.

    A service's floor is ``TRAFFIC_FLOOR`` of its nominal throughput over the window: the fluid's tail
    of a starved caller (10^-6 of its launches, AWS October 2025) is not a probe's evidence; without the
    floor such a trickle, failing, made the NLB health checker pull 30-57% of healthy capacity.
    """
    idle = np.where(cap < 0.5, 1.0, 0.0)
    return np.where(arrivals > floor, np.clip(1.0 - goodput / np.maximum(arrivals, 1e-12), 0.0, 1.0), idle)


def monitor_step(failing: np.ndarray, blind: np.ndarray, since: np.ndarray, t: float, *, threshold: float,
                 sustain_s: float, sample: bool, was: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One observation at t of a failed share per replica: (new ``since``, alarm now), both [R].

    ``since`` is when the current failing stretch began (NaN: not failing). ``sample`` is False between
    an external probe's samples. A blind monitor has no data, so nothing changes: an alarm already
    raised (``was``) stays raised, and one not raised is not raised (its sustain cannot complete on data
    it does not get); when data returns, a failure that went on meanwhile alarms at once.
    """
    if sample:
        bad = failing >= threshold
        since = np.where(blind, since, np.where(bad, np.where(np.isnan(since), t, since), np.nan))
    alarm = np.isfinite(since) & (t - since >= sustain_s)
    if was is not None:
        alarm = np.where(blind, was, alarm)
    return since, alarm
