"""The fluid engine: a queueing network of (service, zone) cells stepped in fixed dt.

A step covers one age bin (width dt). Faults, demand and ageing happen once per bin; steps 1-5 run
once per bin, or, for a replica in which a sync caller is saturated, in a power of two of cell updates
each no longer than that caller's hold time, so its hold follows its callees closely enough that a
saturated chain does not oscillate (``FluidEngine._update_fine``).
One step applies, in this order (DESIGN.md "The engine"), each a function in ``mechanisms/``:

0. faults: capacity, injected latency and errors at t, times what controllers do (``controllers.py``:
   restarts, targets taken out, crashed hosts, added instances; calls a throttle or an empty DNS record
   turns away, and tenants' failover shares); work on lost instances fails
1. demand (``demand``) and retries due now (``retry`` delay line) become link attempts
2. hold time and response failure from the links' recent outcomes (``calls``, ``retry.call_time``)
3. level by level (SCC-condensation order) for every cell of the level:
   routing (``link_kernel.inject`` with ``network.route_weights``), then ``cell_kernel.update_level``:
   rejection (down cell, full queue), the fluid queue step, which waiting work is served (FIFO, LIFO,
   drop-expired), responses; then child calls of the work that started service
4. attempts crossing their timeout, then ageing of every bin (``link_kernel.age``, last sub-step only)
5. failed attempts back to their links: a retry into the delay line, or a final failure
6. after the bin, the controllers observe its outcomes (monitors, operators, health checks, fleets,
   failover, autoscalers act on what they saw); with the scenario's ``control_every``, after every
   ``control_k`` bins, on their outcomes together (a control period: controllers sample, they do not
   watch every 2 s bin; in December 2021 observing each bin took a tenth of the run)

The engine knows nothing of YAML or files; it reads a Network and returns a RunRecord.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..record import Event, RunRecord
from .controllers import ControlLoop
from .fluid_gates import LinkGates
from .fluid_inputs import BinInputs
from .fluid_record import Recorder
from .fluid_setup import Setup, build_setup
from .fluid_steps import AdaptiveSteps, change_times, shedding_leaves, sync_callers_and_below, whole_bins
from .mechanisms.breaker import EVENT, Breakers
from .mechanisms.cache import miss_share, restore, warm
from .mechanisms.calls import call_effects, hold_spread
from .mechanisms.cell_kernel import update_level
from .mechanisms.deadline import with_propagated_deadlines
from .mechanisms.demand import arrivals, ou_step
from .mechanisms.erlang import BusyTable
from .mechanisms.link_kernel import age, inject, link_estimates, resolve, send_child_calls
from .mechanisms.retry import call_time
from .network import Network

_EPS = 1e-12
# what one cell update counts per cell (the recorder and the controllers read them)
_UPDATE_COUNTS = ("arrivals", "completed", "goodput", "errors", "queue", "in_service", "timeouts", "dropped",
                  "rejected")


class FluidEngine(AdaptiveSteps, BinInputs, LinkGates):
    """Holds the state of one fluid run over every replica; ``run()`` steps it to the end."""

    def __init__(self, net: Network, *, noise: bool = True, stats_tau_s: float | None = None):
        net = with_propagated_deadlines(net)
        steps_per_record = max(1, int(np.ceil(net.record_every_s / net.dt_s - 1e-9)))
        self.dt = net.record_every_s / steps_per_record
        self.steps_per_record = steps_per_record
        self.net = net
        self.noise = noise
        self.coarse_k = whole_bins(net.max_dt_s, self.dt, steps_per_record)
        # bins per observation: whole coarse steps' divisors, so a replica in coarse steps is observed every
        # period too (a period of 5 bins in steps of 6 would see it only every 30)
        self.control_k = whole_bins(net.control_every_s, self.dt,
                                    self.coarse_k if self.coarse_k > 1 else steps_per_record)
        self.su: Setup = build_setup(net, self.dt, spread_bins=self.coarse_k)
        su = self.su
        r = net.replicas
        n_f, n_c, n_l = len(su.layout.flow_edge), len(net.cells), len(su.link_edge)
        b, k, m = su.n_bins, su.k_max, su.n_slots
        self.q = np.zeros((n_f, r, b))
        self.s = np.zeros((n_f, r, b))
        self.mix = np.zeros((n_f, r, b, k))
        self.mix[..., 0] = 1.0
        self.delay = np.zeros((m, n_l, r, k))  # retries falling due, by slot (a slot's are contiguous)
        self.link_out = np.zeros((n_l, r, k))
        self.ou = np.zeros((len(net.tenants), r))
        self.cap_prev = np.ones((n_c, r))
        self.share = np.zeros((len(su.route_link), r))
        # link statistics (exponentially averaged numerators / denominators)
        self.st_fail = np.zeros((n_l, r))
        self.st_done = np.zeros((n_l, r))
        self.st_final = np.zeros((n_l, r))
        self.st_end = np.zeros((n_l, r))
        self.st_lat = np.zeros((n_l, r))
        self.st_lat_n = np.zeros((n_l, r))
        self._stats_tau_s = stats_tau_s
        self.m_r = np.ones(r, np.int64)  # each replica's sub-steps in the coming bin (a power of two)
        self.budget = su.link_budget_cap.copy()  # retry-budget tokens per link (full at the start)
        self._has_budgets = bool(np.any(su.link_budget_ratio > 0))
        self._first = np.zeros((n_l, r))
        self._denied = np.zeros((n_l, r))
        self._budget_out = np.zeros((n_l, r), bool)  # a link's budget denied retries and has not refilled
        self.events: list[Event] = []  # what mechanisms did, per replica
        self.breakers = None
        if su.breakers.on.any():  # a probe's answer comes within its call's timeout (async: open_time)
            timeout = net.timeout[:, su.link_edge].T  # (L, R)
            wait = np.where(np.isfinite(timeout), timeout, su.breakers.open_time) + self.dt
            self.breakers = Breakers(su.breakers, r, wait)
        self.has_cache = bool(np.any(su.cache_hit > 0))
        self.warmth = np.ones((n_c, r))  # cache warmth per cell (cells without a cache ignore it)
        self._blocked = np.zeros((n_l, r))  # calls open breakers failed at once, per link
        self._bounced = np.zeros((n_l, r, k))  # calls controllers turned away, per link and attempt number
        self._link_failed = np.zeros((n_l, r))
        self._t = 0.0
        self.coarse = np.zeros(r, bool)  # replicas in a coarse step of coarse_k bins (aligned windows)
        self.coarse_bins = 0  # replica-bins covered by coarse steps (for the run info)
        self.updates = 0  # calls of the cell kernels that moved at least one replica
        self._changes = net.replica_change_times()
        self._pending = np.zeros((n_l, r, k))  # retries due while a replica sat in a coarse step
        self._calm = np.zeros(r, np.int64)
        self.fine_bins = 0  # replica-bins run in sub-steps (for the run info)
        self.max_substeps = 1
        self.table = BusyTable()
        self.table.ensure(su.instances * su.concurrency)
        self.sojourn = su.own_s.copy()
        # per-update constants: own work's hold variance, waiting room per unit of capacity, shedding's
        # wait target, each link's caller cell (entry links read cell 0, then masked)
        self._own_var = (su.cv * su.own_s) ** 2
        self._unbounded = np.isinf(su.queue_limit)
        self._room_per_cap = np.where(self._unbounded, 0.0, su.queue_limit) * su.instances
        self._sheds = np.isfinite(su.max_wait)  # (inf x 0 workers would be NaN for the others)
        self._max_wait = np.where(self._sheds, su.max_wait, 0.0)
        self._caller = np.maximum(su.layout.link_cell, 0)
        self.soj_var = self._own_var.copy()
        self._w_key = None
        self._w = None
        self._inj = np.zeros((n_f, r, k))
        self._tokens = np.zeros((n_f, r))
        self._closed_in = np.zeros((n_f, r))
        self._head0 = np.zeros((n_f, r))  # oldest live bin's content at the start of the bin
        self.closed = np.zeros((n_c, r))  # each cell's closed-loop weight, for its callees
        self.all_busy = np.zeros((n_c, r))  # share of time all of a cell's workers are busy
        self.busy_share = np.zeros((n_c, r))  # share of a cell's workers busy after its last update
        self._effects_t = None
        self._effects = None
        self.step_index = 0
        self._change_times = change_times(net)
        self._sync_callers, self._below = sync_callers_and_below(su)
        self._sheds_leaf = shedding_leaves(su, self._sync_callers)
        self.control = ControlLoop(net, net.controls) if net.controls is not None else None
        self._admit = None  # share of calls admitted per link this bin (controllers), float[L, R] or None
        self._entry = None  # tenants' entry shares after failover (controllers), float[L, R] or None
        self._bin = self._bin_totals(n_c, len(net.tenants), n_l, r) if self.control is not None else None

    # ------------------------------------------------------------------ one step
    def step(self, t: float, rec: Recorder | None, faults: bool = True, noisy: bool = True) -> None:
        """One bin of width dt: faults and demand once, each replica's cell updates, then ageing.

        A replica in a coarse step moves only in the step's last bin, by the whole step.
        """
        su, net, dt = self.su, self.net, self.dt
        r = net.replicas
        n_f = self.q.shape[0]
        self._t = t
        k_c = self.coarse_k
        if k_c > 1 and self.step_index % k_c == 0:
            self.coarse = self._quiet(t) if faults else np.zeros(r, bool)
        moving = ~self.coarse | ((self.step_index + 1) % k_c == 0)
        h_bin = np.where(self.coarse, k_c * dt, dt)
        self.coarse_bins += int(self.coarse.sum())
        if not moving.any():  # inside every replica's coarse step: keep the retries falling due, nothing else
            self._hold_retries()
            self.ledger = {"arrivals": 0.0, "completed": 0.0, "rejected": 0.0, "dropped": 0.0, "lost": 0.0}
            self.step_index += 1
            return
        # 0. faults
        if faults:
            cap, added, err, w = self._faults_at(t)
        else:
            cap = np.ones_like(self.cap_prev)
            added = np.zeros_like(cap)
            err = np.zeros_like(cap)
            w = self._weights(-1.0)
        self._admit = None
        if self.control is not None and faults:
            control_cap, admit = self.control.effects(t)
            if np.any(control_cap != 1.0):
                cap = cap * control_cap[:, su.layout.cell_order].T
                w = self._weights(t, control_cap)
            self._admit = None if admit is None else np.ascontiguousarray(admit.T)
            if self.control.entry is not None:
                self._entry = np.ascontiguousarray(self.control.entry.T)
        servers = su.instances * su.concurrency * cap
        if np.any(cap != self.cap_prev):
            self.table.ensure(servers)
        fails = np.zeros((n_f, r, su.k_max))
        lost = np.where(cap < self.cap_prev, 1.0 - cap / np.maximum(self.cap_prev, _EPS), 0.0)
        lost_work = 0.0
        if np.any(lost > 0):
            lf = lost[su.layout.flow_cell]
            rows = np.flatnonzero(lf.any(axis=1))  # only the flows of cells that lost instances
            lf = lf[rows][:, :, None]
            gone_q, gone_s = self.q[rows] * lf, self.s[rows] * lf
            self.q[rows] -= gone_q
            self.s[rows] -= gone_s
            lost_work = gone_q.sum() + gone_s.sum()
            fails[rows] += np.einsum("frb,frbk->frk", (gone_q + gone_s) * su.in_time[rows], self.mix[rows])
        if self.has_cache:
            self.warmth = restore(self.warmth, self.cap_prev, cap)
        self.cap_prev = cap
        # 1. demand and the retries due in this bin (or, in a coarse step, since its start), spread
        # evenly over its sub-steps
        due = self._retries_due(moving)
        rate = net.demand_rps(t if faults else 0.0).T  # (T, R)
        step_s: float | np.ndarray = dt
        if self.coarse.any():  # a coarse step's demand at its middle, over its length
            step_s = h_bin[None, :]
            mid = net.demand_rps(t - 0.5 * (k_c - 1) * dt).T
            rate = np.where(self.coarse[None, :], mid, rate)
        z = self._normals(noisy)
        sigma = net.noise_sigma[:, None]
        if z is not None:
            self.ou = np.where(moving[None, :], ou_step(self.ou, z[0], sigma, net.noise_tau[:, None], step_s),
                               self.ou)
        first = arrivals(rate, self.ou, sigma, None if z is None else z[1], step_s) * moving[None, :]
        m_r = self.m_r
        n_calls = int(m_r.max())
        stride = n_calls // m_r  # replica r moves on every stride-th call, by dt / m_r
        due /= m_r[None, :, None]
        first /= m_r[None, :]
        self.ledger = {"arrivals": 0.0, "completed": 0.0, "rejected": 0.0, "dropped": 0.0, "lost": lost_work}
        for j in range(n_calls):
            active = ((j + 1) % stride == 0) & moving
            h_r = np.where(active, h_bin / m_r, 0.0)
            sub_j = (j + 1) // stride - 1
            self.link_out[:, active] += due[:, active]
            self._substep(first * active, servers, cap, added, err, w, fails, rec, active, h_r, sub_j, m_r,
                          moving if j == n_calls - 1 else None)
            fails[:, active] = 0.0  # resolve has passed these failures on (the rest wait for their call)
        if self.control is not None and faults and (self.step_index + 1) % self.control_k == 0:
            self._observe(t + dt, cap)
        self.updates += n_calls
        self.fine_bins += int(((m_r > 1) & moving).sum())
        self.max_substeps = max(self.max_substeps, n_calls)
        self._update_fine(moving)
        self.step_index += 1

    def _hold_retries(self) -> None:
        """Retries falling due in this bin join those held for replicas in a coarse step."""
        slot = self.step_index % self.su.n_slots
        self._pending += self.delay[slot]
        self.delay[slot] = 0.0

    def _retries_due(self, moving: np.ndarray) -> np.ndarray:
        """Retries falling due in this bin, plus those held since a ``moving`` replica's coarse step began."""
        self._hold_retries()
        due = np.where(moving[None, :, None], self._pending, 0.0)
        self._pending[:, moving] = 0.0
        return due

    def _substep(self, first, servers, cap, added, err, w, fails, rec, active, h_r, sub_j, m_r,
                 ageing: np.ndarray | None) -> None:
        """Steps 1-5 of the module docstring for the ``active`` replicas, each by its ``h_r``.

        The last call of a bin also ages the bins of the replicas ``ageing`` (every one that moved).
        """
        su, net = self.su, self.net
        r = net.replicas
        n_f = self.q.shape[0]
        entry = su.entry_links
        shares = su.link_per_request[entry] if self._entry is None else self._entry[entry]
        self.link_out[entry, :, 0] += first[su.link_tenant[entry]] * shares
        entry_sent = self.link_out[entry].sum(axis=2)
        # 2. hold time and failure of responses
        lat, p_fail, final_fail = link_estimates(self.st_lat, self.st_lat_n, self.st_fail, self.st_done,
                                                 self.st_final, self.st_end)
        call_s = call_time(lat, p_fail, su.link_allowed, su.link_backoffs)
        own = su.own_s + added
        miss = miss_share(su.cache_hit, self.warmth) if self.has_cache else None
        hold, fail, thin, calls_ok = call_effects(
            own, err, su.layout.link_cell, su.link_order, su.link_sync, su.link_hard, su.link_parallel,
            su.link_per_request, call_s, final_fail, own if miss is None else miss,
            miss is not None)
        if miss is not None:  # only misses make the calls: thin the child calls, warm the caches
            thin = thin * np.where((su.layout.link_cell >= 0)[:, None], miss[self._caller], 1.0)
            self.warmth = np.where(active, warm(self.warmth, h_r, calls_ok, su.cache_warmup), self.warmth)
        hold = np.maximum(hold, 1e-9)
        self._hold = hold
        hold_var, kq = hold_spread(self._own_var, w, self.soj_var, su.layout.route_cell, su.route_link,
                                   su.link_per_request, thin, su.layout.link_cell, su.link_sync, su.link_parallel,
                                   hold)
        succ = np.zeros((n_f, r))
        n_c = len(net.cells)
        counts = dict(zip(_UPDATE_COUNTS, np.zeros((len(_UPDATE_COUNTS), n_c, r)), strict=True))
        outcome_n = np.zeros((n_f, r))  # responses + rejections (for latency statistics)
        outcome_lat = np.zeros((n_f, r))
        started = np.zeros((n_c, r))
        # waiting room per cell; an unbounded queue stays unbounded even with no instances (no inf*0)
        room = np.where(self._unbounded, np.inf, self._room_per_cap * cap)
        if su.shedding:  # admit only what can start within max_wait: waiting room = max_wait x workers / hold
            room = np.minimum(room, np.where(self._sheds, self._max_wait * servers / hold, np.inf))
        rows, knots = self.table.rows, self.table.knots
        # workers of sync callers that can be waiting on a callee at once (finite-source queue)
        link_tokens = np.where(su.closed_loop[:, None], servers[self._caller], 0.0)
        link_tokens *= su.link_fan_out
        # 3. level by level
        for lv in su.levels:
            cs, fs = lv.cells, lv.flows
            n_lf = fs.stop - fs.start
            inj, tokens, closed_in = self._inj[:n_lf], self._tokens[:n_lf], self._closed_in[:n_lf]
            if self.breakers is not None and lv.breaker_links.size:
                self._break(lv.breaker_links, active)
            if self._admit is not None:
                self._reject(lv.links, active)
            inject(self.link_out, w, su.route_link, su.route_flow, lv.routes, lv.links, fs.start,
                   su.layout.link_cell, link_tokens, self.closed, active, inj, self.share, tokens, closed_in,
                   self._first)
            update_level(
                self.q[fs], self.s[fs], self.mix[fs], inj, tokens, closed_in, lv.cell_f0, lv.cell_f1, servers[cs],
                room[cs],
                hold[cs], kq[cs], fail[cs], su.lifo[cs], su.drop[cs], su.flow_timeout_bins[fs], su.flow_finite[fs],
                su.flow_timeout_s[fs], su.flow_last_weight[fs], h_r, rows, knots,
                succ[fs], fails[fs], started[cs], self.sojourn[cs], counts["arrivals"][cs],
                counts["completed"][cs], counts["goodput"][cs], counts["errors"][cs], counts["queue"][cs],
                counts["in_service"][cs], outcome_n[fs], outcome_lat[fs], counts["dropped"][cs],
                counts["rejected"][cs], self.closed[cs], self.all_busy[cs], self._head0[fs], sub_j, m_r,
                counts["timeouts"][cs])
            # child calls of the work that started service
            ch = lv.child_links
            if ch.size:
                send_child_calls(self.link_out, ch, su.layout.link_cell, started, su.link_per_request, thin)
        self.busy_share = np.where(active, counts["in_service"] / np.maximum(servers, _EPS), self.busy_share)
        self.soj_var = np.where(active, hold_var + np.maximum(self.sojourn - hold, 0.0) ** 2, self.soj_var)
        # 4-5. timeouts and ageing (once per bin), outcomes to links: retries or final failures
        if ageing is not None:
            age(self.q, self.s, self.mix, su.flow_timeout_bins, su.flow_finite, su.flow_timeout_s,
                su.layout.flow_cell, fails, outcome_n, outcome_lat, counts["timeouts"], counts["dropped"], ageing)
        link_succ = np.empty((len(su.link_edge), r))
        final = np.empty((len(su.link_edge), r))
        resolve(fails, succ, outcome_n, outcome_lat, self.share, su.route_link, su.route_flow, su.link_allowed,
                su.link_slots, self.delay, self.step_index, np.maximum(np.rint(h_r / self.dt), 1).astype(np.int64),
                self._alpha(h_r), self.st_fail, self.st_done,
                self.st_final, self.st_end, self.st_lat, self.st_lat_n, link_succ, final, su.link_budget_ratio,
                su.link_budget_cap, self.budget,
                self._first, self._denied, self._blocked, self._link_failed, self._bounced)
        if self.breakers is not None:
            moved = self.breakers.observe(self._t, h_r, link_succ + self._link_failed, self._link_failed)
            if rec is not None:
                self._log(((EVENT[new], lk, r) for new, lk, r in moved))
        if rec is not None:
            self._budget_events(active)
        led = self.ledger
        for k in ("arrivals", "completed", "rejected", "dropped"):
            led[k] += counts[k].sum()
        if self.control is not None:
            self._gather(counts, h_r, servers, first, link_succ, final)

        if rec is not None:
            rec.add_step(self, h_r, first, entry_sent * active, link_succ, final, counts, servers, cap, hold)

    def _alpha(self, h_r: np.ndarray) -> np.ndarray:
        """Per replica weight of this update in the link statistics (time constant 5 updates); 0 if idle."""
        tau = np.full_like(h_r, self._stats_tau_s) if self._stats_tau_s is not None else 5 * h_r
        return np.where(h_r > 0, 1.0 - np.exp(-h_r / np.maximum(tau, np.maximum(h_r, 1e-300))), 0.0)

    # ------------------------------------------------------------------ the run
    def warm_up(self) -> None:
        """Settle into the fault-free steady state at the demand of t = 0 (no noise, not recorded)."""
        longest = float(np.max(np.where(np.isfinite(self.su.flow_timeout_s), self.su.flow_timeout_s, 0.0),
                               initial=0.0))
        n = min(int(np.ceil(max(3 * longest, 5.0) / self.dt)), 20000)
        for _ in range(n):
            self.step(0.0, None, faults=False, noisy=False)
        self.step_index = 0
        if self._bin is not None:  # the controllers' first observation sees the run, not the warm-up
            self._clear_totals()

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
                if self.control is not None:
                    self.control.close_interval()
            if progress is not None and n % 200 == 0:
                progress(n / total)
        if progress is not None:
            progress(1.0)
        return rec.finish(time.perf_counter() - wall0)


def simulate_fluid(net: Network, *, noise: bool = True,
                   progress: Callable[[float], None] | None = None) -> RunRecord:
    """Run the fluid engine over every replica of ``net``."""
    return FluidEngine(net, noise=noise).run(progress)
