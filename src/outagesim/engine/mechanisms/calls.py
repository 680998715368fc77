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
def call_effects(own_s, err_frac, link_cell, link_order, link_sync, link_hard, link_parallel, per_request, call_s,
                 final_fail, miss, has_miss):
    """Return (hold_s (C, R), fail_frac (C, R), thin (L, R), calls_ok (C, R)).

    Per cell (C, R): ``own_s`` own work incl. injected latency, ``err_frac`` injected error share,
    ``miss`` the share of requests that make the calls (cache misses; read only if ``has_miss``). Per link
    (L,): ``link_cell`` the caller cell (-1 for entry links), ``link_order`` its position among the
    caller's calls, ``link_sync``, ``link_hard``, ``link_parallel``; (L, R): ``per_request``, ``call_s``
    the expected time on one call including retries, ``final_fail`` the share of calls that finally fail.
    ``calls_ok`` is the share of requests making the calls whose hard sync calls all succeed; with a
    cache, only misses make them (``hold`` and ``fail`` average over hits and misses). Compiled: a few
    dozen small array operations a cell update in numpy.
    """
    n_l, r_n = per_request.shape
    n_c = own_s.shape[0]
    # per_request = n + frac: n calls always and one more with probability frac (as the request-level
    # engine draws them), so a lost callee called on 10% of requests fails 10% of them, not all
    log_ok = np.zeros((n_l, r_n))
    any_hard = False
    max_order = 0
    for lk in range(n_l):
        max_order = max(max_order, link_order[lk])
        if link_cell[lk] >= 0 and link_sync[lk] and link_hard[lk]:
            any_hard = True
            for r in range(r_n):
                f = min(max(final_fail[lk, r], 0.0), 1 - 1e-12)
                pr = per_request[lk, r]
                whole = np.floor(pr)
                log_ok[lk, r] = whole * np.log1p(-f) + np.log1p(-(pr - whole) * f)
    # thinning: product over earlier hard sync calls of the same caller cell (hard-sync log_ok only: 0 else)
    thin = np.ones((n_l, r_n))
    if any_hard:
        acc = np.empty((n_c, r_n))
        for order in range(1, max_order + 1):
            acc[:] = 0.0
            for lk in range(n_l):
                if link_cell[lk] >= 0 and link_order[lk] < order:
                    for r in range(r_n):
                        acc[link_cell[lk], r] += log_ok[lk, r]
            for lk in range(n_l):
                if link_cell[lk] >= 0 and link_order[lk] == order:
                    for r in range(r_n):
                        thin[lk, r] = np.exp(acc[link_cell[lk], r])
    made = per_request.copy()
    if has_miss:
        for lk in range(n_l):
            if link_cell[lk] >= 0:
                for r in range(r_n):
                    made[lk, r] *= miss[link_cell[lk], r]
    hold = along_calls(own_s, call_s, made, thin, link_cell, link_sync, link_parallel)
    total_log_ok = np.zeros((n_c, r_n))
    for lk in range(n_l):
        if link_cell[lk] >= 0:
            for r in range(r_n):
                total_log_ok[link_cell[lk], r] += log_ok[lk, r]
    calls_ok = np.exp(total_log_ok)
    if has_miss:
        fail = 1.0 - (1.0 - err_frac) * (1.0 - miss + miss * calls_ok)
    else:
        fail = 1.0 - (1.0 - err_frac) * calls_ok
    return hold, fail, thin, calls_ok


@njit(cache=True)
def along_calls(own, per_call, per_request, thin, link_cell, link_sync, link_parallel):
    """own + Σ over sequential sync calls + the largest parallel one, each × per_request × thin.

    Per cell (C, R): ``own`` the cell's own part; per link (L, R): ``per_call`` the quantity one call
    adds, ``thin`` the share of requests that reach the call (earlier hard calls succeeded).
    Used for the hold time (per_call = time on the call) and for its variance (per_call = the callee's
    sojourn variance), so both follow the same call structure.
    """
    total = own.copy()
    longest = np.zeros_like(own)
    any_parallel = False
    for lk in range(link_cell.shape[0]):
        c = link_cell[lk]
        if c < 0 or not link_sync[lk]:
            continue
        if link_parallel[lk]:
            any_parallel = True
            for r in range(own.shape[1]):
                longest[c, r] = max(longest[c, r], per_request[lk, r] * thin[lk, r] * per_call[lk, r])
        else:
            for r in range(own.shape[1]):
                total[c, r] += per_request[lk, r] * thin[lk, r] * per_call[lk, r]
    if any_parallel:
        total += longest
    return total


@njit(cache=True)
def hold_spread(own_var, weights, soj_var, route_cell, route_link, per_request, thin, link_cell, link_sync,
                link_parallel, hold):
    """Hold-time variance per cell and its Allen–Cunneen factor kq = (1 + cv²)/2, clipped to [0.1, 5].

    The variance is the own work's (``own_var``, C × R) plus, along the same calls as the hold time,
    each callee's sojourn variance (``soj_var``) by route weight (``weights``, per route × R): a worker
    waiting on a queue that varies is held for a time that varies.
    """
    r_n = hold.shape[1]
    link_var = np.zeros((per_request.shape[0], r_n))
    for p in range(route_link.shape[0]):
        for r in range(r_n):
            link_var[route_link[p], r] += weights[p, r] * soj_var[route_cell[p], r]
    hold_var = along_calls(own_var, link_var, per_request, thin, link_cell, link_sync, link_parallel)
    kq = np.empty_like(hold)
    for c in range(hold.shape[0]):
        for r in range(r_n):
            h = hold[c, r]
            kq[c, r] = min(max(0.5 * (1.0 + hold_var[c, r] / (h * h)), 0.1), 5.0)
    return hold_var, kq
