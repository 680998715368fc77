"""Outage windows and error timings on one regular series: when something was down, and when it recovered.

Definitions used everywhere (DESIGN.md), each a field of :class:`Availability`: something is **down**
once goodput < 50% of demand has held for at least 5 minutes, from the start of that stretch; it has
**recovered** when goodput >= 95% of demand has held for 60 s, from the start of that stretch. Between the
two (goodput back above 50% but not yet at 95% for a minute) it is still down: an outage window runs from
the first interval of the low stretch to the first interval of the sustained recovery.

Every function here takes one replica's series (``float[N]`` interval means over ``interval_s``, interval
``k`` covering ``[k·interval_s, (k+1)·interval_s)`` after the anchor) and returns plain numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError

DOWN_BELOW = 0.5
DOWN_FOR_S = 300.0
RECOVERED_AT = 0.95
RECOVERED_FOR_S = 60.0
ERROR_SHARE = 0.01


@dataclass(frozen=True)
class Availability:
    """The thresholds that make something down, recovered, or erroring (defaults: DESIGN.md).

    Parameters
    ----------
    down_below : down while goodput < ``down_below`` × demand ...
    down_for_s : ... for at least ``down_for_s`` seconds.
    recovered_at : recovered once goodput >= ``recovered_at`` × demand ...
    recovered_for_s : ... has held for ``recovered_for_s`` seconds.
    error_share : an interval counts as erroring when failed / demand >= ``error_share`` (time to first
        error); the fluid engine's steady state always has a tiny timeout tail, so this cannot be 0.
    """

    down_below: float = DOWN_BELOW
    down_for_s: float = DOWN_FOR_S
    recovered_at: float = RECOVERED_AT
    recovered_for_s: float = RECOVERED_FOR_S
    error_share: float = ERROR_SHARE

    def __post_init__(self) -> None:
        if not 0.0 < self.down_below <= self.recovered_at <= 1.0:
            raise AnalysisError("availability thresholds must satisfy 0 < down_below <= recovered_at <= 1, "
                                f"found down_below={self.down_below}, recovered_at={self.recovered_at}")
        if not (self.down_for_s >= 0.0 and self.recovered_for_s >= 0.0):
            raise AnalysisError("availability durations must be >= 0 s, found "
                                f"down_for_s={self.down_for_s}, recovered_for_s={self.recovered_for_s}")
        if not 0.0 < self.error_share <= 1.0:
            raise AnalysisError(f"error_share must be in (0, 1], found {self.error_share}")


DEFAULT_AVAILABILITY = Availability()


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start and end (exclusive) index of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _intervals(seconds: float, interval_s: float) -> int:
    """How many whole intervals it takes to cover ``seconds`` (at least one)."""
    return max(1, math.ceil(seconds / interval_s - 1e-9))


def _sustained_from(ok: np.ndarray, need: int) -> np.ndarray:
    """bool[N]: ``ok[k:k+need]`` is all True (False where fewer than ``need`` intervals remain)."""
    n = len(ok)
    out = np.zeros(n, dtype=bool)
    if n >= need:
        csum = np.concatenate([[0], np.cumsum(ok, dtype=np.int64)])
        out[: n - need + 1] = csum[need:] - csum[: n - need + 1] == need
    return out


def outage_spans(goodput: np.ndarray, demand: np.ndarray, interval_s: float,
                 availability: Availability = DEFAULT_AVAILABILITY) -> list[tuple[int, int | None]]:
    """Index spans ``[start, end)`` of the outage windows; ``end`` is None while still down at the end.

    A window opens at ``a``, the first interval of a run of at least ``ceil(down_for_s / interval_s)``
    intervals with ``goodput < down_below · demand`` (and demand > 0), and closes at the first ``j >= b``
    (``b`` the run's end) from which ``goodput >= recovered_at · demand`` holds for
    ``ceil(recovered_for_s / interval_s)`` intervals. Low runs starting before ``j`` belong to the same
    window.
    """
    a_ = availability
    goodput, demand = np.asarray(goodput, float), np.asarray(demand, float)
    low = (goodput < a_.down_below * demand) & (demand > 0)
    up = _sustained_from(goodput >= a_.recovered_at * demand, _intervals(a_.recovered_for_s, interval_s))
    need_down = _intervals(a_.down_for_s, interval_s) if a_.down_for_s > 0 else 1
    spans: list[tuple[int, int | None]] = []
    for a, b in _runs(low):
        if b - a < need_down:
            continue
        if spans:
            last_end = spans[-1][1]
            if last_end is None or a < last_end:
                continue  # still inside the previous window (low and recovered stretches never overlap)
        later = np.flatnonzero(up[b:])
        end = int(b + later[0]) if len(later) else None
        spans.append((int(a), end))
        if end is None:
            break
    return spans


def outage_mask(goodput: np.ndarray, demand: np.ndarray, interval_s: float,
                availability: Availability = DEFAULT_AVAILABILITY) -> np.ndarray:
    """bool[N]: the intervals inside an outage window (see :func:`outage_spans`)."""
    out = np.zeros(len(goodput), dtype=bool)
    for a, b in outage_spans(goodput, demand, interval_s, availability):
        out[a:b] = True
    return out


def time_to_first_error(failed: np.ndarray, demand: np.ndarray, interval_s: float, after_s: float,
                        availability: Availability = DEFAULT_AVAILABILITY) -> float:
    """Seconds from ``after_s`` to the start of the first interval at or after it with failed / demand >=
    ``error_share``; 0 when that interval began before ``after_s``; NaN when there is none.
    """
    start = max(0, math.floor(after_s / interval_s + 1e-9))
    failed, demand = np.asarray(failed, float), np.asarray(demand, float)
    hits = np.flatnonzero((failed >= availability.error_share * demand)[start:] & (demand[start:] > 0))
    if not len(hits):
        return math.nan
    return max((start + int(hits[0])) * interval_s - after_s, 0.0)


def time_to_final_recovery(goodput: np.ndarray, demand: np.ndarray, interval_s: float, after_s: float,
                           availability: Availability = DEFAULT_AVAILABILITY) -> float:
    """Seconds from ``after_s`` to the start of the last stretch with goodput >= ``recovered_at`` × demand,
    if that stretch runs to the end of the series and lasts at least ``recovered_for_s``.

    0 when it started at or before ``after_s`` (never disturbed after it); NaN when the series ends
    without such a stretch (not recovered by the end).
    """
    ok = np.asarray(goodput, float) >= availability.recovered_at * np.asarray(demand, float)
    n = len(ok)
    bad = np.flatnonzero(~ok)
    start = int(bad[-1]) + 1 if len(bad) else 0
    if n - start < _intervals(availability.recovered_for_s, interval_s) or n == 0:
        return math.nan
    return max(start * interval_s - after_s, 0.0)


def recovery_time(goodput: np.ndarray, demand: np.ndarray, interval_s: float, after_s: float,
                  at: float = RECOVERED_AT, for_s: float = RECOVERED_FOR_S) -> float | None:
    """Seconds after ``after_s`` until goodput >= ``at`` × demand holds for ``for_s``; None if never."""
    ok = np.asarray(goodput) >= at * np.asarray(demand)
    need = _intervals(for_s, interval_s)
    start = max(0, math.floor(after_s / interval_s + 1e-9))
    hits = np.flatnonzero(_sustained_from(ok, need)[start:])
    if not len(hits):
        return None
    return max((start + int(hits[0])) * interval_s - after_s, 0.0)
