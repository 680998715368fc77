"""Checks on controllers, fleets and actions: every name they use must be a thing of the model.

Split from checks.py (the call-graph and value checks) so each file stays about one concern.
"""

from __future__ import annotations

from typing import Any

from ..errors import Problem
from ._problems import _problem, _range, check_time
from ._source import Locate, Path
from .actions import AddCapacity, Restart, Throttle
from .names import did_you_mean, resolve_prefixed, resolve_target
from .quantities import central
from .scenario import BadArtifact, DemandSurge, DnsRecordEmptied, Scenario
from .system import Model


def _service(model: Model, locate: Locate, path: Path, name: str) -> list[Problem]:
    if name in model.services:
        return []
    return [_problem(locate, path, "the name of a service", f"'{name}', which is not a service",
                     did_you_mean(name, model.services))]


def _prefixed(model: Model, locate: Locate, path: Path, name: str, prefix: str, what: str) -> list[Problem]:
    try:
        resolve_prefixed(model, name, prefix)
    except KeyError as exc:
        message, _, hint = str(exc.args[0]).partition("; ")
        return [_problem(locate, path, what, f"'{name}' ({message})", hint)]
    return []


def check_controllers(model: Model, locate: Locate) -> list[Problem]:
    """Monitors, operators, health checks, DNS records and fleets name services, monitors and vendors
    that exist."""
    out: list[Problem] = []
    ctl = model.controllers
    for m, mon in ctl.monitors.items():
        p: Path = ("controllers", "monitors", m)
        if mon.kind == "external" and mon.depends_on:
            out.append(_problem(locate, p + ("depends_on",), "no depends_on for an external probe (it does not "
                                "share fate with what it watches)", f"{mon.depends_on}"))
        if mon.kind == "internal" and "interval" in mon.model_fields_set:
            out.append(_problem(locate, p + ("interval",), "no interval for an internal monitor (it reads "
                                "continuously; probes that sample are kind: external)", f"{mon.interval:g} s"))
        if mon.watches.startswith("tenant:"):
            out += _prefixed(model, locate, p + ("watches",), mon.watches, "tenant", "a service or 'tenant:NAME'")
        else:
            out += _service(model, locate, p + ("watches",), mon.watches)
        for i, dep in enumerate(mon.depends_on):
            out += _service(model, locate, p + ("depends_on", i), dep)
    for o, op in ctl.operators.items():
        p = ("controllers", "operators", o)
        out += _range(locate, p + ("decision_delay",), op.decision_delay, "a delay >= 0", low=0)
        for i, mon in enumerate(op.alerted_by):
            if mon not in ctl.monitors:
                out.append(_problem(locate, p + ("alerted_by", i), "the name of a monitor",
                                    f"'{mon}', which is not a monitor", did_you_mean(mon, ctl.monitors)))
        for a, act in op.actions.items():
            if act.at is not None:
                out.append(_problem(locate, p + ("actions", a, "at"), "'after' (a delay from the decision)",
                                    "'at', which only scenario actions have"))
            out += check_action(model, locate, p + ("actions", a), act)
    for h, hc in ctl.health_checks.items():
        p = ("controllers", "health_checks", h)
        out += _service(model, locate, p + ("target",), hc.target)
        for i, dep in enumerate(hc.probe_path):
            out += _service(model, locate, p + ("probe_path", i), dep)
    for a, asg in ctl.autoscalers.items():
        p = ("controllers", "autoscalers", a)
        out += _service(model, locate, p + ("target",), asg.target)
        if asg.control_plane is not None:
            out += _service(model, locate, p + ("control_plane",), asg.control_plane)
        if asg.max < asg.min:
            out.append(_problem(locate, p + ("max",), f"a max at least min ({asg.min:g})", f"{asg.max:g}"))
        out += _range(locate, p + ("launch_time",), asg.launch_time, "a launch time >= 0", low=0)
    for d, rec in ctl.dns_records.items():
        out += _service(model, locate, ("controllers", "dns_records", d, "service"), rec.service)
    for s, svc in model.services.items():
        out += _range(locate, ("services", s, "state_size"), svc.state_size, "a state size >= 0", low=0)
        out += _range(locate, ("services", s, "startup_per_state"), svc.startup_per_state, "a time >= 0", low=0)
        if svc.runs_on is not None and svc.runs_on not in model.fleets:
            out.append(_problem(locate, ("services", s, "runs_on"), "the name of a fleet",
                                f"'{svc.runs_on}', which is not a fleet", did_you_mean(svc.runs_on, model.fleets)))
    for t, ten in model.tenants.items():
        if ten.failover and ten.failover.mode == "active-active" and ten.failover.standby:
            out.append(_problem(locate, ("tenants", t, "failover", "standby"), "no standby for active-active "
                                "failover (it spreads over the 'entry' services)", f"{list(ten.failover.standby)}"))
        for e in ten.failover.standby if ten.failover else ():
            out += _service(model, locate, ("tenants", t, "failover", "standby", e), e)
    for f, fleet in model.fleets.items():
        out += _range(locate, ("fleets", f, "hosts"), fleet.hosts, "a number of hosts >= 0", low=0)
        out += _range(locate, ("fleets", f, "repair", "hosts_per_hour"), fleet.repair.hosts_per_hour,
                      "hosts per hour >= 0", low=0)
        out += _range(locate, ("fleets", f, "repair", "starts_after"), fleet.repair.starts_after, "a delay >= 0",
                      low=0)
        for i, v in enumerate(fleet.agents):
            if v not in model.vendors:
                out.append(_problem(locate, ("fleets", f, "agents", i), "the name of a vendor",
                                    f"'{v}', which is not a vendor", did_you_mean(v, model.vendors)))
    return out


def check_action(model: Model, locate: Locate, path: Path, act: Any) -> list[Problem]:
    """An action's target is a service or cell (a throttle may also name 'tenant:NAME'); shares in range."""
    out: list[Problem] = []
    if isinstance(act, Throttle) and act.target.startswith("tenant:"):
        out += _prefixed(model, locate, path + ("target",), act.target, "tenant", "a service or 'tenant:NAME'")
    elif isinstance(act, Throttle):
        if act.target not in model.services:
            out.append(_problem(locate, path + ("target",), "a service or 'tenant:NAME' (a throttle guards a "
                                "service's front door)", f"'{act.target}'", did_you_mean(act.target, model.services)))
    else:
        try:
            target = resolve_target(model, act.target)
        except KeyError as exc:
            message, _, hint = str(exc.args[0]).partition("; ")
            out.append(_problem(locate, path + ("target",), "a service or cell of the model",
                                f"'{act.target}' ({message})", hint))
        else:
            if target.kind not in ("service", "cell"):
                out.append(_problem(locate, path + ("target",), f"a service or cell for kind '{act.kind}'",
                                    f"'{act.target}', a {target.kind}"))
    if isinstance(act, Throttle):
        out += _range(locate, path + ("admit",), act.admit, "a share from 0 to 1", low=0, high=1)
    if isinstance(act, AddCapacity):
        out += _range(locate, path + ("fraction",), act.fraction, "a share of instances >= 0", low=0)
        out += _range(locate, path + ("launch_time",), act.launch_time, "a launch time >= 0", low=0)
    if isinstance(act, AddCapacity | Restart) and act.duration is not None:
        out.append(_problem(locate, path + ("duration",), f"no duration for kind '{act.kind}' (" + (
            "a restart lasts the service's startup time" if isinstance(act, Restart) else
            "added instances stay; launch_time says when they serve") + ")", f"{central(act.duration):g} s"))
    out += _range(locate, path + ("after",), act.after, "a delay >= 0", low=0)
    if act.duration is not None:
        out += _range(locate, path + ("duration",), act.duration, "a duration above 0", low=0, strict=True)
    return out


def check_scripted(scenario: Scenario, model: Model | None, locate: Locate) -> list[Problem]:
    """Scenario actions need an 'at' within the run and, with a model, a target it has."""
    out: list[Problem] = []
    for a, act in scenario.actions.items():
        p: Path = ("actions", a)
        if "after" in act.model_fields_set:
            out.append(_problem(locate, p + ("after",), "'at' (scenario actions run at a time; 'after' is for "
                                "operators' actions)", f"{central(act.after):g} s"))
        if act.at is None:
            out.append(_problem(locate, p, "an 'at' time (offset, duration or UTC)", "none"))
        else:
            out += check_time(locate, p + ("at",), act.at, scenario, "action")
        if model is not None:
            out += check_action(model, locate, p, act)
    return out


def special_target(model: Model, name: str, fault: Any, locate: Locate) -> list[Problem] | None:
    """Targets of the faults that name a DNS record, a fleet or a vendor; None for other faults."""
    path: Path = ("faults", name, "target")
    if isinstance(fault, DnsRecordEmptied):
        return _prefixed(model, locate, path, fault.target, "dns", "'dns:RECORD', a record of controllers.dns_records")
    if isinstance(fault, DemandSurge):
        return (_prefixed(model, locate, path, fault.target, "tenant", "'tenant:NAME'")
                + _range(locate, ("faults", name, "factor"), fault.factor, "a demand multiplier >= 0", low=0))
    if isinstance(fault, BadArtifact):
        prefix = "vendor" if fault.target.startswith("vendor:") else "fleet"
        return _prefixed(model, locate, path, fault.target, prefix, "'fleet:NAME' or 'vendor:NAME'")
    return None
