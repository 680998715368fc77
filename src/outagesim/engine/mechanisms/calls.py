"""What a cell's sync calls do to it: hold time (worker exhaustion) and failure of its responses.

A worker is held for its own work plus its sync calls: sequential calls add up, ``parallel`` ones take
the longest; each call lasts its attempts' latency plus backoffs (retries hold the worker). So a slow
dependency exhausts upstream workers, which is how latency cascades (the AWS 2021 internal-network
congestion). Calls run in declared order and a hard failure ends the request, so later calls are
thinned by the earlier ones' failure rate. A response fails when its own injected error fires or a hard
call finally failed; soft calls only degrade it.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def scatter_add(out, rows, values):
    """out[rows[i]] += values[i] row by row (np.add.at, without its per-element overhead)."""
    for i in range(rows.shape[0]):
        out[rows[i]] += values[i]


@njit(cache=True)
def scatter_max(out, rows, values):
    """out[rows[i]] = max(out[rows[i]], values[i]) elementwise."""
    for i in range(rows.shape[0]):
        o = out[rows[i]]
        v = values[i]
        for j in range(o.shape[0]):
            if v[j] > o[j]:
                o[j] = v[j]


def call_effects(
    own_s: np.ndarray,  # (C, R) own work incl. injected latency
    err_frac: np.ndarray,  # (C, R) injected error share
    link_cell: np.ndarray,  # (L,) caller cell, -1 for entry links
    link_order: np.ndarray,  # (L,) position among the caller's calls
    link_sync: np.ndarray,  # (L,) bool
    link_hard: np.ndarray,  # (L,) bool
    link_parallel: np.ndarray,  # (L,) bool
    per_request: np.ndarray,  # (L, R)
    call_s: np.ndarray,  # (L, R) expected time on one call including retries
    final_fail: np.ndarray,  # (L, R) share of calls that finally fail
    miss: np.ndarray | None = None,  # (C, R) share of requests that make the calls (cache misses)
):
    """Return (hold_s (C, R), fail_frac (C, R), thin (L, R), calls_ok (C, R)).

    ``calls_ok`` is the share of requests making the calls whose hard sync calls all succeed; with a
    cache, only misses make them (``hold`` and ``fail`` average over hits and misses).
    """
    svc = link_cell >= 0
    hard_sync = svc & link_sync & link_hard
    # per_request = n + frac: n calls always and one more with probability frac (as the request-level
    # engine draws them), so a lost callee called on 10% of requests fails 10% of them, not all
    f = np.clip(final_fail, 0.0, 1 - 1e-12)
    whole = np.floor(per_request)
    log_ok = np.where(hard_sync[:, None], whole * np.log1p(-f) + np.log1p(-(per_request - whole) * f), 0.0)
    # thinning: product over earlier hard sync calls of the same caller cell
    thin = np.ones_like(per_request)
    if np.any(hard_sync):
        for order in range(1, int(link_order.max(initial=0)) + 1):
            later = svc & (link_order == order)
            if not np.any(later):
                continue
            acc = np.zeros_like(own_s)
            earlier = hard_sync & (link_order < order)
            scatter_add(acc, link_cell[earlier], log_ok[earlier])
            thin[later] = np.exp(acc[link_cell[later]])
    made = per_request if miss is None else per_request * np.where(svc[:, None], miss[np.maximum(link_cell, 0)], 1.0)
    hold = along_calls(own_s, call_s, made, thin, link_cell, link_sync, link_parallel)
    total_log_ok = np.zeros_like(own_s)
    scatter_add(total_log_ok, link_cell[hard_sync], log_ok[hard_sync])
    calls_ok = np.exp(total_log_ok)
    if miss is None:
        fail = 1.0 - (1.0 - err_frac) * calls_ok
    else:
        fail = 1.0 - (1.0 - err_frac) * (1.0 - miss + miss * calls_ok)
    return hold, fail, thin, calls_ok


def along_calls(
    own: np.ndarray,  # (C, R) the cell's own part
    per_call: np.ndarray,  # (L, R) the quantity one call adds
    per_request: np.ndarray,  # (L, R)
    thin: np.ndarray,  # (L, R) share of requests that reach the call (earlier hard calls succeeded)
    link_cell: np.ndarray,
    link_sync: np.ndarray,
    link_parallel: np.ndarray,
) -> np.ndarray:
    """own + Σ over sequential sync calls + the largest parallel one, each × per_request × thin.

    Used for the hold time (per_call = time on the call) and for its variance (per_call = the callee's
    sojourn variance), so both follow the same call structure.
    """
    svc = link_cell >= 0
    spent = per_request * thin * per_call
    total = own.copy()
    seq = svc & link_sync & ~link_parallel
    scatter_add(total, link_cell[seq], spent[seq])
    par = svc & link_sync & link_parallel
    if np.any(par):
        longest = np.zeros_like(own)
        scatter_max(longest, link_cell[par], spent[par])
        total += longest
    return total
