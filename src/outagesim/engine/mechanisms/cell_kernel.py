"""The cell update of one propagation level, fused into a numba kernel.

Per cell and replica: the backward-Euler fluid queue step (``queue_step``, on the tabulated G⁻¹), then
which waiting work the freed workers take, then responses sorted into successes, errors and wasted work.
Why numba: each cell touches a few flows and bins, so in numpy the per-call overhead (hundreds of small
array operations per step) dwarfed the arithmetic; a fused loop has none.

Which waiting work a cell's free workers take: FIFO, LIFO and drop-expired on age-binned backlogs.

Waiting work is kept per flow in age bins (age = time since the caller sent the attempt). Each step a
cell takes ``tau`` from its waiting work:

1. **Bypass**: a share 1 − C(c, ρ) of this step's arrivals finds a free worker at once (ρ from the
   arrival rate; none in overload). With step 2 this reproduces the M/M/c wait, P(W > t) = C·e^{-(cμ-λ)t}.
   The share is scaled by φ below: while a backlog beyond the stationary queue waits, every worker is
   busy and nobody bypasses it (else, after an overload, new work would jump a FIFO backlog).
2. **Stationary part** (share φ = min(1, Lq(ρ)/queue) of the rest) is taken in proportion across bins:
   it stands for the random fluctuation queue, whose wait is exponential whatever the discipline.
3. **Excess backlog** (the rest) is taken in order: oldest first (FIFO) or newest first (LIFO). This is
   where disciplines differ: FIFO drains stale work first, which in a retry storm has already expired
   upstream (the work is wasted); LIFO serves fresh work.
4. **drop_expired**: expired work (older than its caller's timeout) that the take reaches is discarded
   at no capacity cost; with FIFO that is all of it whenever a worker frees up. Within the oldest live
   bin, deadlines fall evenly over the bin: FIFO reaches its head first, so the part whose deadline has
   passed by this sub-step is dropped, and of what it takes, the share with less time left than a hold
   answers too late (served, wasted, a timeout for the caller). Without this a FIFO storm with
   drop_expired let 19-41% of demand through where the request-level engine lets under 1%.

A cell whose callers are all-busy sync pools sees a closed loop, not Poisson arrivals: its stationary
content blends in the finite-source law (``finite_source``) by how closed-loop its arrivals are.

Why: a prototype showed that without the ordered excess there is no difference between FIFO and LIFO
in a storm, and that LIFO applied to the stationary queue starves old work even below saturation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .erlang_table import mean_in_system
from .finite_source import solve_blended_cell
from .queue_step import solve_cell

_EPS = 1e-12
OPEN_BELOW = 0.1  # callers all busy less often than this: their calls arrive as a Poisson stream


@njit(cache=True, inline="always")
def _expire_head(q, mix, f, r, b, head0, sub_j, sub_n, live, fails, o_n):
    """Drop the part of the oldest live bin whose deadline has passed; returns the amount.

    The bin's work reaches its timeout spread evenly over the bin (head0 at its start): by sub-step
    j, (j / n) of it has. FIFO took the oldest first, so what is left beyond the rest is expired.
    """
    gone = max(live - head0 * (sub_n - sub_j) / sub_n, 0.0)
    if gone > 0.0:
        q[f, r, b] -= gone
        _time_out(gone, mix, f, r, b, fails, o_n)
    return gone


@njit(cache=True, inline="always")
def _time_out(x, mix, f, r, b, fails, o_n):
    """Report x attempts of flow f's bin b as timed out to their callers (by attempt mix)."""
    for k in range(mix.shape[3]):
        fails[f, r, k] += x * mix[f, r, b, k]
    o_n[f, r] += x


@njit(cache=True, inline="always")
def _late_share(taken, head0, width, hold):
    """Share of work FIFO takes from the head of the oldest live bin that cannot answer in time.

    The taken slice's deadlines spread over [0, R), R = width·taken/head0; with an exponential hold,
    P(hold > remaining) averages (hold/R)(1 − e^(−R/hold)).
    """
    span = width * min(taken / head0, 1.0) if head0 > _EPS else 0.0
    if span <= _EPS * width:
        return 1.0
    return hold / span * (1.0 - np.exp(-span / hold))


@njit(cache=True, inline="always")
def _completions_of_work_in_service(done, s_tot, busy, dt_per_hold):
    """Of a step's ``done`` completions, those of work in service at its start (the rest: work it started).

    Shared by exposure: work in service all step completes with p1 = 1 − e^(−dt/h), work that starts at
    a uniform time within it with p2 = 1 − (h/dt)(1 − e^(−dt/h)) (about half as often while h ≫ dt).
    Giving every completion to the work already in service, as the step once did, meant work taken in
    a step was never answered in it: a response held longer than a bin was cut off at its timeout less
    a bin (fidelity test ``test_timeout_bins``). Bounded so neither part goes negative and no more stays
    in service than ``busy`` workers hold (a draining cell may hold fewer, as before the split).
    """
    started = max(done + busy - s_tot, 0.0)  # work taken into service this step (whatever the split)
    p1 = -np.expm1(-dt_per_hold)
    p2 = 1.0 - p1 / dt_per_hold if dt_per_hold > 1e-6 else 0.5 * dt_per_hold
    w1 = p1 * s_tot
    w = w1 + p2 * started
    e1 = done * w1 / w if w > 0.0 else 0.0
    return min(max(e1, min(s_tot - busy, done)), s_tot, done)


@njit(cache=True)
def update_level(
    q, s, mix, inj, tokens, closed_in, cell_f0, cell_f1, servers, room_limit, hold, kq, fail, lifo, drop,
    tbins, finite, timeout_s, last_w, dts, rows, knots,
    succ, fails, started, sojourn, c_arr, c_done, c_good, c_err, c_queue, c_insvc, o_n, o_lat, c_drop, c_rej,
    closed_out, all_busy, head0, sub_js, sub_ns, c_tout,
):
    """Advance every cell of one level by its replica's sub-step; outputs go into the trailing arrays.

    Replica r moves by ``dts[r]`` (sub-step ``sub_js[r]`` of ``sub_ns[r]`` in its bin); a replica with
    ``dts[r] == 0`` sits this call out and its state is left as it was.

    ``tokens`` and ``closed_in`` (per flow, from ``link_kernel.inject``) are the sync callers' workers
    that can be waiting here and the arrivals weighted by how closed-loop each caller is; the cell's
    own closed-loop weight goes to ``closed_out`` for its callees (``finite_source``), and ``all_busy``
    is the share of time all its workers are busy (Erlang C at its busy fraction). ``last_w`` is the share
    of the answers from a flow's last live bin that come in time (``fluid_setup.timeout_bins``).
    """
    n_cells = cell_f0.shape[0]
    r_n = q.shape[1]
    b_n = q.shape[2]
    k_n = mix.shape[3]
    max_f = 0
    for ci in range(n_cells):
        max_f = max(max_f, cell_f1[ci] - cell_f0[ci])
    taken = np.zeros((max_f, b_n))
    exits = np.zeros((max_f, b_n))
    live = np.zeros((max_f, b_n))
    stale = np.zeros((max_f, b_n))
    arr = np.zeros(max_f)
    doomed = np.zeros(max_f)
    o_tout = np.zeros(max_f)
    head = np.zeros(max_f, np.int64)  # the oldest live bin where FIFO drop-expired works, else -1
    for ci in range(n_cells):
        f0, f1 = cell_f0[ci], cell_f1[ci]
        nf = f1 - f0
        for r in range(r_n):
            dt = dts[r]
            if dt <= 0.0:
                continue
            sub_j = sub_js[r]
            sub_n = sub_ns[r]
            srv = servers[ci, r]
            h = hold[ci, r]
            # arrivals and their attempt mix
            a_tot = 0.0
            x = 0.0
            q_before = 0.0
            s_tot = 0.0
            # only bins up to the oldest non-empty one matter (work is mostly young: skip the rest)
            nb = 1
            for i in range(nf):
                b = b_n - 1
                while b >= nb and q[f0 + i, r, b] == 0.0 and s[f0 + i, r, b] == 0.0:
                    b -= 1
                nb = max(nb, b + 1)
            for i in range(nf):
                f = f0 + i
                a = 0.0
                for k in range(k_n):
                    a += inj[f, r, k]
                arr[i] = a
                a_tot += a
                if a > _EPS:  # bin 0 may already hold this bin's earlier sub-steps: mix by amount
                    old = q[f, r, 0] + s[f, r, 0]
                    for k in range(k_n):
                        mix[f, r, 0, k] = (mix[f, r, 0, k] * old + inj[f, r, k]) / (old + a)
                for b in range(nb):
                    q_before += q[f, r, b]
                    s_tot += s[f, r, b]
            x = q_before + s_tot
            # room: the waiting room and free workers now, plus what the busy workers complete in the step
            # (a bounded queue admits arrivals as it drains, not only up to its level at the step's start)
            room = room_limit[ci, r] + srv - x + srv * dt / max(h, _EPS) if srv > _EPS else 0.0
            admit = 1.0
            if a_tot > _EPS:
                admit = min(max(room / a_tot, 0.0), 1.0)
            adm_tot = 0.0
            for i in range(nf):
                f = f0 + i
                rej = arr[i] * (1.0 - admit)
                q[f, r, 0] += arr[i] - rej
                adm_tot += arr[i] - rej
                for k in range(k_n):
                    fails[f, r, k] += rej * mix[f, r, 0, k]
                o_n[f, r] = rej
                o_lat[f, r] = 0.0
                succ[f, r] = 0.0
            x += adm_tot
            n_tok = 0.0
            w_closed = 0.0
            for i in range(nf):
                n_tok += tokens[f0 + i, r]
                w_closed += closed_in[f0 + i, r]
            w_closed = min(w_closed / a_tot, 1.0) if a_tot > _EPS else 0.0
            w_closed = max(w_closed - OPEN_BELOW, 0.0) / (1.0 - OPEN_BELOW)
            if w_closed > 0.0 and n_tok > _EPS and srv > _EPS:
                y, busy, lq_closed, p_closed = solve_blended_cell(x, srv, dt / h, kq[ci, r], n_tok, w_closed,
                                                                  rows, knots)
            else:
                w_closed = 0.0
                lq_closed = 0.0
                p_closed = 0.0
                y, busy = solve_cell(x, srv, dt / h, kq[ci, r], rows, knots)
            done = max(x - y, 0.0)
            e1 = _completions_of_work_in_service(done, s_tot, busy, dt / max(h, _EPS))
            fr1 = e1 / s_tot if s_tot > _EPS else 0.0
            d2 = done - e1
            m = max(busy - (s_tot - e1), 0.0)
            tau = d2 + m
            # stationary share and bypass (the M/M/c wait below saturation)
            offered = adm_tot / dt * h
            cw = 1.0
            lq = 0.0
            rho = -1.0
            if srv > _EPS:
                rho = offered / srv
                if 0.0 < rho < 1.0:
                    lq_mm = max(mean_in_system(rows, knots, rho, srv) - offered, 0.0)
                    cw = min(lq_mm * (1 - rho) / rho, 1.0)
                    lq = kq[ci, r] * lq_mm
                elif rho <= 0.0:
                    cw = 0.0
            cw_open = cw
            cw = (1.0 - w_closed) * cw + w_closed * p_closed
            lq = (1.0 - w_closed) * lq + w_closed * lq_closed
            phi = min(max(lq / q_before, 0.0), 1.0) if q_before > _EPS else 1.0
            # how often all workers are busy (its callees see a closed loop when often), by Erlang C
            # at the busy fraction, not the arrival rate: a pool draining a backlog is all busy
            saturated = 0.0
            if srv > _EPS:
                rho_b = busy / srv
                if rho_b >= 1.0 - 1e-9:
                    saturated = 1.0
                elif abs(rho_b - rho) <= 1e-6:  # in balance (busy = offered): the same lookup as above
                    saturated = cw_open
                elif rho_b > 0.0:
                    lq_b = max(mean_in_system(rows, knots, rho_b, srv) - busy, 0.0)
                    saturated = min(lq_b * (1.0 - rho_b) / rho_b, 1.0)
            all_busy[ci, r] = saturated
            closed_out[ci, r] = 1.0 - (1.0 - w_closed) * (1.0 - saturated)
            # 1. bypass from age bin 0
            q0 = 0.0
            for i in range(nf):
                q0 += q[f0 + i, r, 0]
            byp = min(tau, (1.0 - cw) * phi * adm_tot, q0)  # no free worker while excess backlog waits
            f0frac = byp / q0 if q0 > _EPS else 0.0
            live_tot = 0.0
            for i in range(nf):
                f = f0 + i
                for b in range(nb):
                    t0 = q[f, r, b] * f0frac if b == 0 else 0.0
                    taken[i, b] = t0
                    rest = q[f, r, b] - t0
                    exp_ = drop[ci] and finite[f] and b >= tbins[f, r]
                    live[i, b] = 0.0 if exp_ else rest
                    stale[i, b] = rest if exp_ else 0.0
                    live_tot += live[i, b]
            tau1 = max(tau - byp, 0.0)
            # 2. stationary part in proportion
            prop = phi * tau1
            fp = min(prop / live_tot, 1.0) if live_tot > _EPS else 0.0
            dropped = 0.0
            for i in range(nf):
                for b in range(nb):
                    tp = live[i, b] * fp
                    taken[i, b] += tp
                    live[i, b] -= tp
                    dp = stale[i, b] * fp
                    dropped += dp
                    stale[i, b] -= dp
                    q[f0 + i, r, b] -= dp
            # 3. excess backlog in order; expired work the take reaches is dropped
            remaining = max(tau1 - min(prop, live_tot), 0.0)
            for i in range(nf):
                f = f0 + i
                doomed[i] = 0.0
                o_tout[i] = 0.0
                head[i] = tbins[f, r] - 1 if not lifo[ci] and drop[ci] and finite[f] and tbins[f, r] >= 2 else -1
                if sub_j == 0 and finite[f]:
                    head0[f, r] = q[f, r, tbins[f, r] - 1]
            for bb in range(nb):
                if remaining <= 0.0:
                    break
                b = bb if lifo[ci] else nb - 1 - bb
                bin_live = 0.0
                for i in range(nf):
                    f = f0 + i
                    q[f, r, b] -= stale[i, b]
                    dropped += stale[i, b]
                    stale[i, b] = 0.0
                    if b == head[i]:
                        gone = _expire_head(q, mix, f, r, b, head0[f, r], sub_j, sub_n, live[i, b], fails, o_n)
                        live[i, b] -= gone
                        dropped += gone
                        o_tout[i] += gone
                        c_tout[ci, r] += gone
                    bin_live += live[i, b]
                t = min(remaining, bin_live)
                fr = t / bin_live if bin_live > _EPS else 0.0
                for i in range(nf):
                    f = f0 + i
                    tk = live[i, b] * fr
                    taken[i, b] += tk
                    if b == head[i] and tk > 0.0:
                        doomed[i] = tk * _late_share(tk, head0[f, r], dt * sub_n, h)
                remaining -= t
            # move taken work: into service, or straight out when it completes within the step
            to_s = m / tau if tau > _EPS else 0.0
            start = 0.0
            q_after = 0.0
            s_after = 0.0
            n_exit = 0.0
            n_good = 0.0
            n_err = 0.0
            fl = fail[ci, r]
            for i in range(nf):
                f = f0 + i
                for b in range(nb):
                    tk = min(taken[i, b], q[f, r, b])
                    q[f, r, b] -= tk
                    start += tk
                    if doomed[i] > 0.0 and b == head[i]:
                        doomed[i] = min(doomed[i], tk)
                        tk -= doomed[i]
                    ex = s[f, r, b] * fr1
                    s[f, r, b] += tk * to_s - ex
                    ex += tk * (1.0 - to_s)
                    exits[i, b] = ex
                    q_after += q[f, r, b]
                    s_after += s[f, r, b]
                dm = doomed[i]
                if dm > 0.0:  # taken at the head of the queue too late to answer in time: wasted work
                    tb = tbins[f, r]
                    s[f, r, tb] += dm * to_s
                    s_after += dm * to_s
                    n_exit += dm * (1.0 - to_s)
                    _time_out(dm, mix, f, r, tb - 1, fails, o_n)
                    o_tout[i] += dm
                    c_tout[ci, r] += dm
                ok = 0.0
                nresp = 0.0
                # the last live bin answers its share in time; a FIFO drop-expired flow's last bin is its head,
                # whose deadlines the take already weighed (doomed)
                last = tbins[f, r] - 1 if finite[f] and head[i] < 0 else -1
                for b in range(nb):
                    ex = exits[i, b]
                    n_exit += ex
                    if (not finite[f]) or b < tbins[f, r]:
                        answered = ex * last_w[f, r] if b == last else ex  # the last bin's share in time
                        late = ex - answered
                        n_err += answered * fl  # the late share's caller has timed out: not an error too
                        if late > 0.0:
                            _time_out(late, mix, f, r, b, fails, o_n)
                            o_tout[i] += late
                            c_tout[ci, r] += late
                        ok += answered * (1.0 - fl)
                        bad = answered * fl
                        nresp += answered
                        if bad > 0.0:
                            for k in range(k_n):
                                fails[f, r, k] += bad * mix[f, r, b, k]
                    else:  # expired work's errors still count at the cell (the request-level engine
                        n_err += ex * fl  # counts them only while the caller waits: a known difference)
                succ[f, r] = ok
                n_good += ok
                o_n[f, r] += nresp
                o_lat[f, r] = nresp  # multiplied by the latency below, once the sojourn is known
            if n_exit > _EPS:
                sj = (q_after + s_after) / (n_exit / dt)
            else:
                sj = sojourn[ci, r]
            sj = max(sj, h)
            sojourn[ci, r] = sj
            for i in range(nf):
                f = f0 + i
                # (no timeout, no timed-out attempts: 0 x inf would be NaN)
                o_lat[f, r] = o_lat[f, r] * min(sj, timeout_s[f, r]) + (o_tout[i] * timeout_s[f, r] if o_tout[i] > 0.0
                                                                       else 0.0)
            started[ci, r] = start
            c_arr[ci, r] = a_tot
            c_done[ci, r] = n_exit
            c_good[ci, r] = n_good
            c_err[ci, r] = n_err + a_tot - adm_tot
            c_queue[ci, r] = q_after
            c_insvc[ci, r] = s_after
            c_drop[ci, r] = dropped
            c_rej[ci, r] = a_tot - adm_tot
