"""What a visit does at a cell in the request-level engine: wait for a worker or be turned away, own
work, the service's calls step by step (sequential, parallel, async), the response. A mixin of
:class:`~.des_replica.ReplicaRun`, which sends calls and delivers their outcomes (``_send``, ``_reply``);
the semantics are stated in :mod:`outagesim.engine.des`.
"""

from __future__ import annotations

import math

from simpy.events import Event, Timeout

from .des_inputs import ASYNC, SEQ
from .des_state import DET, EXP, Call, Cell, Visit
from .mechanisms.cache import warm

RECENT = 0.05  # weight of one completion in a cell's running means (hold for shedding, miss success for caches)


class CellVisits:
    """Visits at cells: arrival, start, own work, calls, finish (state in ``ReplicaRun``)."""

    def _arrive(self, x: Cell, v: Visit, now: float) -> None:
        """Start at once if a worker is free, else wait, or be rejected (no capacity, queue full)."""
        x.n_arr += 1
        self.visits += 1
        if x.busy < x.c:
            x.mark_load(now)
            self._start(x, v, now)
        elif x.c <= 0 or len(x.queue) + 1 > x.qcap or len(x.queue) + 1 > x.max_wait * x.c / x.hold_est:
            self._reply(v, False)
        else:
            x.mark_load(now)
            x.queue.append(v)

    def _start(self, x: Cell, v: Visit, now: float) -> None:
        """Take a worker and begin own work (gamma with the cell's current mean and cv)."""
        x.busy += 1
        x.in_service[v] = now
        if self.record_waits:
            x.wait_t.append(v.t)
            x.waits.append(now - v.t)
        if x.kind == EXP:
            d = self.rng.expovariate(1.0 / x.mean)
        elif x.kind == DET:
            d = x.mean
        else:
            shape = 1.0 / (x.cv * x.cv)
            d = self.rng.gammavariate(shape, x.mean / shape)
        Timeout(self.env, d, v).callbacks.append(self._own_done)

    def _dispatch(self, x: Cell) -> None:
        """Start waiting requests while workers are free; drop_expired discards those already given up."""
        q = x.queue
        now = self.env.now
        while x.busy < x.c and q:
            x.mark_load(now)
            v = q.pop() if x.lifo else q.popleft()
            if x.drop and v.timed_out:
                self.dropped += 1
                continue
            self._start(x, v, now)

    def _own_done(self, ev: Event) -> None:
        """Own work done: go on to the calls unless the worker was lost meanwhile."""
        v: Visit = ev._value
        if v.dead:
            return
        x = v.cell
        if x.hit > 0.0:
            self._warm(x)
            if self.rng.random() < x.hit * x.warmth:
                self._finish(v)  # a cache hit: none of the calls
                return
            v.miss = True
        self._run_plan(v)

    def _warm(self, x: Cell) -> None:
        """Bring a cell's cache warmth up to now (its misses' recent success share sets the pace)."""
        now = self.env.now
        x.warmth = float(warm(x.warmth, now - x.warm_t, x.miss_ok, x.warmup))
        x.warm_t = now

    def _run_plan(self, v: Visit) -> None:
        """Make the service's calls step by step (see des.py); respond when they are done."""
        plan = v.cell.plan
        rng = self.rng
        while v.step < len(plan):
            kind, items = plan[v.step]
            v.step += 1
            if kind == SEQ:
                e, link, n, frac = items[0]
                if frac and rng.random() < frac:
                    n += 1
                if n:
                    v.mode, v.left, v.cur = SEQ, n, items[0]
                    self._send(Call(e, link, v, -1, self.env.now, self._inherited(v)))
                    return
            elif kind == ASYNC:
                e, link, n, frac = items[0]
                if frac and rng.random() < frac:
                    n += 1
                for _ in range(n):
                    self._send(Call(e, link, None, -1, self.env.now))
            else:
                counts = [n + (1 if frac and rng.random() < frac else 0) for _, _, n, frac in items]
                total = sum(counts)
                if total:
                    v.mode, v.left = kind, total
                    now, end = self.env.now, self._inherited(v)
                    for (e, link, _, _), n in zip(items, counts, strict=True):
                        for _ in range(n):
                            self._send(Call(e, link, v, -1, now, end))
                    return
        self._finish(v)

    def _inherited(self, v: Visit) -> float:
        """The deadline v's sync calls inherit: v's own expiry if its service propagates deadlines."""
        return v.expires if self.propagates[v.cell.i] else math.inf

    def _child_done(self, v: Visit, e: int, ok: bool) -> None:
        """A sync call of v finally ended: go on, wait for the rest of the group, or abort."""
        if v.dead or v.step < 0:
            return
        if not ok:
            if self.hard[e]:
                v.failed = True
            else:
                v.degraded = True
        v.left -= 1
        if v.mode == SEQ:
            if v.failed:
                self._finish(v)
            elif v.left > 0:
                self._send(Call(v.cur[0], v.cur[1], v, -1, self.env.now, self._inherited(v)))
            else:
                self._run_plan(v)
        elif v.left == 0:
            if v.failed:
                self._finish(v)
            else:
                self._run_plan(v)

    def _finish(self, v: Visit) -> None:
        """Send the response (maybe an injected error) and free the worker."""
        x = v.cell
        now = self.env.now
        v.step = -1  # answered: outcomes of calls still in flight are ignored
        x.mark_load(now)
        x.busy -= 1
        started = x.in_service.pop(v)
        x.hold_est += RECENT * (now - started - x.hold_est)
        if v.miss:
            self._warm(x)
            x.miss_ok += RECENT * ((0.0 if v.failed else 1.0) - x.miss_ok)
        x.n_done += 1
        x.lat.append(now - v.t)
        ok = not v.failed and not (x.err_p > 0 and self.rng.random() < x.err_p)
        if ok and v.degraded:
            self.degraded += 1
        if x.queue:
            self._dispatch(x)
        self._reply(v, ok)
