"""Interval means of the fluid engine's per-step quantities, gathered into a RunRecord."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import gammaincinv

from ..record import CELL_METRICS, TENANT_METRICS, Event, RunRecord
from .mechanisms.calls import scatter_add

if TYPE_CHECKING:
    from .fluid import FluidEngine

_RATES = ("arrivals", "completed", "goodput", "errors", "timeouts")


def latency_p99(mean: np.ndarray, cv2: np.ndarray) -> np.ndarray:
    """99th percentile of a gamma with this mean and squared coefficient of variation."""
    shape = 1.0 / np.maximum(cv2, 1e-6)
    return gammaincinv(shape, 0.99) * mean / shape


class Recorder:
    def __init__(self, eng: FluidEngine, n_intervals: int):
        self.eng = eng
        net = eng.net
        r, n_c, n_t = net.replicas, len(net.cells), len(net.tenants)
        self.n = n_intervals
        self.i = 0
        self.time = np.zeros(r)  # per replica: replicas in sub-steps and not add their updates differently
        self.tenant = {m: np.zeros((n_t, r, n_intervals)) for m in TENANT_METRICS}
        self.cell = {m: np.zeros((n_c, r, n_intervals)) for m in CELL_METRICS}
        self.acc_t = {m: np.zeros((n_t, r)) for m in TENANT_METRICS}
        self.acc_c = {m: np.zeros((n_c, r)) for m in CELL_METRICS}
        self.acc_cv2 = np.zeros((n_c, r))
        su = eng.su
        self.entry = su.entry_links
        self.entry_tenant = su.link_tenant[su.entry_links]

    def _per_tenant(self, per_entry_link: np.ndarray) -> np.ndarray:
        out = np.zeros_like(self.acc_t["demand"])
        scatter_add(out, self.entry_tenant, np.ascontiguousarray(per_entry_link))
        return out

    def add_step(self, eng, h, first, entry_sent, link_succ, final, counts, servers, cap, hold) -> None:
        """Add one cell update of length h (per replica, 0 where it sat out): counts summed, levels weighted."""
        at, ac = self.acc_t, self.acc_c
        at["demand"] += first
        at["attempts"] += self._per_tenant(entry_sent)
        at["goodput"] += self._per_tenant(link_succ[self.entry])
        at["errors"] += self._per_tenant(final[self.entry])
        for m in _RATES:
            ac[m] += counts[m]
        ac["queue"] += counts["queue"] * h
        ac["in_service"] += counts["in_service"] * h
        ac["utilisation"] += h * np.where(servers > 1e-12, counts["in_service"] / np.maximum(servers, 1e-12), 0.0)
        ac["healthy_instances"] += eng.su.instances * cap * h
        soj = eng.sojourn
        ac["latency_mean"] += soj * h
        wait = np.maximum(soj - hold, 0.0)
        self.acc_cv2 += h * (hold * hold + wait * wait) / np.maximum(soj * soj, 1e-18)
        self.time += h

    def close_interval(self) -> None:
        """Rates are counts over the interval's length, levels their time-weighted means."""
        span = np.maximum(self.time, 1e-300)
        for m, a in self.acc_t.items():
            self.tenant[m][:, :, self.i] = a / span
            a[:] = 0.0
        for m, a in self.acc_c.items():
            if m != "latency_p99":
                self.cell[m][:, :, self.i] = a / span
            a[:] = 0.0
        self.cell["latency_p99"][:, :, self.i] = latency_p99(
            self.cell["latency_mean"][:, :, self.i], self.acc_cv2 / span)
        self.acc_cv2[:] = 0.0
        self.time[:] = 0.0
        self.i += 1

    def finish(self, wall_s: float) -> RunRecord:
        eng, net = self.eng, self.eng.net
        series = {}
        for t, name in enumerate(net.tenants):
            for m in TENANT_METRICS:
                series[("tenant", name, m)] = self.tenant[m][t]
        order = eng.su.layout.cell_order
        for i, c in enumerate(order):
            for m in CELL_METRICS:
                series[("cell", net.cells[c], m)] = self.cell[m][i]
        events = list(eng.events) + list(net.notes)
        if eng.control is not None:
            series.update(eng.control.series(self.n))
            events += eng.control.events + eng.control.shared_events
        for e in net.effects:
            events.append(Event(e.start_s, "fault_start", e.name))
            if np.isfinite(e.end_s):
                events.append(Event(e.end_s, "fault_end", e.name))
        info = {
            "engine": "fluid", "dt_s": eng.dt, "bin_width_s": eng.dt, "bins": eng.su.n_bins,
            "bin_reason": "bin width = dt = shortest timeout / 5 unless the scenario sets dt",
            "substeps": eng.max_substeps, "substep_s": eng.dt / eng.max_substeps,
            "substep_reason": "while a sync caller is saturated, a replica's cell updates span at most the "
                              "shortest saturated caller's hold time (one update per bin otherwise); the "
                              "finest split used",
            "fine_share": eng.fine_bins / max(self.n * eng.steps_per_record * net.replicas, 1),
            "coarse_step_s": eng.coarse_k * eng.dt,
            "coarse_reason": "while a replica is quasi-stationary with no change of its own coming, one update "
                             "spans this many seconds (at most max_dt, dividing record_every)",
            "coarse_share": eng.coarse_bins / max(self.n * eng.steps_per_record * net.replicas, 1),
            "updates": eng.updates,
            "steps": self.n * eng.steps_per_record, "wall_s": wall_s, "noise": eng.noise,
            "retry_slots": eng.su.n_slots,
        }
        t_s = np.arange(self.n) * net.record_every_s
        events.sort(key=lambda e: (e.t_s, e.replica))
        return RunRecord("fluid", t_s, net.record_every_s, series, events, info)
