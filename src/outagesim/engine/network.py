"""The compiled system: frozen numpy arrays that both engines read; names appear only as labels.

Per-replica parameters are ``(R, n)`` arrays (each replica draws its own uncertain values); structure is
shared. Time-varying inputs (demand, fault effects) are pure functions of ``t`` so both engines see the
same world. Built by :func:`outagesim.engine.compile.compile_network`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from .controls import Controls

JITTER_NONE, JITTER_FULL, JITTER_EQUAL = 0, 1, 2
EFFECT_CAPACITY, EFFECT_LATENCY, EFFECT_ERRORS, EFFECT_DEMAND = 0, 1, 2, 3


@dataclass(frozen=True)
class Effect:
    """One fault's effect on a set of cells during [start_s, end_s)."""

    name: str
    kind: int  # EFFECT_*
    start_s: float
    end_s: float
    cells: np.ndarray  # int[k] (EFFECT_DEMAND: tenants)
    magnitude: np.ndarray  # float[R]: fraction lost / seconds added / error fraction / demand factor


@dataclass(frozen=True)
class Network:
    replicas: int
    seed: int
    first_replica: int  # global index of replica 0 here (a run split over processes holds a range)
    # --- places
    zones: tuple[str, ...]
    zone_region: np.ndarray  # int[Z]
    regions: tuple[str, ...]
    # --- services and cells (one cell per service and zone)
    services: tuple[str, ...]
    service_kind: tuple[str, ...]
    cells: tuple[str, ...]  # "svc@provider/region/zone"
    cell_service: np.ndarray  # int[C]
    cell_zone: np.ndarray  # int[C]
    instances: np.ndarray  # float[R, C] nominal instances
    concurrency: np.ndarray  # float[R, C] workers per instance
    service_time_mean: np.ndarray  # float[R, C] own work, s
    service_time_cv: np.ndarray  # float[R, C]
    startup_time: np.ndarray  # float[R, C] s before restored instances serve
    queue_limit: np.ndarray  # float[C] waiting requests per instance (inf = unbounded)
    lifo: np.ndarray  # bool[C]
    drop_expired: np.ndarray  # bool[C]
    max_wait: np.ndarray  # float[C] load shedding: largest expected wait admitted, s (inf = no shedding)
    cache: np.ndarray  # float[C, 2] hit ratio (0: no cache), warm-up time constant s
    propagate_deadline: np.ndarray  # bool[S] the service's sync calls inherit its callers' remaining time
    # --- edges: service calls and tenant entries (caller_service = -1 for an entry)
    edge_caller: np.ndarray  # int[E] caller service or -1
    edge_tenant: np.ndarray  # int[E] tenant for entry edges or -1
    edge_callee: np.ndarray  # int[E] callee service
    edge_order: np.ndarray  # int[E] position among the caller's calls (YAML order)
    per_request: np.ndarray  # float[R, E] calls per caller request (entry: share of tenant demand)
    sync: np.ndarray  # bool[E]
    hard: np.ndarray  # bool[E]
    parallel: np.ndarray  # bool[E]
    timeout: np.ndarray  # float[R, E] (inf for async)
    max_attempts: np.ndarray  # int[E]
    backoff_base: np.ndarray  # float[R, E]
    backoff_multiplier: np.ndarray  # float[E]
    backoff_cap: np.ndarray  # float[R, E]
    jitter: np.ndarray  # int[E] JITTER_*
    deadline: np.ndarray  # float[R, E] (inf = none)
    budget_ratio: np.ndarray  # float[E] retry tokens per first try (0: no retry budget)
    budget_burst: np.ndarray  # float[E] most tokens held per calling instance (per tenant for clients)
    breaker: np.ndarray  # float[E, 5] threshold (0: no breaker), window s, min requests, open time s, probes
    # --- links (edge x caller cell, or edge x tenant) and their routes to callee cells
    link_edge: np.ndarray  # int[L]
    link_cell: np.ndarray  # int[L] caller cell, -1 for entry links
    route_link: np.ndarray  # int[P]
    route_cell: np.ndarray  # int[P] callee cell
    route_local: np.ndarray  # bool[P] callee cell in the caller's zone
    # --- tenants
    tenants: tuple[str, ...]
    peak_rps: np.ndarray  # float[R, T]
    daily_shape: np.ndarray  # float[T, 24], max 1
    noise_sigma: np.ndarray  # float[T]
    noise_tau: np.ndarray  # float[T] s
    users_per_rps: np.ndarray  # float[T]
    value_per_failed: np.ndarray  # float[T]
    value_per_minute_down: np.ndarray  # float[T]
    # --- scenario
    anchor: datetime
    duration_s: float
    dt_s: float
    record_every_s: float
    lb_detect_s: float
    effects: tuple[Effect, ...] = field(default_factory=tuple)
    max_dt_s: float = 0.0  # longest coarse step while a replica is quasi-stationary (0: never coarser than dt)
    control_every_s: float = 0.0  # controllers observe once per this long, in whole bins (0: after every bin)
    notes: tuple = ()  # record.Event: decisions made while compiling (the capacity tool's cuts)
    controls: Controls | None = None  # monitors, operators, actions, health checks, DNS, fleets (None: none)

    # ------------------------------------------------------------------ time-varying inputs
    @property
    def servers(self) -> np.ndarray:
        """Nominal workers per cell, float[R, C]."""
        return self.instances * self.concurrency

    def demand_rps(self, t_s: float) -> np.ndarray:
        """Tenant demand without noise at time t, float[R, T] (daily shape interpolated by UTC hour, times
        any demand surge)."""
        hour = (self.anchor.hour + self.anchor.minute / 60 + self.anchor.second / 3600 + t_s / 3600) % 24
        h0 = int(hour)
        frac = hour - h0
        shape = self.daily_shape[:, h0] * (1 - frac) + self.daily_shape[:, (h0 + 1) % 24] * frac
        out = self.peak_rps * shape[None, :]
        for e in self.effects:
            if e.kind == EFFECT_DEMAND and e.start_s <= t_s < e.end_s:
                out[:, e.cells] *= e.magnitude[:, None]
        return out

    def capacity_factor(self, t_s: float) -> np.ndarray:
        """Share of each cell's instances that are up at t, float[R, C]; restored ones need startup time."""
        f = np.ones((self.replicas, len(self.cells)))
        for e in self.effects:
            if e.kind != EFFECT_CAPACITY or t_s < e.start_s:
                continue
            ends = e.end_s + self.startup_time[:, e.cells]  # (R, k)
            active = t_s < ends
            f[:, e.cells] *= np.where(active, 1.0 - e.magnitude[:, None], 1.0)
        return f

    def added_latency(self, t_s: float) -> np.ndarray:
        """Extra own work per request at t, float[R, C] seconds."""
        out = np.zeros((self.replicas, len(self.cells)))
        for e in self.effects:
            if e.kind == EFFECT_LATENCY and e.start_s <= t_s < e.end_s:
                out[:, e.cells] += e.magnitude[:, None]
        return out

    def error_fraction(self, t_s: float) -> np.ndarray:
        """Share of responses that are injected errors at t, float[R, C]."""
        ok = np.ones((self.replicas, len(self.cells)))
        for e in self.effects:
            if e.kind == EFFECT_ERRORS and e.start_s <= t_s < e.end_s:
                ok[:, e.cells] *= 1.0 - e.magnitude[:, None]
        return 1.0 - ok

    def change_times(self) -> list[float]:
        """Times at which a fault starts or ends, or restored instances come back after their startup
        time (any replica's), within the run."""
        ts = {0.0}
        for e in self.effects:
            ts.add(e.start_s)
            if np.isfinite(e.end_s):
                ts.add(e.end_s)
                if e.kind == EFFECT_CAPACITY:
                    ts.update((e.end_s + self.startup_time[:, e.cells]).ravel().tolist())
        return sorted(t for t in ts if 0 <= t <= self.duration_s)


    def link_names(self) -> tuple[str, ...]:
        """A readable name per link: ``caller cell -> callee service``, ``tenant:name -> entry service``."""
        out = []
        for lk, e in enumerate(self.link_edge):
            c = self.link_cell[lk]
            caller = self.cells[c] if c >= 0 else f"tenant:{self.tenants[self.edge_tenant[e]]}"
            out.append(f"{caller} -> {self.services[self.edge_callee[e]]}")
        return tuple(out)

    def link_budget_cap(self) -> np.ndarray:
        """Tokens each link's retry budget holds at most, float[R, L]: ``burst`` per calling instance
        (a tenant's clients share one bucket of ``burst``); 0 where the call has no budget."""
        burst = self.budget_burst[self.link_edge][None, :]
        callers = np.where(self.link_cell >= 0, self.link_cell, 0)
        return burst * np.where(self.link_cell[None, :] >= 0, self.instances[:, callers], 1.0)

    def replica_change_times(self) -> np.ndarray:
        """Each replica's own change times, and when its load balancers see them, float[R, n] (row-sorted,
        NaN where an effect does nothing in that replica).

        A replica's coarse steps must not span one; the union over replicas would make replica k's steps
        depend on how many replicas run.
        """
        r = self.replicas
        cols = [np.zeros((r, 1))]
        for e in self.effects:
            # an effect that changes nothing in this replica (size 0; a demand factor of 1) is NaN
            acts = ((e.magnitude != 1.0) if e.kind == EFFECT_DEMAND else (e.magnitude > 0.0))[:, None]
            cols.append(np.where(acts, e.start_s, np.nan))
            if np.isfinite(e.end_s):
                cols.append(np.where(acts, e.end_s, np.nan))
                if e.kind == EFFECT_CAPACITY:
                    cols.append(np.where(acts, e.end_s + self.startup_time[:, e.cells], np.nan))
        if self.controls is not None:
            cols.append(self.controls.scripted_times(r))
        ts = np.concatenate(cols, axis=1)
        return np.sort(np.concatenate([ts, ts + self.lb_detect_s], axis=1), axis=1)


def route_weights(net: Network, healthy_share: np.ndarray) -> np.ndarray:
    """Share of each link's calls sent along each route, float[R, P].

    Zone-local first: the local cell keeps the share of its instances that are healthy (as the caller's
    load balancer sees them); the rest spills to the other candidate cells in proportion to their healthy
    capacity. Links with no local cell (entries, cross-region calls) split by healthy capacity. If no
    candidate is healthy, calls go by nominal capacity (and fail there).
    """
    r = healthy_share.shape[0]
    cap = (net.servers * healthy_share)[:, net.route_cell]  # (R, P)
    nominal = net.servers[:, net.route_cell]
    n_links = len(net.link_edge)
    local = net.route_local
    remote_cap = np.where(local[None, :], 0.0, cap)
    remote_tot = np.zeros((r, n_links))
    np.add.at(remote_tot.T, net.route_link, remote_cap.T)
    nominal_tot = np.zeros((r, n_links))
    np.add.at(nominal_tot.T, net.route_link, np.where(local[None, :], 0.0, nominal).T)
    has_local = np.zeros(n_links, bool)
    has_local[net.route_link[local]] = True
    local_share = np.zeros((r, n_links))
    local_share[:, net.route_link[local]] = healthy_share[:, net.route_cell[local]]
    local_share[:, ~has_local] = 0.0
    spill = 1.0 - local_share
    rt = remote_tot[:, net.route_link]
    remote_w = np.where(rt > 0, remote_cap / np.where(rt > 0, rt, 1.0), 0.0)
    # nobody healthy remotely: a link without a local cell still sends by nominal capacity
    nt = nominal_tot[:, net.route_link]
    fallback = np.where(nt > 0, nominal / np.where(nt > 0, nt, 1.0), 0.0)
    no_remote = (rt <= 0) & ~has_local[net.route_link][None, :]
    remote_w = np.where(no_remote, fallback, remote_w)
    w = np.where(local[None, :], local_share[:, net.route_link], spill[:, net.route_link] * remote_w)
    # a local cell with nowhere to spill keeps the calls (they fail there)
    keep = local[None, :] & (rt <= 0)
    return np.where(keep, 1.0, w)
