"""Interval means of the fluid engine's per-step quantities, gathered into a RunRecord."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from scipy.special import gammaincinv

from ..record import CELL_METRICS, TENANT_METRICS, Event, RunRecord
from .mechanisms.calls import scatter_add

if TYPE_CHECKING:
    from .fluid import FluidEngine

_CELL_SUMS = ("arrivals", "completed", "goodput", "errors", "timeouts", "queue", "in_service", "utilisation",
              "healthy_instances", "latency_mean")
_COUNTS = ("arrivals", "completed", "goodput", "errors", "timeouts", "queue", "in_service")


def latency_p99(mean: np.ndarray, cv2: np.ndarray) -> np.ndarray:
    """99th percentile of a gamma with this mean and squared coefficient of variation."""
    shape = 1.0 / np.maximum(cv2, 1e-6)
    return gammaincinv(shape, 0.99) * mean / shape


@njit(cache=True)
def _add_cells(arr, done, good, err, tout, queue, busy, util, healthy, lat, cv2,
               c_arr, c_done, c_good, c_err, c_tout, c_queue, c_busy, servers, instances, cap, soj, hold, h):
    """One update's cell metrics into the interval's sums, float[C, R] each: counts as they are, levels
    times the update's length h[r]. One loop where numpy took some thirty calls an update."""
    for c in range(arr.shape[0]):
        for r in range(arr.shape[1]):
            hr = h[r]
            arr[c, r] += c_arr[c, r]
            done[c, r] += c_done[c, r]
            good[c, r] += c_good[c, r]
            err[c, r] += c_err[c, r]
            tout[c, r] += c_tout[c, r]
            queue[c, r] += c_queue[c, r] * hr
            busy[c, r] += c_busy[c, r] * hr
            srv = servers[c, r]
            util[c, r] += hr * (c_busy[c, r] / max(srv, 1e-12) if srv > 1e-12 else 0.0)
            healthy[c, r] += instances[c, r] * cap[c, r] * hr
            s = soj[c, r]
            lat[c, r] += s * hr
            wait = max(s - hold[c, r], 0.0)
            cv2[c, r] += hr * (hold[c, r] * hold[c, r] + wait * wait) / max(s * s, 1e-18)


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
        _add_cells(*(ac[m] for m in _CELL_SUMS), self.acc_cv2, *(counts[m] for m in _COUNTS), servers,
                   eng.su.instances, cap, eng.sojourn, hold, h)
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
