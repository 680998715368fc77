"""Model controllers, fleets and scenario actions -> :class:`~outagesim.engine.controls.Controls`.

Names become network cell and link numbers here, as in compile.py; uncertain values are drawn per replica
with the same ``draw`` (so a variant sees the same draws as the base).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import ScenarioError
from ..model import Model, Scenario
from ..model.actions import AddCapacity, Restart, Throttle
from ..model.names import resolve_prefixed, resolve_target
from ..model.quantities import central, parse_offset
from ..model.scenario import BadArtifact, DnsRecordEmptied
from .controls import (
    ADD_CAPACITY,
    RESTART,
    THROTTLE,
    ActionSpec,
    ArtifactSpec,
    AutoscalerSpec,
    Controls,
    DnsSpec,
    FailoverSpec,
    FleetSpec,
    HealthCheckSpec,
    MonitorSpec,
    OperatorSpec,
)

Draw = Callable[..., np.ndarray]


class _Index:
    """Cells and links of the compiled network, by service and tenant."""

    def __init__(self, model: Model, cells: list[str], cell_service: np.ndarray, cell_zone: np.ndarray,
                 zones: list[str], link_edge: np.ndarray, edge_callee: np.ndarray, edge_tenant: np.ndarray,
                 edge_caller: np.ndarray, edge_order: np.ndarray):
        self.model, self.cells, self.zones = model, cells, zones
        self.services = list(model.services)
        self.cell_service, self.cell_zone = cell_service, cell_zone
        self.link_callee = edge_callee[link_edge]
        self.link_tenant = np.where(edge_caller[link_edge] < 0, edge_tenant[link_edge], -1)
        self.link_order = edge_order[link_edge]

    def service_cells(self, service: str) -> np.ndarray:
        return np.flatnonzero(self.cell_service == self.services.index(service))

    def target_cells(self, name: str) -> np.ndarray:
        t = resolve_target(self.model, name)
        zset = {self.zones.index(z) for z in t.zones}
        sset = {self.services.index(s) for s in t.services}
        return np.array([c for c in range(len(self.cells))
                         if self.cell_zone[c] in zset and (not sset or self.cell_service[c] in sset)], np.int64)

    def links_into(self, service: str) -> np.ndarray:
        return np.flatnonzero(self.link_callee == self.services.index(service))

    def tenant_links(self, tenant: str) -> np.ndarray:
        return np.flatnonzero(self.link_tenant == list(self.model.tenants).index(tenant))


def compile_controls(model: Model, scenario: Scenario, draw: Draw, ix: _Index, startup: np.ndarray) -> Controls:
    """``startup`` is float[R, C], each cell's restart time (a restart action lasts that long)."""
    ctl = model.controllers
    r = draw.replicas
    actions: list[ActionSpec] = []
    for a, act in scenario.actions.items():
        start = parse_offset(act.at, scenario.anchor)
        actions.append(_action(a, act, np.full(r, start), -1, draw, ix, startup, f"actions.{a}"))
    monitors = tuple(_monitor(m, mon, ix) for m, mon in ctl.monitors.items())
    mon_ix = {m: i for i, m in enumerate(ctl.monitors)}
    operators = []
    for o, op in ctl.operators.items():
        operators.append(OperatorSpec(o, np.array([mon_ix[m] for m in op.alerted_by], np.int64),
                                      draw(op.decision_delay, f"controllers.operators.{o}.decision_delay")))
        for a, act in op.actions.items():
            actions.append(_action(f"{o}.{a}", act, np.full(r, math.inf), len(operators) - 1, draw, ix, startup,
                                   f"controllers.operators.{o}.actions.{a}"))
    checks = tuple(
        HealthCheckSpec(h, ix.service_cells(hc.target), tuple(ix.service_cells(s) for s in hc.probe_path),
                        hc.deep, hc.unhealthy_after, hc.unhealthy_after * hc.interval, hc.healthy_after * hc.interval,
                        math.inf if hc.fail_open is None else hc.fail_open,
                        math.inf if hc.max_removal_per_minute is None else hc.max_removal_per_minute / 60.0)
        for h, hc in ctl.health_checks.items())
    failovers = tuple(_failover(t, ten, ix) for t, ten in model.tenants.items() if ten.failover is not None)
    scalers = tuple(
        AutoscalerSpec(a, ix.service_cells(asg.target),
                       ix.service_cells(asg.control_plane) if asg.control_plane else np.zeros(0, np.int64),
                       asg.utilisation, asg.min, asg.max, asg.interval,
                       draw(asg.launch_time, f"controllers.autoscalers.{a}.launch_time"),
                       math.inf if asg.max_launch_per_minute is None else asg.max_launch_per_minute * asg.interval / 60)
        for a, asg in ctl.autoscalers.items())
    return Controls(tuple(actions), monitors, tuple(operators), checks, _dns(model, scenario, ix),
                    _fleets(model, scenario, draw, ix), failovers, scalers)


def _failover(name, ten, ix: _Index) -> FailoverSpec:
    links = ix.tenant_links(name)
    primary = links[ix.link_order[links] < len(ten.entry)]
    standby = links[ix.link_order[links] >= len(ten.entry)]
    total = sum(ten.entry.values())
    share = np.array([list(ten.entry.values())[ix.link_order[lk]] / total for lk in primary])
    st_total = sum(ten.failover.standby.values()) or 1.0
    st_share = np.array([list(ten.failover.standby.values())[ix.link_order[lk] - len(ten.entry)] / st_total
                         for lk in standby])
    fo = ten.failover
    return FailoverSpec(name, list(ix.model.tenants).index(name), fo.mode == "active-active", primary, share,
                        standby, st_share, central(fo.detect), fo.threshold)


def _action(name, act, start, operator, draw, ix: _Index, startup, path) -> ActionSpec:
    r = draw.replicas
    no_links = np.zeros(0, np.int64)
    cells = no_links
    if isinstance(act, Throttle):
        kind, mag = THROTTLE, draw(act.admit, f"{path}.admit")
        if act.target.startswith("tenant:"):
            links = ix.tenant_links(resolve_prefixed(ix.model, act.target, "tenant"))
        else:  # a service: every call and entry into it
            links = ix.links_into(act.target)
    else:
        links = no_links
        cells = ix.target_cells(act.target)
        if isinstance(act, Restart):
            kind, mag = RESTART, np.zeros(r)
        elif isinstance(act, AddCapacity):
            kind, mag = ADD_CAPACITY, draw(act.fraction, f"{path}.fraction")
        else:  # pragma: no cover - the Action union is closed
            raise ScenarioError(f"{path}: unknown action kind {act.kind!r}")
    if isinstance(act, Restart):
        duration = startup[:, cells].max(axis=1) if cells.size else np.zeros(r)
    elif isinstance(act, AddCapacity):
        duration = draw(act.launch_time, f"{path}.launch_time")  # instances serve from start + launch_time
    else:
        duration = np.full(r, math.inf) if act.duration is None else draw(act.duration, f"{path}.duration")
    return ActionSpec(name, kind, act.target, cells, links, start, draw(act.after, f"{path}.after"), duration,
                      mag, operator)


def _monitor(name, mon, ix: _Index) -> MonitorSpec:
    if mon.watches.startswith("tenant:"):
        cells, tenant = np.zeros(0, np.int64), list(ix.model.tenants).index(mon.watches.split(":", 1)[1])
    else:
        cells, tenant = ix.service_cells(mon.watches), -1
    return MonitorSpec(name, cells, tenant, tuple(ix.service_cells(s) for s in mon.depends_on),
                       mon.kind == "external", mon.threshold, mon.sustain, mon.interval)


def _dns(model: Model, scenario: Scenario, ix: _Index) -> tuple[DnsSpec, ...]:
    out = []
    for d, rec in model.controllers.dns_records.items():
        windows = []
        for f, fault in scenario.faults.items():
            if isinstance(fault, DnsRecordEmptied) and resolve_prefixed(model, fault.target, "dns") == d:
                t0 = parse_offset(fault.at, scenario.anchor)
                windows.append((f, t0, math.inf if fault.duration is None else t0 + central(fault.duration)))
        out.append(DnsSpec(d, ix.links_into(rec.service), rec.ttl,
                           rec.ttl if rec.negative_ttl is None else rec.negative_ttl, tuple(windows)))
    return tuple(out)


def _fleets(model: Model, scenario: Scenario, draw: Draw, ix: _Index) -> tuple[FleetSpec, ...]:
    out = []
    for f, fl in model.fleets.items():
        arts = []
        for name, fault in scenario.faults.items():
            if not isinstance(fault, BadArtifact):
                continue
            if fault.target.startswith("vendor:"):
                hit = resolve_prefixed(model, fault.target, "vendor") in fl.agents
            else:
                hit = resolve_prefixed(model, fault.target, "fleet") == f
            if hit:
                t0 = parse_offset(fault.at, scenario.anchor)
                t1 = math.inf if fault.duration is None else t0 + central(fault.duration)
                arts.append(ArtifactSpec(name, t0, t1, np.clip(draw(fault.crash_share, f"faults.{name}.crash_share"),
                                                               0.0, 1.0)))
        online = np.full(24, fl.online_share) if isinstance(fl.online_share, float) else np.array(fl.online_share)
        cells = [ix.service_cells(s) for s, svc in model.services.items() if svc.runs_on == f]
        ro, rp = fl.rollout, fl.repair
        out.append(FleetSpec(
            f, draw(fl.hosts, f"fleets.{f}.hosts"), online, fl.encrypted_share, fl.reboot_interval,
            fl.fix_per_reboot, np.array(ro.waves, float), ro.bake,
            math.inf if ro.rollback_at is None else ro.rollback_at, ro.rollback_delay,
            draw(rp.hosts_per_hour, f"fleets.{f}.repair.hosts_per_hour") / 3600.0,
            draw(rp.starts_after, f"fleets.{f}.repair.starts_after"), rp.encrypted_slowdown,
            np.concatenate(cells) if cells else np.zeros(0, np.int64), tuple(arts)))
    return tuple(out)
