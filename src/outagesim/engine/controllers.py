"""The control loop: what controllers see of a run and what they do to it, once per bin (or per control
period, the scenario's ``control_every``).

The fluid engine asks :meth:`ControlLoop.effects` for the capacity multiplier per cell and the share of
calls admitted per link at the start of a bin (actions, health checks, fleets, autoscalers, DNS
records), and reports each bin's (or control period's) outcomes to :meth:`ControlLoop.observe`. Each
mechanism lives in ``mechanisms/`` (actions, monitor, health_check, dns, fleet, autoscaler); this class
holds their state and the order they act in:

1. monitors observe (blind ones see nothing) and may alarm;
2. operators whose monitor alarmed decide after their delay, which schedules their actions;
3. health checkers probe and remove or reinstate targets;
4. fleets move hosts between compartments (artifact rollout, crashes, healing, repair);
5. tenants with failover move their traffic; autoscalers decide and launch.

Arrays here are in network cell and link order, replicas first: float[R, C], float[R, L].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..record import Event
from .controls import ACTION_KINDS, Controls
from .mechanisms.actions import action_effects
from .mechanisms.autoscaler import scale_step
from .mechanisms.dns import unresolved_share
from .mechanisms.fleet import FleetState, fleet_step, online_share
from .mechanisms.health_check import health_step, probe_failure
from .mechanisms.monitor import BLIND_AT, TRAFFIC_FLOOR, failed_share, monitor_step
from .network import Network

QUIET_SHARE = 1e-3  # a health checker below this looks-bad and removed share is at rest


class ControlLoop:
    """State of every controller over every replica of one run."""

    def __init__(self, net: Network, controls: Controls):
        self.net, self.c = net, controls
        r = net.replicas
        self.r = r
        self.start = np.array([a.start for a in controls.actions]).reshape(len(controls.actions), r)
        self.since = np.full((len(controls.monitors), r), np.nan)
        self.detected = np.full((len(controls.monitors), r), np.inf)
        self.alarm = np.zeros((len(controls.monitors), r), bool)
        self.decided = np.full((len(controls.operators), r), np.inf)
        self.looks_bad = [np.zeros((len(h.cells), r)) for h in controls.health_checks]
        self.removed = [np.zeros((len(h.cells), r)) for h in controls.health_checks]
        self._hc_flags = [np.zeros((2, r), bool) for _ in controls.health_checks]
        self.fleets = [FleetState.of(f, r) for f in controls.fleets]
        self.entry = np.array(net.per_request[:, net.link_edge]) if controls.failovers else None  # [R, L]
        self._fo_since = [np.full(r, np.nan) for _ in controls.failovers]
        self._fo_done = [np.zeros(r, bool) for _ in controls.failovers]
        self._fo_health = [np.ones((r, len(f.links))) for f in controls.failovers]
        self._fo_weighted = [False for _ in controls.failovers]  # entry shares set from _fo_health yet
        self.scale = [np.ones(r) for _ in controls.autoscalers]  # instances, as a share of nominal
        # what each cell could serve, req/s (nominal): the scale below which arrivals are no traffic
        self._serves_rps = net.instances * net.concurrency / np.maximum(net.service_time_mean, 1e-12)
        self._views = ServiceViews(_watched(controls), self._serves_rps)
        self._launches: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in controls.autoscalers]
        self._busy_acc = [np.zeros(r) for _ in controls.autoscalers]  # busy share x time since the last decision
        self._judged_from = [np.zeros(r) for _ in controls.autoscalers]  # last decision, or instances joining
        self.events: list[Event] = []
        self._t_prev = 0.0  # runs start at 0
        self._logged_to = -np.inf  # actions starting after this time have not been logged yet
        self.shared_events = _fault_events(controls)
        self._acc: dict[tuple[str, str, str], np.ndarray] = {}
        self._span = 0.0
        self._series: dict[tuple[str, str, str], list[np.ndarray]] = {}

    # ------------------------------------------------------------------ what controllers do
    def effects(self, t: float) -> tuple[np.ndarray, np.ndarray | None]:
        """Capacity multiplier per cell, float[R, C], and share admitted per link (None: all admitted).

        Tenants' entry shares after failover are in ``entry`` (float[R, L], None without failovers)."""
        net, c = self.net, self.c
        cap, admit = action_effects(c.actions, self.start, t, len(net.cells), len(net.link_edge))
        for h, removed in zip(c.health_checks, self.removed, strict=True):
            cap[:, h.cells] *= (1.0 - removed).T
        for f, st in zip(c.fleets, self.fleets, strict=True):
            if f.cells.size:
                cap[:, f.cells] *= np.clip(1.0 - st.crashed() / np.maximum(f.hosts, 1e-12), 0.0, 1.0)[:, None]
        for a, scale in zip(c.autoscalers, self.scale, strict=True):
            cap[:, a.cells] *= scale[:, None]
        for d in c.dns:
            share = unresolved_share(t, d.windows, d.ttl_s, d.negative_ttl_s)
            if share > 0:
                admit[:, d.links] *= 1.0 - share
        return cap, (admit if np.any(admit < 1.0) else None)

    # ------------------------------------------------------------------ what controllers see
    def observe(self, t: float, arrivals: np.ndarray, goodput: np.ndarray, cap: np.ndarray,
                demand: np.ndarray, tenant_goodput: np.ndarray, link_ok: np.ndarray, link_failed: np.ndarray,
                busy: np.ndarray) -> None:
        """Outcomes since the last observation (the bins up to t): per cell arrivals and goodput (counts)
        and capacity share, float[R, C]; per tenant demand and goodput (counts), float[R, T]; per link calls
        that succeeded and that finally failed (counts), float[R, L]; per cell share of workers busy,
        float[R, C]. Bins in which no replica moved (all in a coarse step) are not observed; their time
        counts in the next one."""
        c = self.c
        dt = t - self._t_prev

        service_failed = self._views.failed(arrivals, goodput, cap, dt)
        for i, m in enumerate(c.monitors):
            if m.tenant >= 0:
                failing = failed_share(demand[:, m.tenant], tenant_goodput[:, m.tenant], np.ones(self.r))
            else:
                failing = service_failed(m.cells)
            blind = np.zeros(self.r, bool)
            if not m.external:
                for cells in m.blind_cells:
                    blind |= service_failed(cells) >= BLIND_AT
            sample = not m.external or np.floor(t / m.interval_s) > np.floor((t - dt) / m.interval_s)
            self.since[i], alarm = monitor_step(failing, blind, self.since[i], t, threshold=m.threshold,
                                                sustain_s=m.sustain_s, sample=bool(sample), was=self.alarm[i])
            self._log_changes("monitor_alarm", "monitor_cleared", m.name, self.alarm[i], alarm, t)
            self.detected[i] = np.where(alarm & np.isinf(self.detected[i]), t, self.detected[i])
            self.alarm[i] = alarm
            self._add(("monitor", m.name, "alarm"), alarm.astype(float), dt)
        for o, op in enumerate(c.operators):
            first = self.detected[op.monitors].min(axis=0) if op.monitors.size else np.full(self.r, np.inf)
            newly = np.isinf(self.decided[o]) & np.isfinite(first)
            if newly.any():
                self.decided[o] = np.where(newly, first + op.delay, self.decided[o])
                for k, a in enumerate(c.actions):
                    if a.operator == o:
                        self.start[k] = np.where(newly, self.decided[o] + a.after, self.start[k])
                for r in np.flatnonzero(newly):
                    self._event(t, "operator_alerted", op.name, f"decides at {self.decided[o][r]:.0f} s", r)
        for k, a in enumerate(c.actions):
            began = (self._logged_to < self.start[k]) & (self.start[k] <= t)
            for r in np.flatnonzero(began):
                self._event(float(self.start[k][r]), "action_" + ACTION_KINDS[a.kind], a.target, a.name, r)
        for h, spec in enumerate(c.health_checks):
            path = [service_failed(cells) for cells in spec.probe_cells]
            own = (self._target_failed(spec.cells, self.removed[h], arrivals, goodput) if spec.deep
                   else np.zeros((len(spec.cells), self.r)))
            probe = probe_failure(own, path) ** spec.unhealthy_after  # that many probes in a row fail
            inst = self.net.instances[:, spec.cells].T
            weight = inst / np.maximum(inst.sum(axis=0), 1e-12)
            was = self.removed[h].copy()
            self.looks_bad[h], self.removed[h], open_, limited = health_step(
                self.looks_bad[h], self.removed[h], probe, weight, dt, down_lag_s=spec.down_lag_s,
                up_lag_s=spec.up_lag_s, fail_open=spec.fail_open, max_removal_per_s=spec.max_removal_per_s)
            share = (self.removed[h] * weight).sum(axis=0)
            self._log_changes("health_check_removing", "health_check_reinstated", spec.name,
                              (was * weight).sum(axis=0) >= 0.01, share >= 0.01, t)
            flags = self._hc_flags[h]
            self._log_changes("health_check_failed_open", "health_check_closed", spec.name, flags[0], open_, t)
            self._log_changes("health_check_rate_limited", "health_check_unlimited", spec.name, flags[1], limited, t)
            flags[0], flags[1] = open_, limited
            self._add(("health_check", spec.name, "removed_share"), share, dt)
        hour = (self.net.anchor.hour + self.net.anchor.minute / 60 + t / 3600) % 24
        for f, st in zip(c.fleets, self.fleets, strict=True):
            for kind, r, detail in fleet_step(f, st, t - dt, dt, online_share(f.online, hour)):
                self._event(t, kind, f"fleet:{f.name}", detail, r)
            self._add(("fleet", f.name, "crashed_hosts"), st.crashed(), dt)
            self._add(("fleet", f.name, "repaired_hosts"), st.healed + st.repaired, dt)
        for i, fo in enumerate(c.failovers):
            self._failover(i, fo, t, dt, demand, tenant_goodput, link_ok, link_failed)
        for i, a in enumerate(c.autoscalers):
            self._autoscale(i, a, t, dt, busy, cap, service_failed)
        for d in c.dns:
            self._add(("dns", d.name, "unresolved_share"),
                      np.full(self.r, unresolved_share(t - dt, d.windows, d.ttl_s, d.negative_ttl_s)), dt)
        self._span += dt
        self._t_prev = self._logged_to = t

    def _failover(self, i, fo, t, dt, demand, tenant_goodput, link_ok, link_failed) -> None:
        """Active-passive: move all of the tenant to its standby entries once it has failed for ``detect``.
        Active-active: weight each entry by its share and its recent success (time constant ``detect``)."""
        name = self.net.tenants[fo.tenant]
        if fo.active_active:
            ok, bad = link_ok[:, fo.links], link_failed[:, fo.links]
            # an entry that gets no calls is presumed to have healed (clients try it again), so traffic
            # drifts back to it with the same time constant and is judged again there
            health = np.where(ok + bad > 1e-9, ok / np.maximum(ok + bad, 1e-12), 1.0)
            was = self._fo_health[i]
            now = was + (health - was) * (1.0 - np.exp(-dt / fo.detect_s))
            self._fo_health[i] = now
            if self._fo_weighted[i] and np.array_equal(now, was):
                return  # every entry as healthy as at the last weighting (all healthy, mostly): same shares
            self._fo_weighted[i] = True
            w = fo.share[None, :] * now
            tot = w.sum(axis=1, keepdims=True)
            self.entry[:, fo.links] = np.where(tot > 1e-9, w / np.maximum(tot, 1e-12), fo.share[None, :])
            if np.any((was < 0.5) != (now < 0.5)):
                for j, lk in enumerate(fo.links):
                    entry = self.net.services[self.net.edge_callee[self.net.link_edge[lk]]]
                    self._log_changes("tenant_shifted_away", "tenant_shifted_back", f"tenant:{name}",
                                      was[:, j] < 0.5, now[:, j] < 0.5, t, entry)
            return
        if self._fo_done[i].all():  # moved to its standby in every replica, for good: nothing left to watch
            return
        failing = failed_share(demand[:, fo.tenant], tenant_goodput[:, fo.tenant], np.ones(self.r))
        if np.isnan(self._fo_since[i]).all() and not (failing >= fo.threshold).any():
            return  # not failing, and no failing stretch to end: nothing to move
        self._fo_since[i], switch = monitor_step(failing, np.zeros(self.r, bool), self._fo_since[i], t,
                                                 threshold=fo.threshold, sustain_s=fo.detect_s, sample=True)
        switch &= ~self._fo_done[i]
        if switch.any():
            self.entry[np.ix_(switch, fo.links)] = 0.0
            self.entry[np.ix_(switch, fo.standby)] = fo.standby_share[None, :]
            self._fo_done[i] |= switch
            for r in np.flatnonzero(switch):
                self._event(t, "tenant_failed_over", f"tenant:{name}", "to the standby entries", r)

    def _autoscale(self, i, a, t, dt, busy, cap, service_failed) -> None:
        """Launched instances that are due join; at each interval the scaler decides (autoscaler.py)."""
        still = []
        for due, amount in self._launches[i]:
            arrived = due <= t
            self.scale[i] = self.scale[i] + np.where(arrived, amount, 0.0)
            joined = arrived & (amount > 0)
            self._busy_acc[i][joined] = 0.0  # cool down: judge the new size on its own load only
            self._judged_from[i][joined] = t
            if not arrived.all():
                still.append((due, np.where(arrived, 0.0, amount)))
        self._launches[i] = still
        inst = self.net.instances[:, a.cells] * cap[:, a.cells]  # instances up: a lost zone is not idle
        self._busy_acc[i] += dt * (busy[:, a.cells] * inst).sum(axis=1) / np.maximum(inst.sum(axis=1), 1e-12)
        self._add(("autoscaler", a.name, "instances_share"), self.scale[i], dt)
        if np.floor(t / a.interval_s) == np.floor((t - dt) / a.interval_s):
            return
        pending = sum((amount for _, amount in self._launches[i]), np.zeros(self.r))
        plane_ok = (service_failed(a.plane_cells) < 0.5 if a.plane_cells.size else np.ones(self.r, bool))
        span = t - self._judged_from[i]
        ready = span >= 0.5 * a.interval_s  # at least half an interval of load at the current size
        scale, launched, blocked = scale_step(
            self.scale[i], pending, self._busy_acc[i] / np.maximum(span, 1e-12), goal=a.goal, low=a.low,
            high=a.high, max_launch=a.max_launch, plane_ok=plane_ok)
        self.scale[i] = np.where(ready, scale, self.scale[i])
        launched, blocked = np.where(ready, launched, 0.0), np.where(ready, blocked, 0.0)
        self._busy_acc[i] = np.where(ready, 0.0, self._busy_acc[i])
        self._judged_from[i] = np.where(ready, t, self._judged_from[i])
        if launched.any():
            self._launches[i].append((t + a.launch_s, launched))
        for r in np.flatnonzero(launched > 1e-3):
            self._event(t, "autoscaler_launched", a.name, f"{launched[r]:.0%} of nominal", r)
        for r in np.flatnonzero(blocked > 1e-3):
            self._event(t, "autoscaler_blocked", a.name, "control plane failing", r)

    @staticmethod
    def _target_failed(cells, removed, arrivals, goodput) -> np.ndarray:
        """Share of a checker's instances that are up but fail their own probe, float[k, R]: those failing
        their traffic (a deep check). Instances that are down are out of service already; the checker's
        removal applies to those that are up. A target the checker took out is probed directly: its
        traffic's failures (requests that found no target in service) are not its own."""
        arr, good = arrivals[:, cells].T, goodput[:, cells].T
        served = np.where(arr > 1e-9, np.clip(1.0 - good / np.maximum(arr, 1e-12), 0.0, 1.0), 0.0)
        return served * (1.0 - removed)

    def quiet(self, t: float, end: float, dt: float) -> np.ndarray:
        """Replicas whose controllers change nothing in [t - dt, end + dt], bool[R] (coarse steps allowed)."""
        c = self.c
        ok = np.ones(self.r, bool)
        lo, hi = t - dt, end + dt
        for k, a in enumerate(c.actions):
            s = self.start[k]
            ok &= ~(((s >= lo) & (s <= hi)) | ((s + a.duration >= lo) & (s + a.duration <= hi)))
        if len(c.monitors):
            ok &= ~np.any(np.isfinite(self.since) & np.isinf(self.detected), axis=0)
        for lb, rm in zip(self.looks_bad, self.removed, strict=True):
            ok &= np.all((lb < QUIET_SHARE) & (rm < QUIET_SHARE), axis=0)
        for a, scale, launches in zip(c.autoscalers, self.scale, self._launches, strict=True):
            ok &= (scale <= a.low + 1e-9) & ~np.any([amount > 0 for _, amount in launches], axis=0)
        for d in c.dns:
            for _, t0, t1 in d.windows:
                if t0 - dt <= hi and lo <= t1 + d.negative_ttl_s + dt:
                    ok[:] = False
        for f, st in zip(c.fleets, self.fleets, strict=True):
            for i, a in enumerate(f.artifacts):
                if a.start_s <= hi:
                    ok &= ~(lo < st.withdrawn[i])  # live: hosts are crashing
        return ok

    # ------------------------------------------------------------------ records
    def _add(self, key: tuple[str, str, str], value: np.ndarray, dt: float) -> None:
        acc = self._acc.get(key)
        self._acc[key] = value * dt if acc is None else acc + value * dt

    def close_interval(self) -> None:
        """Close one record interval: each series' time-weighted mean over it."""
        span = max(self._span, 1e-300)
        for key, acc in self._acc.items():
            self._series.setdefault(key, []).append(acc / span)
        self._acc = {}
        self._span = 0.0

    def series(self, n: int) -> dict[tuple[str, str, str], np.ndarray]:
        """Every controller series, float[R, n] (intervals before a series first appeared are 0)."""
        out = {}
        for key, rows in self._series.items():
            arr = np.zeros((self.r, n))
            arr[:, n - len(rows):] = np.array(rows).T[:, :n]
            out[key] = arr
        return out

    def _event(self, t: float, kind: str, entity: str, detail: str, r: int) -> None:
        self.events.append(Event(t, kind, entity, detail, int(r) + self.net.first_replica))

    def _log_changes(self, on: str, off: str, entity: str, was: np.ndarray, now: np.ndarray, t: float,
                     detail: str = "") -> None:
        if not np.any(now != was):
            return
        for r in np.flatnonzero(now & ~was):
            self._event(t, on, entity, detail, r)
        for r in np.flatnonzero(was & ~now):
            self._event(t, off, entity, detail, r)


def _watched(controls: Controls) -> list[np.ndarray]:
    """The cells of each service controllers look at: monitored, depended on, probed, a control plane."""
    sets = [m.cells for m in controls.monitors if m.tenant < 0]
    sets += [cells for m in controls.monitors for cells in m.blind_cells]
    sets += [cells for h in controls.health_checks for cells in h.probe_cells]
    return sets + [a.plane_cells for a in controls.autoscalers]


class ServiceViews:
    """Failed shares of services (sets of cells) per observation, from one gather and sum over all of them
    rather than a few numpy calls per service: by default the control loop runs every bin, and in
    December 2021 it took a seventh of the run's time."""

    def __init__(self, sets: list[np.ndarray], serves_rps: np.ndarray):
        self.index: dict[bytes, int] = {}
        for cells in sets:
            if len(cells):  # a service with no cells has no traffic and fails nothing
                self.index.setdefault(np.asarray(cells, np.int64).tobytes(), len(self.index))
        parts = [np.frombuffer(key, np.int64) for key in self.index]
        self.cells = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        self.size = np.array([len(p) for p in parts], float)
        self.start = np.cumsum([0] + [len(p) for p in parts[:-1]]).astype(np.int64)
        self.serves = self._sum(serves_rps)  # [R, S] what each service could serve, req/s

    def _sum(self, x: np.ndarray) -> np.ndarray:
        """Per service, the sum of x over its cells: float[R, S] from float[R, C]."""
        if not self.index:
            return np.zeros((x.shape[0], 0))
        return np.add.reduceat(x[:, self.cells], self.start, axis=1)

    def failed(self, arrivals, goodput, cap, dt) -> Callable[[np.ndarray], np.ndarray]:
        """The bin's failed share of every service (``monitor.failed_share``), looked up by its cells."""
        floor = np.maximum(TRAFFIC_FLOOR * self.serves * dt, 1e-9)
        share = failed_share(self._sum(arrivals), self._sum(goodput), self._sum(cap) / self.size, floor)
        index = self.index

        def service_failed(cells: np.ndarray) -> np.ndarray:
            if not len(cells):
                return np.zeros(share.shape[0])
            return share[:, index[np.asarray(cells, np.int64).tobytes()]]

        return service_failed


def _fault_events(controls: Controls) -> list[Event]:
    """fault_start and fault_end of the faults controllers carry out (DNS records emptied, artifacts)."""
    out = []
    for d in controls.dns:
        for name, t0, t1 in d.windows:
            out.append(Event(t0, "fault_start", name, f"dns:{d.name} emptied"))
            if np.isfinite(t1):
                out.append(Event(t1, "fault_end", name, f"dns:{d.name} restored"))
    seen = set()
    for f in controls.fleets:
        for a in f.artifacts:
            if a.name not in seen:
                seen.add(a.name)
                out.append(Event(a.start_s, "fault_start", a.name, "artifact published"))
                if np.isfinite(a.end_s):
                    out.append(Event(a.end_s, "fault_end", a.name, "artifact withdrawn"))
    return out
