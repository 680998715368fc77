"""The load (down) and success (up) sweeps of :mod:`outagesim.analysis.flow`, compiled with numba.

Why numba: after a loss the sweeps touch a few dozen to a few thousand cells per call-graph level, in
up to ``MAX_ROUNDS`` rounds. In numpy each level's update is some sixty small array operations, so on the
100,000-service benchmark a zone's loss spent ~0.13 s in per-call overhead (about 280 level updates of
~100 cells each), and the ranking over 405 failure domains ~50 s. A fused loop has no such overhead.

The kernel is the numpy sweeps of ``Flow`` (``compiled=False``) written out cell by cell, operation for
operation in the same order, so both give the same numbers (tests/analysis/test_blast_fast.py checks it
on random models; on the benchmark model every float of the ranking was bit-identical):

- a level's cells are updated together, as one numpy call would (Jacobi within a level): every link of
  the batch is computed before any cell of it is written, and the share of requests reaching a call
  (``thin``) is a difference of one running sum over the batch's links, as numpy's ``cumsum`` is;
- numpy's ``minimum``/``maximum``/``clip`` propagate NaN, so the helpers below do too;
- dirty cells are a mask plus, per level, the cells marked since the level was last taken; taking a
  level returns its marked cells sorted, as ``np.unique`` does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit


class NetArrays(NamedTuple):
    """The parts of a :class:`~outagesim.analysis.flow_net.FlowNet` the sweeps read, plus each cell's level."""

    cell_level: np.ndarray  # int[C] call-graph level of the cell's service
    level_start: np.ndarray  # int[V + 1] the pending cells of level v sit at [level_start[v], ...)
    workers: np.ndarray
    own_s: np.ndarray
    cv: np.ndarray
    bounded: np.ndarray
    miss: np.ndarray
    link_start: np.ndarray
    link_cell: np.ndarray
    per_request: np.ndarray
    sync: np.ndarray
    hard: np.ndarray
    parallel: np.ndarray
    timeout_s: np.ndarray
    route_start: np.ndarray
    route_link: np.ndarray
    route_cell: np.ndarray
    in_start: np.ndarray
    in_route: np.ndarray
    in_link: np.ndarray  # route_link[in_route]: one random read less per inbound route
    in_caller: np.ndarray  # link_cell[in_link]


class State(NamedTuple):
    """The arrays of a ``Flow`` the sweeps read and write (the same objects: written in place)."""

    alive: np.ndarray
    lam: np.ndarray
    hold: np.ndarray
    soj: np.ndarray
    succ: np.ndarray
    step: np.ndarray
    trend: np.ndarray
    out: np.ndarray
    calls: np.ndarray
    fail: np.ndarray
    thin: np.ndarray
    w: np.ndarray
    lam_sum: np.ndarray  # float[C] the arrivals last summed over the cell's inbound routes (lam keeps them
    lam_stale: np.ndarray  # bool[C] ... only when they moved); stale: an inbound out or weight was written since
    call_time: np.ndarray  # float[L] the time on the call last summed over the link's routes (calls keeps it
    call_ok: np.ndarray  # float[L] ... only when it moved) and the success it sees there
    link_stale: np.ndarray  # bool[L] a route's weight or callee's sojourn, success or health was written since
    touched_cell: np.ndarray  # bool[C] written since the last restore
    touched_link: np.ndarray  # bool[L]


def net_arrays(net, cell_level: np.ndarray) -> NetArrays:
    """The kernel's view of ``net`` (a FlowNet)."""
    n_levels = int(cell_level.max(initial=-1)) + 1
    level_start = np.concatenate([[0], np.cumsum(np.bincount(cell_level, minlength=n_levels))]).astype(np.int64)
    return NetArrays(
        cell_level=cell_level.astype(np.int64), level_start=level_start, workers=net.workers, own_s=net.own_s,
        cv=net.cv, bounded=net.bounded, miss=net.miss, link_start=net.link_start, link_cell=net.link_cell,
        per_request=net.per_request, sync=net.sync, hard=net.hard, parallel=net.parallel,
        timeout_s=net.timeout_s, route_start=net.route_start, route_link=net.route_link,
        route_cell=net.route_cell, in_start=net.in_start, in_route=net.in_route,
        in_link=net.route_link[net.in_route], in_caller=net.link_cell[net.route_link[net.in_route]])


# ---------------------------------------------------------------- numpy's semantics on scalars
@njit(cache=True, inline="always", error_model="numpy")
def _minimum(a, b):
    """np.minimum: NaN if either is NaN."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a <= b else b


@njit(cache=True, inline="always", error_model="numpy")
def _maximum(a, b):
    """np.maximum: NaN if either is NaN."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a >= b else b


@njit(cache=True, inline="always", error_model="numpy")
def _sign(v):
    """np.sign: NaN stays NaN."""
    if v > 0.0:
        return 1.0
    if v < 0.0:
        return -1.0
    return v if v != v else 0.0


# ---------------------------------------------------------------- the formulas of flow.py, per cell
@njit(cache=True, inline="always", error_model="numpy")
def _own_ok(lam, mu, bounded):
    """flow.own_ok for one cell."""
    safe = lam if lam > 0.0 else 1.0
    if bounded:
        share = _minimum(1.0, mu / safe)
    else:
        share = 1.0 if lam <= mu else 0.0
    if lam > 0.0:
        return share
    return 1.0 if mu > 0.0 else 0.0


@njit(cache=True, inline="always", error_model="numpy")
def _mean_wait(lam, hold, servers, cv):
    """flow.mean_wait for one cell."""
    c = _maximum(servers, 1e-12)
    rho = lam * hold / c
    base = _minimum(_maximum(rho, 0.0), 1.0 - 1e-12)
    w = 0.5 * (1.0 + cv * cv) * hold * base ** (np.sqrt(2.0 * (c + 1.0)) - 1.0) / (c * (1.0 - base))
    return w if rho < 1.0 else np.inf


# ---------------------------------------------------------------- dirty cells
@njit(cache=True, inline="always", error_model="numpy")
def _mark(c, mask, buf, count, net):
    """Mark cell ``c`` dirty (once: a marked cell is already pending at its level)."""
    if not mask[c]:
        mask[c] = True
        lv = net.cell_level[c]
        buf[net.level_start[lv] + count[lv]] = c
        count[lv] += 1


@njit(cache=True, error_model="numpy")
def _pending(mask, net):
    """(buffer, count per level) of the cells marked in ``mask``, as the sweeps keep them."""
    n_levels = len(net.level_start) - 1
    buf = np.empty(len(mask), np.int64)
    count = np.zeros(n_levels, np.int64)
    for c in range(len(mask)):
        if mask[c]:
            lv = net.cell_level[c]
            buf[net.level_start[lv] + count[lv]] = c
            count[lv] += 1
    return buf, count


@njit(cache=True, error_model="numpy")
def _take(lv, mask, buf, count, net):
    """The marked cells of level ``lv``, sorted, unmarked on return."""
    lo = net.level_start[lv]
    x = np.sort(buf[lo:lo + count[lv]])
    count[lv] = 0
    for c in x:
        mask[c] = False
    return x


# ---------------------------------------------------------------- the sweeps
@njit(cache=True, error_model="numpy")
def _forward(x, net, st, tol, fwd, fbuf, fcount, bwd, bbuf, bcount):
    """Flow._forward: arrivals of cells ``x`` from their inbound routes, then the calls they send down."""
    lam = np.empty(len(x))
    for i in range(len(x)):  # every arrival first: a same-level (cyclic) caller's output is still the old one
        c = x[i]
        if st.lam_stale[c]:  # else the same inputs would give the same sum: reuse it (no random reads)
            s = 0.0
            for k in range(net.in_start[c], net.in_start[c + 1]):
                s += st.out[net.in_link[k]] * st.w[net.in_route[k]]
            st.lam_sum[c] = s
            st.lam_stale[c] = False
            st.touched_cell[c] = True
        lam[i] = st.lam_sum[c]
    for i in range(len(x)):
        c = x[i]
        if abs(lam[i] - st.lam[c]) > tol * _maximum(1.0, abs(lam[i])):
            st.lam[c] = lam[i]
            st.touched_cell[c] = True
            _mark(c, bwd, bbuf, bcount, net)
    for i in range(len(x)):
        c = x[i]
        served = _minimum(st.lam[c], net.workers[c] * st.alive[c] / st.hold[c])
        for lk in range(net.link_start[c], net.link_start[c + 1]):
            out = served * net.per_request[lk] * net.miss[c] * st.thin[lk]
            if abs(out - st.out[lk]) > tol * _maximum(1.0, abs(out)):
                st.out[lk] = out
                st.touched_link[lk] = True
                for r in range(net.route_start[lk], net.route_start[lk + 1]):
                    callee = net.route_cell[r]
                    st.lam_stale[callee] = True
                    st.touched_cell[callee] = True
                    _mark(callee, fwd, fbuf, fcount, net)


@njit(cache=True, error_model="numpy")
def _calls(x, net, st, tol, fwd, fbuf, fcount):
    """The links of cells ``x``: time on each call, its failure, the share reaching it (thin) and its
    log success; written where they moved. Returns (calls, thin, log_ok) per link of the batch, in order."""
    n_links = 0
    for c in x:
        n_links += net.link_start[c + 1] - net.link_start[c]
    calls = np.empty(n_links)
    thin = np.empty(n_links)
    log_ok = np.empty(n_links)
    csum = 0.0  # running sum of log_ok over the whole batch, as np.cumsum
    j = 0
    for c in x:
        first = j
        csum_first = 0.0
        for lk in range(net.link_start[c], net.link_start[c + 1]):
            if st.link_stale[lk]:  # else the same inputs would give the same sums: reuse them
                t = 0.0
                ok = 0.0
                for r in range(net.route_start[lk], net.route_start[lk + 1]):
                    rc = net.route_cell[r]
                    w = st.w[r]
                    each = _minimum(st.soj[rc], net.timeout_s[lk]) if st.alive[rc] > 0.0 and net.sync[lk] else 0.0
                    t += w * each
                    ok += w * st.succ[rc]
                st.call_time[lk] = t
                st.call_ok[lk] = ok
                st.link_stale[lk] = False
                st.touched_link[lk] = True
            t = st.call_time[lk]
            ok = st.call_ok[lk]
            fail = _minimum(_maximum(1.0 - ok, 0.0), 1.0)
            pr = net.per_request[lk]
            f = _minimum(fail, 1 - 1e-12)
            lo = 0.0
            if net.hard[lk] and net.sync[lk]:
                lo = np.floor(pr) * np.log1p(-f) + np.log1p(-(pr - np.floor(pr)) * f)
            csum = lo if j == 0 else csum + lo
            if j == first:
                csum_first = csum - lo
            th = np.exp(csum - lo - csum_first)
            if abs(t - st.calls[lk]) > tol or abs(fail - st.fail[lk]) > tol or abs(th - st.thin[lk]) > tol:
                st.calls[lk] = t
                st.fail[lk] = fail
                st.thin[lk] = th
                st.touched_link[lk] = True
                _mark(c, fwd, fbuf, fcount, net)
            calls[j] = t
            thin[j] = th
            log_ok[j] = lo
            j += 1
    return calls, thin, log_ok


@njit(cache=True, error_model="numpy")
def _backward(x, net, st, tol, queueing, fwd, fbuf, fcount, bwd, bbuf, bcount):
    """Flow._backward: time on and failure of cells ``x``'s calls; their hold time, capacity and success."""
    calls, thin, log_ok = _calls(x, net, st, tol, fwd, fbuf, fcount)  # every link before any cell moves
    j = 0
    for c in x:
        seq = 0.0
        longest = 0.0
        sum_log = 0.0
        for lk in range(net.link_start[c], net.link_start[c + 1]):
            spent = net.per_request[lk] * net.miss[c] * thin[j] * calls[j]
            if net.sync[lk] and not net.parallel[lk]:
                seq += spent
            elif net.sync[lk]:
                longest = _maximum(longest, spent)
            sum_log += log_ok[j]
            j += 1
        target = _maximum(net.own_s[c] + seq + longest, 1e-12)
        hold = _damped(c, target, st)
        servers = net.workers[c] * st.alive[c]
        mu = servers / hold
        succ = _own_ok(st.lam[c], mu, net.bounded[c]) * (1.0 - net.miss[c] + net.miss[c] * np.exp(sum_log))
        soj = hold + _mean_wait(st.lam[c], hold, servers, net.cv[c]) if queueing else hold
        old = st.soj[c]
        if np.isfinite(soj) and np.isfinite(old):
            soj_moved = abs(soj - old) > tol * soj
        else:
            soj_moved = np.isfinite(soj) != np.isfinite(old)
        if abs(hold - st.hold[c]) > tol * hold or abs(succ - st.succ[c]) > tol or soj_moved:
            st.hold[c] = hold
            st.soj[c] = soj
            st.succ[c] = succ
            _mark(c, fwd, fbuf, fcount, net)  # capacity (served) may have moved
            for k in range(net.in_start[c], net.in_start[c + 1]):
                st.link_stale[net.in_link[k]] = True
                st.touched_link[net.in_link[k]] = True
                caller = net.in_caller[k]
                if caller >= 0:
                    _mark(caller, bwd, bbuf, bcount, net)


@njit(cache=True, inline="always", error_model="numpy")
def _damped(c, target, st):
    """Flow._damped for one cell: its new hold, moved part of the way in log space (Rprop-style step)."""
    old = st.hold[c]
    ratio = np.log(target / old)
    sign = _sign(ratio)
    step = 0.5 * st.step[c] if sign * st.trend[c] < 0.0 else _minimum(1.0, 1.1 * st.step[c])
    st.step[c] = step
    if sign != 0.0:
        st.trend[c] = sign
    st.touched_cell[c] = True
    return old * np.exp(step * ratio)


@njit(cache=True, error_model="numpy")
def settle(net, st, fwd, bwd, max_rounds, tol, queueing):
    """Flow._settle: alternate load (down) and success (up) sweeps until no cell is dirty, for at most
    ``max_rounds``. ``fwd`` and ``bwd`` are the dirty masks, updated in place (cells still dirty after
    ``max_rounds`` stay marked, as in the numpy sweeps)."""
    fbuf, fcount = _pending(fwd, net)
    bbuf, bcount = _pending(bwd, net)
    n_levels = len(net.level_start) - 1
    for _ in range(max_rounds):
        if fcount.sum() == 0 and bcount.sum() == 0:
            return
        for lv in range(n_levels):
            if fcount[lv]:
                x = _take(lv, fwd, fbuf, fcount, net)
                _forward(x, net, st, tol, fwd, fbuf, fcount, bwd, bbuf, bcount)
        for lv in range(n_levels - 1, -1, -1):
            if bcount[lv]:
                x = _take(lv, bwd, bbuf, bcount, net)
                _backward(x, net, st, tol, queueing, fwd, fbuf, fcount, bwd, bbuf, bcount)
