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
  level returns its marked cells in the order of their FlowNet indices, as ``np.unique`` does;
- the kernel numbers cells by zone (``flow_arrays.Layout``), so a zone's or region's loss works on a
  few contiguous stretches of each array (on the 100,000-service benchmark, zone losses took ~45% less
  time than with cells numbered by service); a batch is still taken in FlowNet order, each cell's
  inbound routes summed in FlowNet order, each cell's links and each link's routes kept in order, so
  the numbers do not move.
"""

from __future__ import annotations

import numpy as np
from numba import njit


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


# ---------------------------------------------------------------- the formulas of flow_cell.py, per cell
@njit(cache=True, inline="always", error_model="numpy")
def _own_ok(lam, mu, bounded):
    """flow_cell.own_ok for one cell."""
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
    """flow_cell.mean_wait for one cell."""
    c = _maximum(servers, 1e-12)
    rho = lam * hold / c
    base = _minimum(_maximum(rho, 0.0), 1.0 - 1e-12)
    w = 0.5 * (1.0 + cv * cv) * hold * base ** (np.sqrt(2.0 * (c + 1.0)) - 1.0) / (c * (1.0 - base))
    return w if rho < 1.0 else np.inf


# ---------------------------------------------------------------- dirty cells
@njit(cache=True, inline="always", error_model="numpy")
def _mark(c, mask, buf, count, cell_level, level_start):
    """Mark cell ``c`` dirty (once: a marked cell is already pending at its level)."""
    if not mask[c]:
        mask[c] = True
        lv = cell_level[c]
        buf[level_start[lv] + count[lv]] = c
        count[lv] += 1


@njit(cache=True, error_model="numpy")
def _pending(marked, mask, net):
    """(buffer, count per level) of the cells ``marked`` (indices, with repeats, and cells no longer marked
    in ``mask``, which are skipped), as the sweeps keep them. From the indices, not by scanning the mask: a
    settle after one zone's loss must not cost a pass over every cell. Repeats are dropped by unmarking a
    cell when it is first put in the buffer and marking the buffer again after (no sort: ``_take`` sorts)."""
    n_levels = len(net.level_start) - 1
    buf = np.empty(len(mask), np.int64)
    count = np.zeros(n_levels, np.int64)
    for c in marked:
        if mask[c]:
            mask[c] = False
            lv = net.cell_level[c]
            buf[net.level_start[lv] + count[lv]] = c
            count[lv] += 1
    for lv in range(n_levels):
        lo = net.level_start[lv]
        for i in range(lo, lo + count[lv]):
            mask[buf[i]] = True
    return buf, count


@njit(cache=True, error_model="numpy")
def _left(buf, count, level_start):
    """The cells still pending (after the last round), level by level."""
    out = np.empty(count.sum(), np.int64)
    j = 0
    for lv in range(len(count)):
        lo = level_start[lv]
        out[j:j + count[lv]] = buf[lo:lo + count[lv]]
        j += count[lv]
    return out


@njit(cache=True, error_model="numpy")
def _take(lv, mask, buf, count, level_start, cell_key):
    """The marked cells of level ``lv``, in the order of their keys (FlowNet indices), unmarked on return."""
    lo = level_start[lv]
    x = buf[lo:lo + count[lv]]
    x = x[np.argsort(cell_key[x])]
    count[lv] = 0
    for c in x:
        mask[c] = False
    return x


# ---------------------------------------------------------------- the sweeps
# Each sweep first binds the arrays it uses to local names: numba then keeps their reference counts out
# of the loops (read through the NamedTuples inside a loop, every access paid an atomic incref/decref).
@njit(cache=True, error_model="numpy")
def _forward(x, net, st, tol, fwd, fbuf, fcount, bwd, bbuf, bcount):
    """Flow._forward: arrivals of cells ``x`` from their inbound routes, then the calls they send down."""
    cell_level, level_start = net.cell_level, net.level_start
    in_start, in_link, in_route = net.in_start, net.in_link, net.in_route
    link_start, route_start, route_cell = net.link_start, net.route_start, net.route_cell
    workers, miss, per_request = net.workers, net.miss, net.per_request
    lam_now, lam_sum, lam_stale, alive, hold = st.lam, st.lam_sum, st.lam_stale, st.alive, st.hold
    out_now, thin, w = st.out, st.thin, st.w
    touched_cell, touched_link = st.touched_cell, st.touched_link
    lam = np.empty(len(x))
    for i in range(len(x)):  # every arrival first: a same-level (cyclic) caller's output is still the old one
        c = x[i]
        if lam_stale[c]:  # else the same inputs would give the same sum: reuse it (no random reads)
            s = 0.0
            for k in range(in_start[c], in_start[c + 1]):
                s += out_now[in_link[k]] * w[in_route[k]]
            lam_sum[c] = s
            lam_stale[c] = False
            touched_cell[c] = True
        lam[i] = lam_sum[c]
    for i in range(len(x)):
        c = x[i]
        if abs(lam[i] - lam_now[c]) > tol * _maximum(1.0, abs(lam[i])):
            lam_now[c] = lam[i]
            touched_cell[c] = True
            _mark(c, bwd, bbuf, bcount, cell_level, level_start)
    for i in range(len(x)):
        c = x[i]
        served = _minimum(lam_now[c], workers[c] * alive[c] / hold[c])
        for lk in range(link_start[c], link_start[c + 1]):
            out = served * per_request[lk] * miss[c] * thin[lk]
            if abs(out - out_now[lk]) > tol * _maximum(1.0, abs(out)):
                out_now[lk] = out
                touched_link[lk] = True
                for r in range(route_start[lk], route_start[lk + 1]):
                    callee = route_cell[r]
                    lam_stale[callee] = True
                    touched_cell[callee] = True
                    _mark(callee, fwd, fbuf, fcount, cell_level, level_start)


@njit(cache=True, error_model="numpy")
def _calls(x, net, st, tol, fwd, fbuf, fcount):
    """The links of cells ``x``: time on each call, its failure, the share reaching it (thin) and its
    log success; written where they moved. Returns (calls, thin, log_ok) per link of the batch, in order."""
    cell_level, level_start = net.cell_level, net.level_start
    link_start, route_start, route_cell = net.link_start, net.route_start, net.route_cell
    per_request, timeout_s, sync, hard = net.per_request, net.timeout_s, net.sync, net.hard
    w, soj, alive, succ = st.w, st.soj, st.alive, st.succ
    call_time, call_ok, link_stale = st.call_time, st.call_ok, st.link_stale
    calls_now, fail_now, thin_now, touched_link = st.calls, st.fail, st.thin, st.touched_link
    n_links = 0
    for c in x:
        n_links += link_start[c + 1] - link_start[c]
    calls = np.empty(n_links)
    thin = np.empty(n_links)
    log_ok = np.empty(n_links)
    csum = 0.0  # running sum of log_ok over the whole batch, as np.cumsum
    j = 0
    for c in x:
        first = j
        csum_first = 0.0
        for lk in range(link_start[c], link_start[c + 1]):
            if link_stale[lk]:  # else the same inputs would give the same sums: reuse them
                t = 0.0
                ok = 0.0
                for r in range(route_start[lk], route_start[lk + 1]):
                    rc = route_cell[r]
                    each = _minimum(soj[rc], timeout_s[lk]) if alive[rc] > 0.0 and sync[lk] else 0.0
                    t += w[r] * each
                    ok += w[r] * succ[rc]
                call_time[lk] = t
                call_ok[lk] = ok
                link_stale[lk] = False
                touched_link[lk] = True
            t = call_time[lk]
            fail = _minimum(_maximum(1.0 - call_ok[lk], 0.0), 1.0)
            pr = per_request[lk]
            f = _minimum(fail, 1 - 1e-12)
            lo = 0.0
            if hard[lk] and sync[lk]:
                if f == 0.0 and np.isfinite(pr):  # what the formula gives (log1p(-0) = -0, n x -0 = -0): the
                    lo = -0.0  # common case, a call that does not fail, without two logarithms
                else:
                    lo = np.floor(pr) * np.log1p(-f) + np.log1p(-(pr - np.floor(pr)) * f)
            csum = lo if j == 0 else csum + lo
            if j == first:
                csum_first = csum - lo
            d = csum - lo - csum_first
            th = 1.0 if d == 0.0 else np.exp(d)  # exp(±0) is exactly 1
            if abs(t - calls_now[lk]) > tol or abs(fail - fail_now[lk]) > tol or abs(th - thin_now[lk]) > tol:
                calls_now[lk] = t
                fail_now[lk] = fail
                thin_now[lk] = th
                touched_link[lk] = True
                _mark(c, fwd, fbuf, fcount, cell_level, level_start)
            calls[j] = t
            thin[j] = th
            log_ok[j] = lo
            j += 1
    return calls, thin, log_ok


@njit(cache=True, error_model="numpy")
def _backward(x, net, st, tol, queueing, fwd, fbuf, fcount, bwd, bbuf, bcount):
    """Flow._backward: time on and failure of cells ``x``'s calls; their hold time, capacity and success."""
    calls, thin, log_ok = _calls(x, net, st, tol, fwd, fbuf, fcount)  # every link before any cell moves
    cell_level, level_start = net.cell_level, net.level_start
    link_start, in_start, in_link, in_caller = net.link_start, net.in_start, net.in_link, net.in_caller
    per_request, sync, parallel = net.per_request, net.sync, net.parallel
    workers, own_s, miss, cv, bounded = net.workers, net.own_s, net.miss, net.cv, net.bounded
    alive, lam, hold_now, soj_now, succ_now = st.alive, st.lam, st.hold, st.soj, st.succ
    step, trend, link_stale = st.step, st.trend, st.link_stale
    touched_cell, touched_link = st.touched_cell, st.touched_link
    j = 0
    for c in x:
        seq = 0.0
        longest = 0.0
        sum_log = 0.0
        for lk in range(link_start[c], link_start[c + 1]):
            spent = per_request[lk] * miss[c] * thin[j] * calls[j]
            if sync[lk] and not parallel[lk]:
                seq += spent
            elif sync[lk]:
                longest = _maximum(longest, spent)
            sum_log += log_ok[j]
            j += 1
        target = _maximum(own_s[c] + seq + longest, 1e-12)
        # Flow._damped: move the hold part of the way in log space (Rprop-style step)
        old = hold_now[c]
        ratio = 0.0 if target == old and np.isfinite(old) else np.log(target / old)  # log(1) is exactly 0
        sign = _sign(ratio)
        tr = trend[c]
        ceiling = abs(tr) if tr != 0.0 else 1.0  # the most the step may grow back to: halved at each reversal
        if sign * tr < 0.0:
            ceiling = 0.5 * ceiling
            step[c] = 0.5 * step[c]
        else:
            step[c] = _minimum(ceiling, 1.1 * step[c])
        if sign != 0.0:
            trend[c] = sign * ceiling
        touched_cell[c] = True
        move = step[c] * ratio
        hold = old * (1.0 if move == 0.0 else np.exp(move))  # a hold at its target (a leaf's) stays: no exp
        servers = workers[c] * alive[c]
        mu = servers / hold
        calls_ok = 1.0 if sum_log == 0.0 else np.exp(sum_log)
        succ = _own_ok(lam[c], mu, bounded[c]) * (1.0 - miss[c] + miss[c] * calls_ok)
        soj = hold + _mean_wait(lam[c], hold, servers, cv[c]) if queueing else hold
        old = soj_now[c]
        if np.isfinite(soj) and np.isfinite(old):
            soj_moved = abs(soj - old) > tol * soj
        else:
            soj_moved = np.isfinite(soj) != np.isfinite(old)
        if abs(hold - hold_now[c]) > tol * hold or abs(succ - succ_now[c]) > tol or soj_moved:
            hold_now[c] = hold
            soj_now[c] = soj
            succ_now[c] = succ
            _mark(c, fwd, fbuf, fcount, cell_level, level_start)  # capacity (served) may have moved
            for k in range(in_start[c], in_start[c + 1]):
                link_stale[in_link[k]] = True  # the callers' calls see a new sojourn or success
                touched_link[in_link[k]] = True
                if in_caller[k] >= 0:
                    _mark(in_caller[k], bwd, bbuf, bcount, cell_level, level_start)


@njit(cache=True, error_model="numpy")
def settle(net, st, fwd, bwd, fwd_marked, bwd_marked, max_rounds, tol, queueing):
    """Flow._settle: alternate load (down) and success (up) sweeps until no cell is dirty, for at most
    ``max_rounds``. ``fwd`` and ``bwd`` are the dirty masks, updated in place (cells still dirty after
    ``max_rounds`` stay marked, as in the numpy sweeps); ``*_marked`` the cells they mark (repeats allowed).
    Returns the cells still marked in ``fwd`` and ``bwd`` (empty when settled)."""
    fbuf, fcount = _pending(fwd_marked, fwd, net)
    bbuf, bcount = _pending(bwd_marked, bwd, net)
    level_start = net.level_start
    n_levels = len(level_start) - 1
    for _ in range(max_rounds):
        if fcount.sum() == 0 and bcount.sum() == 0:
            break
        for lv in range(n_levels):
            if fcount[lv]:
                x = _take(lv, fwd, fbuf, fcount, level_start, net.cell_key)
                _forward(x, net, st, tol, fwd, fbuf, fcount, bwd, bbuf, bcount)
        for lv in range(n_levels - 1, -1, -1):
            if bcount[lv]:
                x = _take(lv, bwd, bbuf, bcount, level_start, net.cell_key)
                _backward(x, net, st, tol, queueing, fwd, fbuf, fcount, bwd, bbuf, bcount)
    return _left(fbuf, fcount, level_start), _left(bbuf, bcount, level_start)


@njit(cache=True, error_model="numpy")
def reweigh(links, net, st, tol, touched_route):
    """Flow._reweigh: route weights of ``links`` from the cells' healthy shares, written where they moved
    (the bincounts of the numpy version are these sums, in the same order). Returns the cells to mark for
    the load sweep (their arrivals change) and for the success sweep (callers whose calls change)."""
    route_start, route_cell, route_local, link_cell, workers = (net.route_start, net.route_cell,
                                                                net.route_local, net.link_cell, net.workers)
    alive, w, lam_stale, link_stale = st.alive, st.w, st.lam_stale, st.link_stale
    touched_cell, touched_link = st.touched_cell, st.touched_link
    n = 0
    for lk in links:
        n += route_start[lk + 1] - route_start[lk]
    fwd = np.empty(n, np.int64)
    bwd = np.empty(n, np.int64)
    n_fwd = 0
    n_bwd = 0
    for lk in links:
        lo, hi = route_start[lk], route_start[lk + 1]
        remote_tot = 0.0
        nominal_tot = 0.0
        local_share = 0.0
        has_local = False
        for r in range(lo, hi):
            c = route_cell[r]
            if route_local[r]:
                remote_tot += 0.0
                nominal_tot += 0.0
                local_share += alive[c]
                has_local = True
            else:
                remote_tot += workers[c] * alive[c]
                nominal_tot += workers[c]
                local_share += 0.0
        for r in range(lo, hi):
            c = route_cell[r]
            if route_local[r]:
                wr = 1.0 if remote_tot <= 0.0 else local_share
            else:
                remote_w = workers[c] * alive[c] / remote_tot if remote_tot > 0.0 else 0.0
                if remote_tot <= 0.0 and not has_local:
                    remote_w = workers[c] / nominal_tot if nominal_tot > 0.0 else 0.0
                wr = (1.0 - local_share) * remote_w
            if abs(wr - w[r]) > tol:
                w[r] = wr
                touched_route[r] = True
                lam_stale[c] = True
                touched_cell[c] = True
                link_stale[lk] = True
                touched_link[lk] = True
                fwd[n_fwd] = c
                n_fwd += 1
                if link_cell[lk] >= 0:
                    bwd[n_bwd] = link_cell[lk]
                    n_bwd += 1
    return fwd[:n_fwd], bwd[:n_bwd]


@njit(cache=True, error_model="numpy")
def restore(st, base, cells, links, routes, touched_route):
    """Flow._restore: the base values back into the written ``cells``, ``links`` and ``routes`` (the
    touched ones), every field in one pass per index instead of a gather and a scatter per field."""
    alive, lam, hold, soj, succ, step, trend = st.alive, st.lam, st.hold, st.soj, st.succ, st.step, st.trend
    lam_sum, lam_stale, touched_cell = st.lam_sum, st.lam_stale, st.touched_cell
    out, calls, fail, thin, w = st.out, st.calls, st.fail, st.thin, st.w
    call_time, call_ok, link_stale, touched_link = st.call_time, st.call_ok, st.link_stale, st.touched_link
    for c in cells:
        alive[c] = base.alive[c]
        lam[c] = base.lam[c]
        hold[c] = base.hold[c]
        soj[c] = base.soj[c]
        succ[c] = base.succ[c]
        step[c] = base.step[c]
        trend[c] = base.trend[c]
        lam_sum[c] = base.lam_sum[c]
        lam_stale[c] = base.lam_stale[c]
        touched_cell[c] = False
    for lk in links:
        out[lk] = base.out[lk]
        calls[lk] = base.calls[lk]
        fail[lk] = base.fail[lk]
        thin[lk] = base.thin[lk]
        call_time[lk] = base.call_time[lk]
        call_ok[lk] = base.call_ok[lk]
        link_stale[lk] = base.link_stale[lk]
        touched_link[lk] = False
    for r in routes:
        w[r] = base.w[r]
        touched_route[r] = False
