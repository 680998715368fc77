"""Link-side bookkeeping of one fluid step, fused into numba kernels.

``inject`` routes each link's attempts to its callee cells' flows (zone-local first, spill by healthy
capacity: the weights of ``network.route_weights``). ``age`` counts attempts crossing their timeout and
ages every bin (once per bin); ``resolve`` returns each flow's outcomes to the links that fed it, and
for every failed attempt either schedules a retry in the delay line (``retry``) or records a final
failure, then updates the links' averaged statistics that set hold times (``calls``). Why numba: on
small models these are a hundred tiny array operations per step, whose call overhead dominated.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_EPS = 1e-12
RESIDUE = 1e-12  # requests: less than this in an age bin is dropped when bins age


@njit(cache=True)
def inject(link_out, weights, route_link, route_flow, routes, links, flow0, link_cell, link_tokens, closed,
           active, inj, share, tokens, closed_in, first):
    """Move the attempts of ``links`` along ``routes`` into ``inj`` (flows local to the level).

    First tries sent are added to ``first`` (per link; what retry budgets are refilled by).

    Only replicas ``active`` in this sub-step move; the others keep their attempts for their next one.

    Also per flow: ``tokens``, the sync callers' workers that may wait on it (``link_tokens`` by route
    weight), and ``closed_in``, its arrivals weighted by each caller cell's closed-loop weight.
    """
    r_n = link_out.shape[1]
    k_n = link_out.shape[2]
    inj[:] = 0.0
    tokens[:] = 0.0
    closed_in[:] = 0.0
    for j in range(routes.shape[0]):
        p = routes[j]
        lk = route_link[p]
        f = route_flow[p] - flow0
        caller = link_cell[lk]
        for r in range(r_n):
            if not active[r]:
                continue
            w = weights[p, r]
            sent = 0.0
            for k in range(k_n):
                inj[f, r, k] += link_out[lk, r, k] * w
                sent += link_out[lk, r, k] * w
            if link_tokens[lk, r] > 0.0:
                tokens[f, r] += link_tokens[lk, r] * w
                closed_in[f, r] += sent * closed[caller, r]
    for j in range(routes.shape[0]):
        p = routes[j]
        lk = route_link[p]
        f = route_flow[p] - flow0
        for r in range(r_n):
            if not active[r]:
                continue
            a = 0.0
            sent = 0.0
            for k in range(k_n):
                a += inj[f, r, k]
                sent += link_out[lk, r, k] * weights[p, r]
            if a > _EPS:
                share[p, r] = sent / a
    for j in range(links.shape[0]):
        for r in range(r_n):
            if active[r]:
                first[links[j], r] += link_out[links[j], r, 0]
                link_out[links[j], r] = 0.0


@njit(cache=True)
def age(q, s, mix, tbins, finite, timeout_s, flow_cell, fails, o_n, o_lat, timeouts, dropped, moving):
    """Attempts crossing their timeout this bin become failures; then every bin ages by one.

    Only replicas ``moving`` in this bin age (one in a coarse step ages once per coarse step: its work is
    stationary, younger than a bin, and its age is the stationary sojourn, not the step's length).

    Residues under ``RESIDUE`` requests in a bin are dropped (counted in ``dropped``): the fluid step
    leaves a geometric tail of ever smaller amounts in every older bin, and without this each cell
    would walk all its bins on every step for work worth 1e-20 requests.
    """
    f_n, r_n, b_n = q.shape
    k_n = mix.shape[3]
    # attempts crossing their timeout this step, then ageing (the last bin accumulates)
    for f in range(f_n):
        for r in range(r_n):
            if not moving[r]:
                continue
            if finite[f]:
                a = tbins[f, r] - 1
                x = q[f, r, a] + s[f, r, a]
                if x > 0.0:
                    for k in range(k_n):
                        fails[f, r, k] += x * mix[f, r, a, k]
                    o_n[f, r] += x
                    o_lat[f, r] += x * timeout_s[f, r]
                    timeouts[flow_cell[f], r] += x
            for b in range(1, b_n):
                x = q[f, r, b] + s[f, r, b]
                if 0.0 < x < RESIDUE:
                    dropped[flow_cell[f], r] += x
                    q[f, r, b] = 0.0
                    s[f, r, b] = 0.0
            q[f, r, b_n - 1] += q[f, r, b_n - 2]
            s[f, r, b_n - 1] += s[f, r, b_n - 2]
            top = b_n - 2  # the oldest non-empty bin below the accumulator: nothing above it to move
            while top > 0 and q[f, r, top] == 0.0 and s[f, r, top] == 0.0:
                top -= 1
            for b in range(min(top + 1, b_n - 2), 0, -1):
                q[f, r, b] = q[f, r, b - 1]
                s[f, r, b] = s[f, r, b - 1]
                for k in range(k_n):
                    mix[f, r, b, k] = mix[f, r, b - 1, k]
            q[f, r, 0] = 0.0
            s[f, r, 0] = 0.0


@njit(cache=True)
def resolve(fails, succ, o_n, o_lat, share, route_link, route_flow, allowed, slots, delay, step, spread, alpha,
            st_fail, st_done, st_final, st_end, st_lat, st_lat_n, link_succ, link_final,
            budget_ratio, budget_cap, budget, first, denied, blocked, link_failed, bounced):
    """Outcomes back to links, then retries into the delay line or final failures; link statistics.

    ``alpha`` is per replica (its sub-step over the statistics' time constant); 0 skips the replica.
    ``spread`` is the bins each replica's update spans (1, or a coarse step's length): its failures
    happened over that many bins, so their retries fall due spread evenly over as many, from the slot
    the backoff gives onward. Put all in one slot, a coarse step's minute of retries would hit the first
    fine bin after it at once (a spike that, measured in December 2021, set off 64 sub-steps a bin
    for the 20 bins a finer split is kept).
    A link with a retry budget (``budget_ratio`` > 0) first adds ``budget_ratio`` tokens per first try
    sent since its last update (``first``, then cleared) up to ``budget_cap``; its retries then take one
    token each, and the share it has no tokens for becomes final failures (``denied``).
    Calls an open circuit breaker failed at once (``blocked``, then cleared) are final failures that took
    no time. Calls a controller turned away at the door (``bounced``, per attempt number, then cleared)
    are failed attempts that took no time: retried as any failed attempt is. ``link_failed`` gets each
    link's failed attempts (for its breaker). The statistics: failed
    attempts (``st_fail``) per attempt done (``st_done``), for the expected number of attempts; final
    failures (``st_final``) per call ended (``st_end``: final failure or success), for the share of calls
    that fail. (Final failures per attempt would understate it: three failed attempts are one failed call.)
    """
    r_n = fails.shape[1]
    k_n = fails.shape[2]
    l_n = st_fail.shape[0]
    m_n = delay.shape[0]  # delay line: [slot, link, replica, attempt]
    # outcomes back to links by each route's share of its flow
    lfail = np.zeros((l_n, r_n, k_n))
    lat_n = np.zeros((l_n, r_n))
    lat_s = np.zeros((l_n, r_n))
    link_succ[:] = 0.0
    for p in range(route_link.shape[0]):
        lk = route_link[p]
        f = route_flow[p]
        for r in range(r_n):
            if alpha[r] <= 0.0:
                continue
            w = share[p, r]
            if w <= 0.0:
                continue
            for k in range(k_n):
                lfail[lk, r, k] += fails[f, r, k] * w
            link_succ[lk, r] += succ[f, r] * w
            lat_n[lk, r] += o_n[f, r] * w
            lat_s[lk, r] += o_lat[f, r] * w
    # retries into the delay line, or final failures; averaged statistics
    for lk in range(l_n):
        for r in range(r_n):
            a = alpha[r]
            if a <= 0.0:
                link_final[lk, r] = 0.0
                link_failed[lk, r] = 0.0
                continue
            for k in range(k_n):
                b = bounced[lk, r, k]
                if b > 0.0:
                    lfail[lk, r, k] += b
                    lat_n[lk, r] += b
                    bounced[lk, r, k] = 0.0
            final = 0.0
            failed = 0.0
            grant = 1.0  # share of the wanted retries that go ahead
            denied[lk, r] = 0.0
            if budget_ratio[lk] > 0.0:
                budget[lk, r] = min(budget_cap[lk, r], budget[lk, r] + budget_ratio[lk] * first[lk, r])
                want = 0.0
                for k in range(min(k_n, allowed[lk, r] - 1)):
                    want += max(lfail[lk, r, k], 0.0)
                if want > budget[lk, r]:
                    grant = budget[lk, r] / want
                    denied[lk, r] = want - budget[lk, r]
                    budget[lk, r] = 0.0
                else:
                    budget[lk, r] -= want
            first[lk, r] = 0.0
            for k in range(k_n):
                x = lfail[lk, r, k]
                if x <= 0.0:
                    continue
                failed += x
                if k + 1 < allowed[lk, r]:
                    if grant < 1.0:
                        final += x * (1.0 - grant)
                        x *= grant
                    n_sp = spread[r]
                    for j in range(1, m_n):
                        w = slots[lk, j, k + 1]
                        if w > 0.0:
                            if n_sp == 1:
                                delay[(step + j) % m_n, lk, r, k + 1] += x * w
                            else:
                                xw = x * w / n_sp
                                for i in range(n_sp):
                                    delay[(step + j + i) % m_n, lk, r, k + 1] += xw
                else:
                    final += x
            fast = blocked[lk, r]
            blocked[lk, r] = 0.0
            link_failed[lk, r] = failed
            final += fast
            link_final[lk, r] = final
            st_fail[lk, r] += a * (failed - st_fail[lk, r])
            st_done[lk, r] += a * (failed + link_succ[lk, r] + fast - st_done[lk, r])
            st_final[lk, r] += a * (final - st_final[lk, r])
            st_end[lk, r] += a * (final + link_succ[lk, r] - st_end[lk, r])
            st_lat[lk, r] += a * (lat_s[lk, r] - st_lat[lk, r])
            st_lat_n[lk, r] += a * (lat_n[lk, r] + fast - st_lat_n[lk, r])


@njit(cache=True)
def link_estimates(st_lat, st_lat_n, st_fail, st_done, st_final, st_end):
    """Per link (L, R), from the averaged statistics ``resolve`` keeps: (mean latency of an attempt,
    share of attempts failing, share of calls finally failing); 0 before any outcome (warm-up fills
    them in). What sets the coming update's hold times (``retry.call_time``, ``calls.call_effects``)."""
    lat = np.zeros_like(st_lat)
    p_fail = np.zeros_like(st_lat)
    final = np.zeros_like(st_lat)
    for lk in range(st_lat.shape[0]):
        for r in range(st_lat.shape[1]):
            if st_lat_n[lk, r] > _EPS:
                lat[lk, r] = st_lat[lk, r] / st_lat_n[lk, r]
            if st_done[lk, r] > _EPS:
                p_fail[lk, r] = min(max(st_fail[lk, r] / st_done[lk, r], 0.0), 1.0)
            if st_end[lk, r] > _EPS:
                final[lk, r] = min(max(st_final[lk, r] / st_end[lk, r], 0.0), 1.0)
    return lat, p_fail, final


@njit(cache=True)
def send_child_calls(link_out, links, link_cell, started, per_request, thin):
    """First attempts of the calls ``links`` make for the work their caller cells started in this update
    (per request, thinned by earlier hard calls' failures)."""
    for lk in links:
        c = link_cell[lk]
        for r in range(link_out.shape[1]):
            link_out[lk, r, 0] += started[c, r] * per_request[lk, r] * thin[lk, r]
