"""The capacity tool: an operator or automation removes a share of a service's instances, within the
service's safeguards (the fix announced after the S3 outage of 2017: remove capacity slowly, and never
below the minimum a subsystem needs).

``removal_steps`` turns one request into capacity effects: the share actually removed is the request cut
to ``1 - min_share``; with a ``max_rate`` it is removed in equal steps of ``STEP_S`` along a straight
line. Both engines see plain capacity effects, so the tool needs nothing from them.
"""

from __future__ import annotations

import math

import numpy as np

STEP_S = 10.0  # a rate-limited removal proceeds in steps this far apart


def removal_steps(requested: np.ndarray, min_share: float, max_rate_per_s: float,
                  start_s: float, end_s: float) -> list[tuple[float, np.ndarray]]:
    """(start time, share of the remaining instances lost) per step; requested is float[R].

    Effects multiply, so step i removes ``1 - F_i / F_(i-1)`` of what is left, where ``F_i`` is the
    share of instances up after it: ``1 - min(allowed, (i + 1) x rate x STEP_S)``.
    """
    allowed = np.clip(np.minimum(requested, 1.0 - min_share), 0.0, 1.0)
    if not math.isfinite(max_rate_per_s) or max_rate_per_s <= 0.0:
        return [(start_s, allowed)]
    per_step = max_rate_per_s * STEP_S
    n = max(1, math.ceil(float(allowed.max(initial=0.0)) / per_step - 1e-9))
    out, before = [], np.ones_like(allowed)
    for i in range(n):
        t = start_s + i * STEP_S
        if t >= end_s:
            break
        after = 1.0 - np.minimum(allowed, (i + 1) * per_step)
        out.append((t, 1.0 - after / np.maximum(before, 1e-12)))
        before = after
    return out
