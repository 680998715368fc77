"""Outage windows on a regular series: when something is down, and whether it recovered.

Definitions used everywhere (DESIGN.md): down while goodput < 50% of demand for at least 5 minutes;
recovered when goodput >= 95% of demand for 60 s.
"""

from __future__ import annotations

import numpy as np

DOWN_BELOW = 0.5
DOWN_FOR_S = 300.0
RECOVERED_AT = 0.95
RECOVERED_FOR_S = 60.0


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start and end (exclusive) index of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def down_mask(goodput: np.ndarray, demand: np.ndarray, interval_s: float,
              below: float = DOWN_BELOW, for_s: float = DOWN_FOR_S) -> np.ndarray:
    """Intervals inside a stretch of at least ``for_s`` with goodput < ``below`` × demand."""
    low = goodput < below * np.maximum(demand, 1e-12)
    low &= demand > 0
    need = max(1, int(np.ceil(for_s / interval_s - 1e-9)))
    out = np.zeros_like(low)
    for a, b in _runs(low):
        if b - a >= need:
            out[a:b] = True
    return out


def recovery_time(goodput: np.ndarray, demand: np.ndarray, interval_s: float, after_s: float,
                  at: float = RECOVERED_AT, for_s: float = RECOVERED_FOR_S) -> float | None:
    """Seconds after ``after_s`` until goodput >= ``at`` × demand holds for ``for_s``; None if never."""
    ok = goodput >= at * demand
    need = max(1, int(np.ceil(for_s / interval_s - 1e-9)))
    start = int(np.floor(after_s / interval_s + 1e-9))
    for k in range(start, len(ok) - need + 1):
        if ok[k:k + need].all():
            return max(k * interval_s - after_s, 0.0)
    return None
