"""State of the request-level engine: cells, tenants, calls and visits as slotted objects, and recording.

Plain Python objects and floats, so the event callbacks in ``des_replica`` touch no numpy on the hot
path; numpy appears only when an interval is closed (:class:`Recorder`).
"""

from __future__ import annotations

import math
from array import array
from collections import deque

import numpy as np

from ..record import CELL_METRICS, TENANT_METRICS
from .network import Network

DET, EXP, GAMMA = 0, 1, 2  # own-work distribution


class Cell:
    """One (service, zone): workers, the waiting line, per-interval counters and level integrals."""

    __slots__ = (
        "i", "inst", "conc", "qlimit", "factor", "c", "healthy", "qcap", "busy", "queue", "lifo", "drop",
        "base_mean", "mean", "cv", "kind", "err_p", "in_service", "plan", "n_arr", "n_done", "n_good",
        "n_err", "n_to", "lat", "q_area", "b_area", "last", "w_area", "h_area", "cap_last", "waits", "wait_t",
        "max_wait", "hold_est", "hit", "warmup", "warmth", "warm_t", "miss_ok")

    def __init__(self, net: Network, r: int, c: int, plan: list):
        self.i, self.plan = c, plan
        self.inst, self.conc = float(net.instances[r, c]), float(net.concurrency[r, c])
        self.qlimit = float(net.queue_limit[c])
        self.lifo, self.drop = bool(net.lifo[c]), bool(net.drop_expired[c])
        self.max_wait = float(net.max_wait[c])  # load shedding (inf: none), against hold_est
        self.base_mean = float(net.service_time_mean[r, c])
        self.cv = float(net.service_time_cv[r, c])
        self.err_p = 0.0
        self.busy, self.queue, self.in_service = 0, deque(), {}
        self.n_arr = self.n_done = self.n_good = self.n_err = self.n_to = 0
        self.lat: list[float] = []
        self.q_area = self.b_area = self.w_area = self.h_area = self.last = self.cap_last = 0.0
        self.waits, self.wait_t = array("d"), array("d")
        self.factor = 1.0
        self.set_capacity(1.0)
        self.set_mean(self.base_mean)
        self.hold_est = self.base_mean  # mean hold of recent completions (own work and sync calls)
        self.hit, self.warmup = float(net.cache[c, 0]), float(net.cache[c, 1])  # cache (hit 0: none)
        self.warmth, self.warm_t, self.miss_ok = 1.0, 0.0, 1.0

    def set_mean(self, mean: float) -> None:
        """Own-work mean (base + injected latency) and the distribution it implies."""
        self.mean = mean
        self.kind = DET if mean <= 0 or self.cv <= 0 else (EXP if self.cv == 1.0 else GAMMA)

    def set_capacity(self, factor: float) -> None:
        """Workers = instances x factor x concurrency, rounded half up; queue limit scales with instances."""
        self.factor, self.healthy = factor, self.inst * factor
        self.c = math.floor(self.inst * factor * self.conc + 0.5)
        self.qcap = math.inf if math.isinf(self.qlimit) else self.qlimit * self.healthy

    def mark_load(self, now: float) -> None:
        """Integrate the waiting line and busy workers up to now (before either changes)."""
        dt = now - self.last
        self.q_area += len(self.queue) * dt
        self.b_area += self.busy * dt
        self.last = now

    def mark(self, now: float) -> None:
        """Integrate every level up to now (before a change of capacity and at interval ends)."""
        self.mark_load(now)
        dt = now - self.cap_last
        self.w_area += self.c * dt
        self.h_area += self.healthy * dt
        self.cap_last = now


class Tenant:
    """A tenant's demand curve (scalar form of Network.demand_rps), entry choice and counters."""

    __slots__ = ("i", "peak", "shape", "flat", "entries", "cum", "n_dem", "n_att", "n_good", "n_err")

    def __init__(self, net: Network, r: int, t: int, entries: list[tuple[int, int]]):
        self.i, self.entries = t, entries
        self.peak = float(net.peak_rps[r, t])
        self.shape = [float(v) for v in net.daily_shape[t]]
        self.flat = len(set(self.shape)) == 1
        shares = [float(net.per_request[r, e]) for e, _ in entries]
        tot = sum(shares) or 1.0
        acc, self.cum = 0.0, []
        for s in shares:
            acc += s / tot
            self.cum.append(acc)
        self.cum[-1] = 1.0
        self.n_dem = self.n_att = self.n_good = self.n_err = 0

    def rate(self, hour0: float, t: float) -> float:
        """Demand at t, req/s (the same interpolation as Network.demand_rps)."""
        hour = (hour0 + t / 3600) % 24
        h0 = int(hour)
        frac = hour - h0
        return self.peak * (self.shape[h0] * (1 - frac) + self.shape[(h0 + 1) % 24] * frac)


class Call:
    """One logical call on an edge with its retries (the caller's attempt loop)."""

    __slots__ = ("edge", "link", "parent", "tenant", "t0", "k", "end")

    def __init__(self, edge: int, link: int, parent: Visit | None, tenant: int, t0: float,
                 end: float = math.inf):
        self.edge, self.link, self.parent, self.tenant, self.t0, self.k = edge, link, parent, tenant, t0, 0
        self.end = end  # a propagated deadline: no attempt outlives it, none starts after it


class Visit:
    """One attempt at one cell: waiting, then holding a worker through its own work and its calls."""

    __slots__ = ("call", "cell", "t", "replied", "timed_out", "dead", "failed", "degraded", "step", "mode",
                 "left", "cur", "miss", "expires")

    def __init__(self, call: Call, cell: Cell, t: float, expires: float):
        self.call, self.cell, self.t, self.expires = call, cell, t, expires
        self.replied = self.timed_out = self.dead = self.failed = self.degraded = self.miss = False
        self.step = 0


class Recorder:
    """Per-interval outputs of one replica: rates are counts / span, levels are time averages."""

    def __init__(self, net: Network, cells: list[Cell], tenants: list[Tenant]):
        self.every = net.record_every_s
        self.n = max(1, math.ceil(net.duration_s / net.record_every_s - 1e-9))
        self.cells, self.tenants = cells, tenants
        self.cell_out = {m: np.zeros((len(cells), self.n)) for m in CELL_METRICS}
        self.ten_out = {m: np.zeros((len(tenants), self.n)) for m in TENANT_METRICS}
        self.k = 0

    def close(self, now: float) -> None:
        """Close the current interval at time now and reset the counters."""
        k = self.k
        span = now - k * self.every
        if k >= self.n or span <= 0:
            return
        co, to = self.cell_out, self.ten_out
        for x in self.cells:
            x.mark(now)
            i = x.i
            co["arrivals"][i, k] = x.n_arr / span
            co["completed"][i, k] = x.n_done / span
            co["goodput"][i, k] = x.n_good / span
            co["errors"][i, k] = x.n_err / span
            co["timeouts"][i, k] = x.n_to / span
            co["queue"][i, k] = x.q_area / span
            co["in_service"][i, k] = x.b_area / span
            co["utilisation"][i, k] = x.b_area / x.w_area if x.w_area > 0 else 0.0
            co["healthy_instances"][i, k] = x.h_area / span
            if x.lat:
                lat = np.asarray(x.lat)
                co["latency_mean"][i, k] = lat.mean()
                co["latency_p99"][i, k] = np.percentile(lat, 99)
            else:
                co["latency_mean"][i, k] = co["latency_p99"][i, k] = np.nan
            x.n_arr = x.n_done = x.n_good = x.n_err = x.n_to = 0
            x.q_area = x.b_area = x.w_area = x.h_area = 0.0
            x.lat = []
        for ten in self.tenants:
            i = ten.i
            to["demand"][i, k] = ten.n_dem / span
            to["attempts"][i, k] = ten.n_att / span
            to["goodput"][i, k] = ten.n_good / span
            to["errors"][i, k] = ten.n_err / span
            ten.n_dem = ten.n_att = ten.n_good = ten.n_err = 0
        self.k = k + 1
