"""The fluid engine: a queueing network of (service, zone) cells stepped in fixed dt.

One step applies, in this order (DESIGN.md "The engine"), each a function in ``mechanisms/``:

0. faults: capacity, injected latency and errors at t; work on lost instances fails
1. demand (``demand``) and retries due now (``retry`` delay line) become link attempts
2. hold time and response failure from the links' recent outcomes (``calls``, ``retry.call_time``)
3. level by level (SCC-condensation order) for every cell of the level:
   routing (``network.route_weights``), rejection (down cell, full queue), the fluid queue step
   (``erlang.solve_step``), which waiting work is served (``queueing.take_from_queue``), responses,
   and child calls of the work that started service
4. attempts crossing their timeout, then ageing of every bin
5. failed attempts back to their links: a retry into the delay line, or a final failure

The engine knows nothing of YAML or files; it reads a Network and returns a RunRecord.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..record import RunRecord
from .fluid_record import Recorder
from .fluid_setup import Setup, build_setup
from .mechanisms.calls import call_effects
from .mechanisms.demand import arrivals, ou_step
from .mechanisms.cell_kernel import update_level
from .mechanisms.erlang import BusyTable
from .mechanisms.retry import call_time
from .network import Network, route_weights

_EPS = 1e-12


class FluidEngine:
    """Holds the state of one fluid run over every replica; ``run()`` steps it to the end."""

    def __init__(self, net: Network, *, noise: bool = True, stats_tau_s: float | None = None):
        steps_per_record = max(1, int(np.ceil(net.record_every_s / net.dt_s - 1e-9)))
        self.dt = net.record_every_s / steps_per_record
        self.steps_per_record = steps_per_record
        self.net = net
        self.noise = noise
        self.su: Setup = build_setup(net, self.dt)
        su = self.su
        r = net.replicas
        n_f, n_c, n_l = len(su.layout.flow_edge), len(net.cells), len(su.link_edge)
        b, k, m = su.n_bins, su.k_max, su.n_slots
        self.q = np.zeros((n_f, r, b))
        self.s = np.zeros((n_f, r, b))
        self.mix = np.zeros((n_f, r, b, k))
        self.mix[..., 0] = 1.0
        self.delay = np.zeros((n_l, r, m, k))
        self.link_out = np.zeros((n_l, r, k))
        self.ou = np.zeros((len(net.tenants), r))
        self.cap_prev = np.ones((n_c, r))
        self.share = np.zeros((len(su.route_link), r))
        # link statistics (exponentially averaged numerators / denominators)
        self.st_fail = np.zeros((n_l, r))
        self.st_done = np.zeros((n_l, r))
        self.st_final = np.zeros((n_l, r))
        self.st_lat = np.zeros((n_l, r))
        self.st_lat_n = np.zeros((n_l, r))
        tau = stats_tau_s if stats_tau_s is not None else 5 * self.dt
        self.alpha = 1.0 - np.exp(-self.dt / max(tau, self.dt))
        self.table = BusyTable()
        self.table.ensure(su.instances * su.concurrency)
        self.sojourn = su.own_s.copy()
        self._w_key = None
        self._w = None
        self.step_index = 0

    # ------------------------------------------------------------------ helpers
    def _weights(self, t: float) -> np.ndarray:
        view = self.net.capacity_factor(max(t - self.net.lb_detect_s, 0.0))
        key = view.tobytes()
        if key != self._w_key:
            self._w_key = key
            self._w = np.ascontiguousarray(route_weights(self.net, view).T)  # (P, R)
        return self._w

    def _to_links(self, per_flow: np.ndarray) -> np.ndarray:
        """Spread a per-flow outcome (F, R[, K]) over links by each route's share of the flow."""
        su = self.su
        per_route = per_flow[su.route_flow] * (
            self.share[..., None] if per_flow.ndim == 3 else self.share)
        flat = per_route.reshape(per_route.shape[0], -1)
        return np.asarray(su.route_to_link @ flat).reshape((su.route_to_link.shape[0],) + per_flow.shape[1:])

    # ------------------------------------------------------------------ one step
    def step(self, t: float, rec: Recorder | None, faults: bool = True, noisy: bool = True) -> None:
        su, net, dt = self.su, self.net, self.dt
        order = su.layout.cell_order
        r = net.replicas
        n_f = self.q.shape[0]
        # 0. faults
        if faults:
            cap = net.capacity_factor(t)[:, order].T
            added = net.added_latency(t)[:, order].T
            err = net.error_fraction(t)[:, order].T
            w = self._weights(t)
        else:
            cap = np.ones_like(self.cap_prev)
            added = np.zeros_like(cap)
            err = np.zeros_like(cap)
            w = self._weights(-1.0)
        servers = su.instances * su.concurrency * cap
        if np.any(cap != self.cap_prev):
            self.table.ensure(servers)
        fails = np.zeros((n_f, r, su.k_max))
        lost = np.where(cap < self.cap_prev, 1.0 - cap / np.maximum(self.cap_prev, _EPS), 0.0)
        if np.any(lost > 0):
            lf = lost[su.layout.flow_cell][:, :, None]
            gone_q, gone_s = self.q * lf, self.s * lf
            self.q -= gone_q
            self.s -= gone_s
            fails += np.einsum("frb,frbk->frk", (gone_q + gone_s) * su.in_time, self.mix)
        self.cap_prev = cap
        # 1. demand and due retries
        slot = self.step_index % su.n_slots
        self.link_out += self.delay[:, :, slot, :]
        self.delay[:, :, slot, :] = 0.0
        rate = net.demand_rps(t if faults else 0.0).T  # (T, R)
        z = self._normals(noisy)
        sigma = net.noise_sigma[:, None]
        if z is not None:
            self.ou = ou_step(self.ou, z[0], sigma, net.noise_tau[:, None], dt)
        first = arrivals(rate, self.ou, sigma, None if z is None else z[1], dt)
        entry = su.entry_links
        self.link_out[entry, :, 0] += first[su.link_tenant[entry]] * su.link_per_request[entry]
        entry_sent = self.link_out[entry].sum(axis=2)
        # 2. hold time and failure of responses
        call_s = call_time(self._lat(), self._ratio(self.st_fail, self.st_done), su.link_allowed,
                           su.link_backoffs)
        own = su.own_s + added
        hold, fail, thin = call_effects(
            own, err, su.layout.link_cell, su.link_order, su.link_sync, su.link_hard, su.link_parallel,
            su.link_per_request, call_s, self._ratio(self.st_final, self.st_done))
        hold = np.maximum(hold, 1e-9)
        succ = np.zeros((n_f, r))
        n_c = len(net.cells)
        counts = {k: np.zeros((n_c, r)) for k in
                  ("arrivals", "completed", "goodput", "errors", "queue", "in_service", "timeouts")}
        outcome_n = np.zeros((n_f, r))  # responses + rejections (for latency statistics)
        outcome_lat = np.zeros((n_f, r))
        started = np.zeros((n_c, r))
        room = su.queue_limit * su.instances * cap
        rows, knots = self.table.rows, self.table.knots
        # 3. level by level
        for lv in su.levels:
            cs, fs = lv.cells, lv.flows
            out = self.link_out[su.route_link[lv.routes]] * w[lv.routes][:, :, None]  # (P_l, R, K)
            self.link_out[lv.links] = 0.0
            inj = np.asarray(lv.route_to_flow @ out.reshape(out.shape[0], -1)).reshape(
                (fs.stop - fs.start, r, su.k_max))
            a = inj.sum(axis=2)
            a_route = a[su.route_flow[lv.routes] - fs.start]
            self.share[lv.routes] = np.where(a_route > _EPS, out.sum(axis=2) / np.maximum(a_route, _EPS),
                                             self.share[lv.routes])
            update_level(
                self.q[fs], self.s[fs], self.mix[fs], inj, lv.cell_f0, lv.cell_f1, servers[cs], room[cs],
                hold[cs], fail[cs], su.lifo[cs], su.drop[cs], su.flow_timeout_bins[fs], su.flow_finite[fs],
                su.flow_timeout_s[fs], dt, rows, knots,
                succ[fs], fails[fs], started[cs], self.sojourn[cs], counts["arrivals"][cs],
                counts["completed"][cs], counts["goodput"][cs], counts["errors"][cs], counts["queue"][cs],
                counts["in_service"][cs], outcome_n[fs], outcome_lat[fs])
            # child calls of the work that started service
            ch = lv.child_links
            if ch.size:
                self.link_out[ch, :, 0] += started[su.layout.link_cell[ch]] * su.link_per_request[ch] * thin[ch]
        # 4. timeouts, then ageing
        tb = su.flow_timeout_bins[:, :, None]
        cross = (np.take_along_axis(self.q, tb - 1, axis=2) + np.take_along_axis(self.s, tb - 1, axis=2))[:, :, 0]
        cross = np.where(np.isfinite(su.flow_timeout_s), cross, 0.0)
        cross_mix = np.take_along_axis(self.mix, (tb - 1)[..., None], axis=2)[:, :, 0, :]
        fails += cross[..., None] * cross_mix
        outcome_n += cross
        outcome_lat += cross * np.where(np.isfinite(su.flow_timeout_s), su.flow_timeout_s, 0.0)
        np.add.at(counts["timeouts"], su.layout.flow_cell, cross)
        for arr in (self.q, self.s):
            arr[:, :, -1] += arr[:, :, -2]
            arr[:, :, 1:-1] = arr[:, :, :-2]
            arr[:, :, 0] = 0.0
        self.mix[:, :, 1:-1] = self.mix[:, :, :-2]
        # 5. outcomes back to links: retries or final failures
        link_fail = self._to_links(fails)  # (L, R, K)
        link_succ = self._to_links(succ)
        kk = np.arange(su.k_max)[None, None, :]
        retry = link_fail * ((kk + 1) < su.link_allowed[:, :, None])
        final = (link_fail - retry).sum(axis=2)
        new = np.zeros_like(retry)
        new[:, :, 1:] = retry[:, :, :-1]
        if np.any(new > 0):
            idx = (self.step_index + np.arange(su.n_slots)) % su.n_slots
            self.delay[:, :, idx, :] += new[:, :, None, :] * su.link_slots[:, None, :, :]
        a_ = self.alpha
        done_now = link_fail.sum(axis=2) + link_succ
        self.st_fail += a_ * (link_fail.sum(axis=2) - self.st_fail)
        self.st_done += a_ * (done_now - self.st_done)
        self.st_final += a_ * (final - self.st_final)
        lat_n, lat_sum = self._to_links(outcome_n), self._to_links(outcome_lat)
        self.st_lat += a_ * (lat_sum - self.st_lat)
        self.st_lat_n += a_ * (lat_n - self.st_lat_n)
        if rec is not None:
            rec.add_step(self, first, entry_sent, link_succ, final, counts, servers, cap, hold)
        self.step_index += 1

    def _ratio(self, num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.where(den > _EPS, np.clip(num / np.maximum(den, _EPS), 0.0, 1.0), 0.0)

    def _lat(self) -> np.ndarray:
        fallback = self.sojourn[np.maximum(self.su.layout.link_cell, 0)] * 0.0
        return np.where(self.st_lat_n > _EPS, self.st_lat / np.maximum(self.st_lat_n, _EPS), fallback)

    def _normals(self, noisy: bool):
        if not (self.noise and noisy) or len(self.net.tenants) == 0:
            return None
        n_t = len(self.net.tenants)
        gen = np.random.Generator(np.random.Philox(key=np.array([self.net.seed, self.step_index], np.uint64)))
        z = gen.standard_normal((self.net.replicas, 2 * n_t))  # row k = replica k, whatever R is
        return z[:, :n_t].T, z[:, n_t:].T

    # ------------------------------------------------------------------ the run
    def warm_up(self) -> None:
        """Settle into the fault-free steady state at the demand of t = 0 (no noise, not recorded)."""
        longest = float(np.max(np.where(np.isfinite(self.su.flow_timeout_s), self.su.flow_timeout_s, 0.0),
                               initial=0.0))
        n = int(np.ceil(max(3 * longest, 5.0) / self.dt))
        for _ in range(min(n, 20000)):
            self.step(0.0, None, faults=False, noisy=False)
        self.step_index = 0

    def run(self, progress: Callable[[float], None] | None = None) -> RunRecord:
        wall0 = time.perf_counter()
        self.warm_up()
        n_rec = int(np.ceil(self.net.duration_s / self.net.record_every_s - 1e-9))
        rec = Recorder(self, n_rec)
        total = n_rec * self.steps_per_record
        for n in range(total):
            self.step(n * self.dt, rec)
            if (n + 1) % self.steps_per_record == 0:
                rec.close_interval()
            if progress is not None and n % 200 == 0:
                progress(n / total)
        if progress is not None:
            progress(1.0)
        return rec.finish(time.perf_counter() - wall0)


def simulate_fluid(net: Network, *, noise: bool = True,
                   progress: Callable[[float], None] | None = None) -> RunRecord:
    """Run the fluid engine over every replica of ``net``."""
    return FluidEngine(net, noise=noise).run(progress)
