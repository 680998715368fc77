"""One replica of the request-level engine: SimPy events with plain callbacks (no generator processes).

Callbacks on ``Timeout`` events keep the cost per service visit low (see ``des.US_PER_VISIT``). Caller
timeouts use one timer per edge rather than one event per attempt: every attempt on an edge has the same
timeout, so their expiry times are in send order, and one event at the oldest unanswered attempt's expiry
serves them all exactly. The semantics are stated in :mod:`outagesim.engine.des`.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable

import numpy as np
import simpy
from simpy.events import URGENT, Event, Timeout

from .des_cells import CellVisits
from .des_inputs import anchor_hour, call_plans, change_times, route_table, tenant_entries
from .des_links import LinkPolicies
from .des_state import Call, Cell, Recorder, Tenant, Visit
from .mechanisms.cache import restore
from .network import JITTER_EQUAL, JITTER_FULL, Network

_EPS_S = 1e-12  # slack for float rounding when a timer event lands on an expiry time


class ReplicaRun(CellVisits):
    """Simulates replica r of a Network from an empty system and records per-interval metrics."""

    def __init__(self, net: Network, r: int, *, record_waits: bool = False):
        self.net, self.r = net, r
        ss = np.random.SeedSequence(net.seed, spawn_key=(net.first_replica + r, 0xDE5))
        self.rng = random.Random(int.from_bytes(ss.generate_state(4).tobytes(), "little"))
        self.env = simpy.Environment()
        self.horizon = float(net.duration_s)
        self.record_waits = record_waits
        self.timeout = [float(x) for x in net.timeout[r]]
        self.max_att = [int(x) for x in net.max_attempts]
        self.base = [float(x) for x in net.backoff_base[r]]
        self.mult = [float(x) for x in net.backoff_multiplier]
        self.cap = [float(x) for x in net.backoff_cap[r]]
        self.jitter = [int(x) for x in net.jitter]
        self.deadline = [float(x) for x in net.deadline[r]]
        self.hard = [bool(x) for x in net.hard]
        self.propagates = [bool(net.propagate_deadline[s]) for s in net.cell_service]
        pr = net.per_request[r]
        plans = [[(kind, tuple((e, link, math.floor(pr[e]), float(pr[e] - math.floor(pr[e])))
                               for e, link in items)) for kind, items in plan] for plan in call_plans(net)]
        self.cells = [Cell(net, r, c, plan) for c, plan in enumerate(plans)]
        self.tenants = [Tenant(net, r, t, ents) for t, ents in enumerate(tenant_entries(net))]
        self.routes = route_table(net, np.ones((net.replicas, len(net.cells))), r)
        self.hour0 = anchor_hour(net)
        self.recorder = Recorder(net, self.cells, self.tenants)
        self.waiting_on: list[deque[Visit]] = [deque() for _ in range(len(net.edge_caller))]
        self.armed = [False] * len(net.edge_caller)
        self.visits = self.dropped = self.killed = self.degraded = 0
        self.links = LinkPolicies(net, r)  # retry budgets and circuit breakers
        self.progress: Callable[[float], None] | None = None

    def _urgent(self, delay: float, fn: Callable[[Event], None]) -> None:
        """Schedule fn before ordinary events at the same time (interval ends, then world changes)."""
        ev = Event(self.env)
        ev._ok, ev._value = True, None
        ev.callbacks.append(fn)
        self.env.schedule(ev, URGENT, delay)

    def run(self, progress: Callable[[float], None] | None = None) -> None:
        """Simulate [0, duration)."""
        self.progress = progress
        for k in range(1, self.recorder.n):
            self._urgent(k * self.recorder.every, self._close_interval)
        lag = self.net.lb_detect_s
        times = change_times(self.net, self.r)
        for t in times:
            self._urgent(t, self._apply_changes)
        for t in times:
            if 0 < t + lag < self.horizon:
                self._urgent(t + lag, self._reroute)
        for ten in self.tenants:
            self._schedule_arrival(ten)
        self.env.run(until=self.horizon)
        self.recorder.close(self.horizon)
        if progress is not None:
            progress(1.0)

    def _close_interval(self, _ev: Event) -> None:
        """End of a recording interval: record it and report progress."""
        self.recorder.close(self.env.now)
        if self.progress is not None:
            self.progress(self.env.now / self.horizon)

    # ------------------------------------------------------------------ time-varying world
    def _apply_changes(self, _ev: Event) -> None:
        """A fault starts, ends or restored instances come up: update work, errors and capacity."""
        now, r = self.env.now, self.r
        f = self.net.capacity_factor(now)[r]
        lat = self.net.added_latency(now)[r]
        err = self.net.error_fraction(now)[r]
        for x in self.cells:
            x.set_mean(x.base_mean + float(lat[x.i]))
            x.err_p = float(err[x.i])
            if float(f[x.i]) != x.factor:
                self._set_capacity(x, float(f[x.i]))

    def _reroute(self, _ev: Event) -> None:
        """The load balancers notice a change lb_detect_s after it happened and reweight their routes."""
        healthy = self.net.capacity_factor(self.env.now - self.net.lb_detect_s)
        self.routes = route_table(self.net, healthy, self.r)

    def _set_capacity(self, x: Cell, factor: float) -> None:
        """Instances go up or down; a lost share of in-service and waiting requests fails as errors."""
        x.mark(self.env.now)
        old = x.factor
        if x.hit > 0.0:  # restored instances come back with empty caches
            self._warm(x)
            x.warmth = float(restore(x.warmth, x.inst * old, x.inst * factor))
        x.set_capacity(factor)
        if factor >= old:
            self._dispatch(x)
            return
        share = 1.0 - factor / old
        serving = list(x.in_service)
        victims = self.rng.sample(serving, math.floor(len(serving) * share + 0.5))
        waiting = list(x.queue)
        gone = set(self.rng.sample(range(len(waiting)), math.floor(len(waiting) * share + 0.5)))
        x.queue = deque(v for i, v in enumerate(waiting) if i not in gone)
        for v in victims:
            v.dead = True
            del x.in_service[v]
        x.busy -= len(victims)
        self.killed += len(victims) + len(gone)
        for v in victims + [waiting[i] for i in sorted(gone)]:
            self._reply(v, False)
        self._dispatch(x)  # rounding may leave a worker free

    # ------------------------------------------------------------------ users
    def _schedule_arrival(self, ten: Tenant) -> None:
        """Next Poisson arrival by thinning, bounded per hour segment of the piecewise-linear rate."""
        t, rng, h0 = self.env.now, self.rng, self.hour0
        while t < self.horizon:
            if ten.flat:
                lam_max, seg_end = ten.peak, math.inf
            else:
                seg_end = (math.floor(h0 + t / 3600) + 1 - h0) * 3600
                if seg_end <= t:
                    seg_end += 3600
                lam_max = max(ten.rate(h0, t), ten.rate(h0, seg_end))
            if lam_max <= 0:
                t = seg_end
                continue
            t += rng.expovariate(lam_max)
            if t >= seg_end:
                t = seg_end
                continue
            if t >= self.horizon:
                return
            if ten.flat or rng.random() * lam_max <= ten.rate(h0, t):
                Timeout(self.env, t - self.env.now, ten).callbacks.append(self._user_request)
                return

    def _user_request(self, ev: Event) -> None:
        """A user request: pick an entry by share and start the client attempt loop."""
        ten: Tenant = ev._value
        ten.n_dem += 1
        i = 0
        if len(ten.entries) > 1:
            u, last = self.rng.random(), len(ten.cum) - 1
            while i < last and u >= ten.cum[i]:
                i += 1
        e, link = ten.entries[i]
        self._send(Call(e, link, None, ten.i, self.env.now))
        self._schedule_arrival(ten)

    # ------------------------------------------------------------------ the attempt loop
    def _send(self, call: Call) -> None:
        """Send the next attempt of a call to a cell drawn from the caller's current route weights.

        Its timeout is the edge's, or what is left of a propagated deadline if that is shorter (then it
        gets its own timer, since the edge's single timer needs expiries in send order).
        """
        now = self.env.now
        e = call.edge
        to, own_timer = self.timeout[e], False
        if call.end < to + now:
            if call.end <= now:
                self._call_failed(call)  # the caller's time is gone: not sent at all
                return
            to, own_timer = call.end - now, True
        call.k += 1
        if call.tenant >= 0:
            self.tenants[call.tenant].n_att += 1
        if not self.links.send(call.link, call.k == 1, self.env.now):
            self._call_failed(call)  # an open breaker
            return
        cells, cum = self.routes[call.link]
        i = 0
        if len(cells) > 1:
            u, last = self.rng.random(), len(cum) - 1
            while i < last and u >= cum[i]:
                i += 1
        v = Visit(call, self.cells[cells[i]], now, now + to)
        self._arrive(v.cell, v, now)
        if not v.replied and now + to < self.horizon:
            if own_timer:
                Timeout(self.env, to, v).callbacks.append(self._expire_one)
                return
            self.waiting_on[e].append(v)
            if not self.armed[e]:
                self.armed[e] = True
                Timeout(self.env, to, e).callbacks.append(self._expire)

    def _expire(self, ev: Event) -> None:
        """Time out every unanswered attempt on this edge whose timeout has passed; re-arm for the next."""
        e: int = ev._value
        q, to = self.waiting_on[e], self.timeout[e]
        now = self.env.now
        while q:
            v = q[0]
            if v.replied:
                q.popleft()
            elif v.t + to <= now + _EPS_S:
                q.popleft()
                self._time_out(v, now)
            else:
                Timeout(self.env, v.t + to - now, e).callbacks.append(self._expire)
                return
        self.armed[e] = False

    def _expire_one(self, ev: Event) -> None:
        """An attempt with a propagated (shorter) timeout reaches it."""
        v: Visit = ev._value
        if not v.replied and not v.timed_out:
            self._time_out(v, self.env.now)

    def _time_out(self, v: Visit, now: float) -> None:
        """The caller gives up on an unanswered attempt: it may retry."""
        v.timed_out = True
        v.cell.n_to += 1
        self.links.outcome(v.call.link, True, now)
        self._attempt_failed(v.call)

    def _retry(self, ev: Event) -> None:
        """Backoff over: send the next attempt unless the caller's worker was lost meanwhile."""
        call: Call = ev._value
        if call.parent is None or not call.parent.dead:
            self._send(call)

    def _attempt_failed(self, call: Call) -> None:
        """Back off and retry if attempts and the total deadline allow; else the call fails."""
        p = call.parent
        if p is not None and p.dead:
            return
        e, k = call.edge, call.k
        if k < self.max_att[e]:
            b = min(self.cap[e], self.base[e] * self.mult[e] ** (k - 1))
            j = self.jitter[e]
            if j == JITTER_FULL:
                b = self.rng.uniform(0.0, b)
            elif j == JITTER_EQUAL:
                b = b / 2 + self.rng.uniform(0.0, b / 2)
            latest = min(call.t0 + self.deadline[e], call.end)
            if self.env.now + b <= latest and self.links.retry_allowed(call.link, self.env.now):
                if b > 0:
                    Timeout(self.env, b, call).callbacks.append(self._retry)
                else:
                    self._send(call)
                return
        self._call_failed(call)

    def _call_failed(self, call: Call) -> None:
        """The call fails for good: its tenant's error, or its caller's failed child."""
        if call.tenant >= 0:
            self.tenants[call.tenant].n_err += 1
        p = call.parent
        if p is not None and not p.dead:
            self._child_done(p, call.edge, False)

    def _reply(self, v: Visit, ok: bool) -> None:
        """Deliver an attempt's outcome (response, rejection or loss) to its caller if it still waits."""
        if v.timed_out:
            return
        v.replied = True
        call = v.call
        self.links.outcome(call.link, not ok, self.env.now)
        if ok:
            v.cell.n_good += 1
            if call.tenant >= 0:
                self.tenants[call.tenant].n_good += 1
            if call.parent is not None:
                self._child_done(call.parent, call.edge, True)
        else:
            v.cell.n_err += 1
            self._attempt_failed(call)
