"""Model + Scenario -> Network: the only place names become integers and uncertain values become draws.

Each replica k draws each uncertain parameter from a generator seeded by ``SeedSequence(seed,
spawn_key=(k, hash(path)))``: replica k's draws do not depend on how many replicas run, nor on which
other parameters are uncertain, so a variant sees the same draws as the base (common random numbers).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from ..errors import ScenarioError
from ..model import Model, Scenario
from ..model.names import qualified_zones, resolve_prefixed, resolve_target, resolve_zone
from ..model.quantities import central, is_uncertain, parse_offset
from ..model.scenario import (
    BadArtifact,
    CapacityLoss,
    CapacityRemoval,
    DemandSurge,
    DnsRecordEmptied,
    ErrorInjection,
    LatencyInjection,
)
from ..record import Event
from .compile_controls import _Index, compile_controls
from .mechanisms.capacity_tool import removal_steps
from .network import (
    EFFECT_CAPACITY,
    EFFECT_DEMAND,
    EFFECT_ERRORS,
    EFFECT_LATENCY,
    JITTER_EQUAL,
    JITTER_FULL,
    JITTER_NONE,
    Effect,
    Network,
)

LB_DETECT_S = 10.0  # how long a caller's load balancer takes to notice unhealthy instances
_JITTER = {"none": JITTER_NONE, "full": JITTER_FULL, "equal": JITTER_EQUAL}


class _Draws:
    """Per-replica values of possibly uncertain parameters."""

    def __init__(self, seed: int, replicas: int, first: int = 0):
        self.seed, self.replicas, self.first = seed, replicas, first

    def __call__(self, value, path: str) -> np.ndarray:
        if not is_uncertain(value):
            return np.full(self.replicas, float(value))
        key = int.from_bytes(hashlib.blake2b(path.encode(), digest_size=4).digest(), "little")
        out = np.empty(self.replicas)
        for k in range(self.replicas):
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(self.first + k, key)))
            out[k] = value.draw(rng)
        return out


def shortest_timeout(model: Model) -> float:
    """The shortest timeout on any sync call or tenant client (sets the age-bin width)."""
    ts = [central(c.timeout) for s in model.services.values() for c in s.calls.values() if c.timeout]
    ts += [central(t.client.timeout) for t in model.tenants.values()]
    return min(ts) if ts else 1.0


def compile_network(model: Model, scenario: Scenario, *, replicas: int = 1, seed: int = 0,
                    first_replica: int = 0) -> Network:
    """Freeze a validated model and scenario into arrays for replicas first_replica, ... (``replicas`` of them).

    Replica k's draws depend only on (seed, k), so a run split into replica ranges gives the same numbers.
    """
    draw = _Draws(seed, replicas, first_replica)
    zones = qualified_zones(model)
    zone_ix = {z: i for i, z in enumerate(zones)}
    regions = sorted({z.rsplit("/", 1)[0] for z in zones})
    region_ix = {r: i for i, r in enumerate(regions)}
    services = list(model.services)
    svc_ix = {s: i for i, s in enumerate(services)}

    cells, cell_service, cell_zone = [], [], []
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("inst", "conc", "mean", "cv", "start")}
    qlimit, lifo, drop, shed, cache = [], [], [], [], []
    for s, svc in model.services.items():
        for zname, count in svc.instances.items():
            q = resolve_zone(model, zname)
            cells.append(f"{s}@{q}")
            cell_service.append(svc_ix[s])
            cell_zone.append(zone_ix[q])
            cols["inst"].append(draw(count, f"services.{s}.instances.{zname}"))
            cols["conc"].append(draw(svc.concurrency, f"services.{s}.concurrency"))
            cols["mean"].append(draw(svc.service_time.mean, f"services.{s}.service_time.mean"))
            cols["cv"].append(draw(svc.service_time.cv, f"services.{s}.service_time.cv"))
            cols["start"].append(draw(svc.startup_time, f"services.{s}.startup_time")
                                 + draw(svc.state_size, f"services.{s}.state_size")
                                 * draw(svc.startup_per_state, f"services.{s}.startup_per_state"))
            qlimit.append(math.inf if svc.queue.limit is None else float(svc.queue.limit))
            lifo.append(svc.queue.discipline == "lifo")
            drop.append(svc.queue.drop_expired)
            shed.append(math.inf if svc.queue.max_wait is None else float(svc.queue.max_wait))
            cache.append((svc.cache.hit_ratio, svc.cache.warmup) if svc.cache else (0.0, 1.0))
    stack = {k: np.stack(v, axis=1) for k, v in cols.items()}
    cell_service_a = np.array(cell_service, dtype=np.int64)
    cell_zone_a = np.array(cell_zone, dtype=np.int64)
    zone_region = np.array([region_ix[z.rsplit("/", 1)[0]] for z in zones], dtype=np.int64)

    # edges: service calls first (in YAML order per caller), then tenant entries
    e_cols: dict[str, list] = {k: [] for k in (
        "caller", "tenant", "callee", "order", "perreq", "sync", "hard", "parallel", "timeout", "att",
        "base", "mult", "cap", "jitter", "deadline", "budget_ratio", "budget_burst", "breaker")}

    def add_edge(caller, tenant, callee, order, perreq, mode, required, parallel, timeout, retry, path,
                 breaker=None):
        e_cols["caller"].append(caller)
        e_cols["tenant"].append(tenant)
        e_cols["callee"].append(callee)
        e_cols["order"].append(order)
        e_cols["perreq"].append(draw(perreq, f"{path}.per_request"))
        e_cols["sync"].append(mode == "sync")
        e_cols["hard"].append(required == "hard")
        e_cols["parallel"].append(parallel)
        e_cols["timeout"].append(draw(timeout, f"{path}.timeout") if timeout is not None
                                 else np.full(replicas, math.inf))
        e_cols["att"].append(retry.max_attempts)
        e_cols["base"].append(draw(retry.backoff.base, f"{path}.retry.backoff.base"))
        e_cols["mult"].append(retry.backoff.multiplier)
        e_cols["cap"].append(draw(retry.backoff.cap, f"{path}.retry.backoff.cap"))
        e_cols["jitter"].append(_JITTER[retry.jitter])
        e_cols["budget_ratio"].append(retry.budget.ratio if retry.budget else 0.0)
        e_cols["budget_burst"].append(retry.budget.burst if retry.budget else 0.0)
        b = breaker
        e_cols["breaker"].append((b.error_threshold, b.window, b.min_requests, b.open_time, b.half_open_probes)
                                 if b else (0.0, 1.0, 1.0, 0.0, 0))
        e_cols["deadline"].append(draw(retry.deadline, f"{path}.retry.deadline") if retry.deadline is not None
                                  else np.full(replicas, math.inf))

    for s, svc in model.services.items():
        for order, (callee, call) in enumerate(svc.calls.items()):
            add_edge(svc_ix[s], -1, svc_ix[callee], order, call.per_request, call.mode, call.required,
                     call.parallel, call.timeout, call.retry, f"services.{s}.calls.{callee}",
                     call.circuit_breaker)
    tenants = list(model.tenants)
    for t_i, (t, ten) in enumerate(model.tenants.items()):
        total = sum(ten.entry.values())
        for order, (entry, share) in enumerate(ten.entry.items()):
            add_edge(-1, t_i, svc_ix[entry], order, share / total, "sync", "hard", False,
                     ten.client.timeout, ten.client.retry, f"tenants.{t}.client")
        standby = ten.failover.standby if ten.failover else {}
        for order, entry in enumerate(standby, start=len(ten.entry)):  # idle until the tenant fails over
            add_edge(-1, t_i, svc_ix[entry], order, 0.0, "sync", "hard", False,
                     ten.client.timeout, ten.client.retry, f"tenants.{t}.client")

    def ints(k):
        return np.array(e_cols[k], dtype=np.int64)

    def per_replica(k):
        return np.stack(e_cols[k], axis=1) if e_cols[k] else np.zeros((replicas, 0))

    # links and routes
    cells_of = {i: [c for c in range(len(cells)) if cell_service[c] == i] for i in range(len(services))}
    link_edge, link_cell, route_link, route_cell, route_local = [], [], [], [], []
    for e, (caller, callee) in enumerate(zip(e_cols["caller"], e_cols["callee"], strict=True)):
        callers = cells_of[caller] if caller >= 0 else [-1]
        for cc in callers:
            link = len(link_edge)
            link_edge.append(e)
            link_cell.append(cc)
            targets = cells_of[callee]
            if cc >= 0:
                same_region = [c for c in targets if zone_region[cell_zone[c]] == zone_region[cell_zone[cc]]]
                targets = same_region or targets
            for c in targets:
                route_link.append(link)
                route_cell.append(c)
                route_local.append(cc >= 0 and cell_zone[c] == cell_zone[cc])

    # tenants
    t_peak = [draw(ten.demand.peak_rps, f"tenants.{t}.demand.peak_rps") for t, ten in model.tenants.items()]
    shapes = []
    for ten in model.tenants.values():
        shp = np.ones(24) if ten.demand.daily_shape is None else np.array(ten.demand.daily_shape, float)
        shapes.append(shp / shp.max())

    dt = scenario.dt if scenario.dt is not None else shortest_timeout(model) / 5
    if dt <= 0:
        raise ScenarioError(f"dt must be positive, found {dt}")
    notes: list[Event] = []  # what compiling the scenario decided (the capacity tool's cuts)
    effects = tuple(_effects(model, scenario, draw, cells, cell_service, cell_zone, zones, services, notes))
    index = _Index(model, cells, cell_service_a, cell_zone_a, zones, np.array(link_edge, np.int64), ints("callee"),
                   ints("tenant"), ints("caller"), ints("order"))
    controls = compile_controls(model, scenario, draw, index, stack["start"])

    return Network(
        replicas=replicas, seed=seed, first_replica=first_replica,
        zones=tuple(zones), zone_region=zone_region, regions=tuple(regions),
        services=tuple(services), service_kind=tuple(s.kind for s in model.services.values()),
        cells=tuple(cells), cell_service=cell_service_a, cell_zone=cell_zone_a,
        instances=stack["inst"], concurrency=stack["conc"], service_time_mean=stack["mean"],
        service_time_cv=stack["cv"], startup_time=stack["start"],
        queue_limit=np.array(qlimit), lifo=np.array(lifo, bool), drop_expired=np.array(drop, bool),
        max_wait=np.array(shed, float), cache=np.array(cache, float).reshape(-1, 2),
        propagate_deadline=np.array([svc.propagate_deadline for svc in model.services.values()], bool),
        edge_caller=ints("caller"), edge_tenant=ints("tenant"), edge_callee=ints("callee"),
        edge_order=ints("order"), per_request=per_replica("perreq"),
        sync=np.array(e_cols["sync"], bool), hard=np.array(e_cols["hard"], bool),
        parallel=np.array(e_cols["parallel"], bool), timeout=per_replica("timeout"),
        max_attempts=ints("att"), backoff_base=per_replica("base"),
        backoff_multiplier=np.array(e_cols["mult"], float), backoff_cap=per_replica("cap"),
        jitter=ints("jitter"), deadline=per_replica("deadline"),
        budget_ratio=np.array(e_cols["budget_ratio"], float), budget_burst=np.array(e_cols["budget_burst"], float),
        breaker=np.array(e_cols["breaker"], float).reshape(-1, 5),
        link_edge=np.array(link_edge, np.int64), link_cell=np.array(link_cell, np.int64),
        route_link=np.array(route_link, np.int64), route_cell=np.array(route_cell, np.int64),
        route_local=np.array(route_local, bool),
        tenants=tuple(tenants),
        peak_rps=np.stack(t_peak, axis=1) if t_peak else np.zeros((replicas, 0)),
        daily_shape=np.array(shapes).reshape(len(tenants), 24),
        noise_sigma=np.array([t.demand.noise.sigma for t in model.tenants.values()]),
        noise_tau=np.array([t.demand.noise.correlation_time for t in model.tenants.values()]),
        users_per_rps=np.array([t.users_per_rps for t in model.tenants.values()]),
        value_per_failed=np.array([t.value.per_failed_request for t in model.tenants.values()]),
        value_per_minute_down=np.array([t.value.per_minute_down for t in model.tenants.values()]),
        anchor=scenario.anchor, duration_s=scenario.duration, dt_s=dt,
        record_every_s=scenario.record_every, lb_detect_s=LB_DETECT_S, effects=effects,
        max_dt_s=scenario.max_dt or 0.0, control_every_s=scenario.control_every or 0.0,
        notes=tuple(notes), controls=None if controls.empty() else controls,
    )


def _effects(model, scenario, draw, cells, cell_service, cell_zone, zones, services, notes):
    for name, fault in scenario.faults.items():
        if isinstance(fault, DnsRecordEmptied | BadArtifact):  # controllers act on these (compile_controls.py)
            continue
        if isinstance(fault, DemandSurge):
            start = parse_offset(fault.at, scenario.anchor)
            end = math.inf if fault.duration is None else start + central(fault.duration)
            tenant = np.array([list(model.tenants).index(resolve_prefixed(model, fault.target, "tenant"))])
            yield Effect(name, EFFECT_DEMAND, start, end, tenant,
                         np.clip(draw(fault.factor, f"faults.{name}.factor"), 0.0, None))
            continue
        try:
            target = resolve_target(model, fault.target)
        except KeyError as exc:
            raise ScenarioError(f"faults.{name}.target: {exc.args[0]}") from None
        start = parse_offset(fault.at, scenario.anchor)
        end = math.inf if fault.duration is None else start + central(fault.duration)
        zset = {zones.index(z) for z in target.zones}
        sset = {services.index(s) for s in target.services} if target.services else None
        hit = np.array([c for c in range(len(cells))
                        if cell_zone[c] in zset and (sset is None or cell_service[c] in sset)], np.int64)
        if isinstance(fault, CapacityRemoval):
            yield from _tool_effects(model, name, draw(fault.fraction, f"faults.{name}.fraction"), start, end, hit,
                                     cell_service, services, notes, draw.first)
            continue
        if isinstance(fault, CapacityLoss):
            kind, mag = EFFECT_CAPACITY, draw(fault.fraction, f"faults.{name}.fraction")
        elif isinstance(fault, LatencyInjection):
            kind, mag = EFFECT_LATENCY, draw(fault.added, f"faults.{name}.added")
        elif isinstance(fault, ErrorInjection):
            kind, mag = EFFECT_ERRORS, draw(fault.fraction, f"faults.{name}.fraction")
        else:  # zone, region or service down
            kind, mag = EFFECT_CAPACITY, np.ones(draw.replicas)
        yield Effect(name, kind, start, end, hit, np.clip(mag, 0.0, None))


def _tool_effects(model, name, requested, start, end, hit, cell_service, services, notes, first_replica):
    """A capacity removal, per target service within its safeguards (mechanisms/capacity_tool.py).

    Where ``min_share`` cuts the request, a ``capacity_tool_limited`` note says so, per replica.
    """
    requested = np.asarray(requested, float)
    for svc in sorted({cell_service[c] for c in hit}):
        guard = model.services[services[svc]].capacity_safeguards
        min_share = guard.min_share if guard else 0.0
        for r in np.flatnonzero(requested > 1.0 - min_share + 1e-12):
            notes.append(Event(start, "capacity_tool_limited", services[svc],
                               f"{name}: removed {1 - min_share:.0%} of the {requested[r]:.0%} requested "
                               f"(min_share {min_share:g})", int(r) + first_replica))
        rate = guard.max_removal_per_minute / 60.0 if guard and guard.max_removal_per_minute else math.inf
        cells = np.array([c for c in hit if cell_service[c] == svc], np.int64)
        for t, mag in removal_steps(requested, min_share, rate, start, end):
            yield Effect(name, EFFECT_CAPACITY, t, end, cells, mag)
