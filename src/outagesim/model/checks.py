"""Checks on a validated model that pydantic cannot make alone: names, value ranges and the call graph.

Every check returns Problems; none raises. ``locate`` maps a key path to the file:line where it was
written (the loader supplies it; without it problems carry no line). The graph rules are DESIGN.md's:
no self-calls, no cycle of sync hard calls, no cycle whose fan-out gain (product of per_request, using
the median of distributions) is 1 or more; and a warning when the base case is near overload at peak.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Iterable
from typing import Any

import networkx as nx
import numpy as np

from ..errors import Problem
from ._problems import _nowhere, _problem, _range, check_time
from ._source import Locate, Path
from .controller_checks import check_controllers, check_scripted, special_target
from .names import did_you_mean, qualified_zones, resolve_target, zone_aliases
from .quantities import central
from .scenario import CapacityLoss, CapacityRemoval, ErrorInjection, RegionDown, Scenario, ServiceDown, ZoneDown
from .system import Model

MAX_CYCLES = 500  # simple cycles examined per check; the count can grow exponentially with the graph
UTILISATION_WARN = 0.9


def check_model(model: Model, locate: Locate | None = None, *,
                removed: Collection[tuple[str, str]] = ()) -> list[Problem]:
    """All static problems of a model; ``removed`` names (collection, name) items left out as invalid."""
    locate = locate or _nowhere
    problems = check_names(model, locate, removed=removed)
    problems += check_values(model, locate)
    problems += check_graph(model, locate)
    problems += check_controllers(model, locate)
    if not problems and not removed:
        problems += check_capacity(model, locate)
    return problems


def check_names(model: Model, locate: Locate, *, removed: Collection[tuple[str, str]] = ()) -> list[Problem]:
    """Callees, zones in ``instances`` and tenant entries must name things the model has."""
    out: list[Problem] = []
    services = set(model.services)
    known = services | {n for c, n in removed if c == "services"}
    check_zones = not any(c == "providers" for c, _ in removed)
    aliases = zone_aliases(model)
    shorts: dict[str, list[str]] = {}
    for q in qualified_zones(model):
        shorts.setdefault(q.rsplit("/", 1)[1], []).append(q)
    for s, svc in model.services.items():
        for callee in svc.calls:
            if callee not in known:
                out.append(_problem(locate, ("services", s, "calls", callee), "the name of a service",
                                    f"'{callee}', which is not a service", did_you_mean(callee, services)))
        seen: dict[str, str] = {}
        for z in svc.instances if check_zones else ():
            path = ("services", s, "instances", z)
            if z in aliases:
                q = aliases[z]
                if q in seen:
                    out.append(_problem(locate, path, "each zone once",
                                        f"'{z}', the same zone as '{seen[q]}'"))
                seen[q] = z
            elif len(shorts.get(z, [])) > 1:
                out.append(_problem(locate, path, "a zone name that is unique or qualified",
                                    f"'{z}', which is in several regions",
                                    "use one of " + ", ".join(shorts[z])))
            else:
                out.append(_problem(locate, path, "the name of a zone (short, or provider/region/zone)",
                                    f"'{z}', which is not a zone", did_you_mean(z, aliases)))
    for t, ten in model.tenants.items():
        for entry in ten.entry:
            if entry not in known:
                out.append(_problem(locate, ("tenants", t, "entry", entry), "the name of a service",
                                    f"'{entry}', which is not a service", did_you_mean(entry, services)))
    return out


def check_values(model: Model, locate: Locate) -> list[Problem]:
    """Counts, rates and times that must not be negative (or zero, where zero makes no sense)."""
    out: list[Problem] = []
    for s, svc in model.services.items():
        p: Path = ("services", s)
        for z, n in svc.instances.items():
            out += _range(locate, p + ("instances", z), n, "a number of instances >= 0", low=0)
        out += _range(locate, p + ("concurrency",), svc.concurrency, "workers per instance above 0",
                      low=0, strict=True)
        out += _range(locate, p + ("service_time", "mean"), svc.service_time.mean,
                      "a mean service time above 0", low=0, strict=True)
        out += _range(locate, p + ("service_time", "cv"), svc.service_time.cv, "a cv >= 0", low=0)
        out += _range(locate, p + ("startup_time",), svc.startup_time, "a startup time >= 0", low=0)
        for c, call in svc.calls.items():
            cp = p + ("calls", c)
            out += _range(locate, cp + ("per_request",), call.per_request, "calls per request >= 0", low=0)
            out += _range(locate, cp + ("timeout",), call.timeout, "a timeout above 0", low=0, strict=True)
            out += _range(locate, cp + ("retry", "deadline"), call.retry.deadline, "a deadline above 0",
                          low=0, strict=True)
    for t, ten in model.tenants.items():
        p = ("tenants", t)
        out += _range(locate, p + ("demand", "peak_rps"), ten.demand.peak_rps, "a peak rate >= 0", low=0)
        for e, share in ten.entry.items():
            out += _range(locate, p + ("entry", e), share, "a share of demand above 0", low=0, strict=True)
        out += _range(locate, p + ("client", "timeout"), ten.client.timeout, "a timeout above 0",
                      low=0, strict=True)
    return out


def call_graph(model: Model) -> nx.DiGraph:
    """Services as nodes, calls to known services as edges carrying the Call (self-calls left out)."""
    g = nx.DiGraph()
    g.add_nodes_from(model.services)
    for s, svc in model.services.items():
        for callee, call in svc.calls.items():
            if callee in model.services and callee != s:
                g.add_edge(s, callee, call=call)
    return g


def _cycles(g: nx.DiGraph) -> list[list[str]]:
    """Up to MAX_CYCLES simple cycles, each rotated to start at its smallest name, sorted."""
    found = []
    for cyc in itertools.islice(nx.simple_cycles(g), MAX_CYCLES):
        i = cyc.index(min(cyc))
        found.append(cyc[i:] + cyc[:i])
    return sorted(found)


def _strongest_cycle(g: nx.DiGraph) -> list[str] | None:
    """A cycle with gain >= 1 if there is one, found as a negative cycle of -log(per_request) weights."""
    w = nx.DiGraph()
    for a, b, d in g.edges(data=True):
        p = central(d["call"].per_request)
        if p > 0:
            w.add_edge(a, b, weight=-math.log(p) - 1e-12)  # the nudge turns gain == 1 into a negative cycle
    source = object()
    w.add_edges_from(((source, n) for n in list(w.nodes)), weight=0.0)
    try:
        cyc = nx.find_negative_cycle(w, source)[:-1]
    except nx.NetworkXError:
        return None
    i = cyc.index(min(cyc))
    return cyc[i:] + cyc[:i]


def _arrow(cycle: list[str]) -> str:
    return " -> ".join(cycle + cycle[:1])


def check_graph(model: Model, locate: Locate) -> list[Problem]:
    """Self-calls, cycles of sync hard calls, and cycles with fan-out gain >= 1, each cycle listed."""
    out: list[Problem] = []
    for s, svc in model.services.items():
        if s in svc.calls:
            out.append(_problem(locate, ("services", s, "calls", s), "a call to another service",
                                f"'{s}' calling itself",
                                "model repeated work with per_request or retry instead"))
    g = call_graph(model)
    hard = nx.DiGraph()
    hard.add_edges_from((a, b) for a, b, d in g.edges(data=True)
                        if d["call"].mode == "sync" and d["call"].required == "hard")
    flagged = set()
    for cyc in _cycles(hard):
        flagged.add(tuple(cyc))
        out.append(_problem(locate, ("services", cyc[0], "calls", cyc[1]),
                            "no cycle of sync hard calls (each caller would wait on itself)",
                            f"the cycle {_arrow(cyc)}",
                            "make one call async or soft (required: soft)"))
    gain_cycles = _cycles(g)
    if len(gain_cycles) >= MAX_CYCLES:  # enumeration was cut short: make sure no gain cycle is missed
        gain_cycles.append(_strongest_cycle(g) or [])
    for cyc in gain_cycles:
        if not cyc or tuple(cyc) in flagged:
            continue
        flagged.add(tuple(cyc))
        edges = zip(cyc, cyc[1:] + cyc[:1], strict=True)
        gains = [central(g.edges[a, b]["call"].per_request) for a, b in edges]
        gain = math.prod(gains)
        if gain >= 1:
            out.append(_problem(locate, ("services", cyc[0], "calls", cyc[1]),
                                "fan-out gain below 1 around every cycle (else load grows without bound)",
                                f"the cycle {_arrow(cyc)} with gain {gain:.3g} ("
                                + " x ".join(f"{x:g}" for x in gains) + ")",
                                "lower a per_request on the cycle"))
    return out


def peak_utilisation(model: Model) -> dict[str, tuple[float, float, float, float]]:
    """Per service at every tenant's peak: (utilisation, arrivals/s, hold time s, workers), no queueing.

    Arrivals solve a = e + Pᵀa (P: per_request, sync and async); hold h = own mean + sum of
    per_request × h(callee) over sequential sync calls + max h over parallel ones, iterated to a fixed
    point. Utilisation = a·h / (instances × concurrency); instances split demand in proportion, so every
    zone of a service has the same utilisation. Empty when the system has no finite solution.
    """
    names = list(model.services)
    ix = {s: i for i, s in enumerate(names)}
    n = len(names)
    p = np.zeros((n, n))
    ext = np.zeros(n)
    for s, svc in model.services.items():
        for c, call in svc.calls.items():
            if c in ix:
                p[ix[s], ix[c]] += central(call.per_request)
    for ten in model.tenants.values():
        total = sum(ten.entry.values())
        for e, share in ten.entry.items():
            if e in ix and total > 0:
                ext[ix[e]] += central(ten.demand.peak_rps) * share / total
    try:
        arrivals = np.linalg.solve(np.eye(n) - p.T, ext)
    except np.linalg.LinAlgError:
        return {}
    if not np.all(np.isfinite(arrivals)) or np.any(arrivals < -1e-9):
        return {}
    own = np.array([central(model.services[s].service_time.mean) for s in names])
    hold = own.copy()
    for _ in range(1000):
        new = own.copy()
        for s, svc in model.services.items():
            sync = [(c, call) for c, call in svc.calls.items() if c in ix and call.mode == "sync"]
            par = [hold[ix[c]] for c, call in sync if call.parallel]
            seq = [central(call.per_request) * hold[ix[c]] for c, call in sync if not call.parallel]
            new[ix[s]] += sum(seq) + max(par, default=0.0)
        done = np.allclose(new, hold, rtol=1e-9, atol=1e-12)
        hold = new
        if done:
            break
    else:
        return {}
    out = {}
    for s, svc in model.services.items():
        workers = sum(max(central(v), 0.0) for v in svc.instances.values()) * central(svc.concurrency)
        a, h = float(arrivals[ix[s]]), float(hold[ix[s]])
        u = a * h / workers if workers > 0 else (math.inf if a > 0 else 0.0)
        out[s] = (u, a, h, workers)
    return out


def check_capacity(model: Model, locate: Locate) -> list[Problem]:
    """Warn where the fault-free base case is at utilisation >= 0.9 at peak demand."""
    out = []
    for s, (u, a, h, workers) in peak_utilisation(model).items():
        if u >= UTILISATION_WARN:
            out.append(_problem(
                locate, ("services", s),
                f"utilisation below {UTILISATION_WARN} at peak demand with no faults",
                f"utilisation {u:.2f} ({_rate(a)} req/s x {h:.3g} s hold / {workers:g} workers)",
                "add instances or concurrency, or lower demand", severity="warning"))
    return out


def _rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


_KINDS = {ZoneDown: ("zone",), RegionDown: ("region",), ServiceDown: ("service", "cell")}


def check_scenario(scenario: Scenario, model: Model | None = None,
                   locate: Locate | None = None) -> list[Problem]:
    """Times must parse and fall in the run; with a model, fault targets must name the right kind of thing."""
    locate = locate or _nowhere
    out = check_timing(scenario, locate) + check_scripted(scenario, model, locate)
    for name, fault in scenario.faults.items():
        p: Path = ("faults", name)
        if model is not None:
            out += _check_target(model, name, fault, locate)
        out += check_time(locate, p + ("at",), fault.at, scenario, "fault")
        if isinstance(fault, CapacityLoss | CapacityRemoval | ErrorInjection):
            out += _range(locate, p + ("fraction",), fault.fraction, "a fraction from 0 to 1", low=0, high=1)
        if fault.duration is not None:
            out += _range(locate, p + ("duration",), fault.duration, "a duration above 0", low=0, strict=True)
    return out


def _check_target(model: Model, name: str, fault: Any, locate: Locate) -> list[Problem]:
    """A fault target must resolve in the model, to a kind the fault applies to."""
    path: Path = ("faults", name, "target")
    special = special_target(model, name, fault, locate)
    if special is not None:
        return special
    try:
        target = resolve_target(model, fault.target)
    except KeyError as exc:
        message, _, hint = str(exc.args[0]).partition("; ")
        found = f"'{fault.target}'" + (f" ({message})" if "@" in fault.target else ", which is not in it")
        return [_problem(locate, path, "a zone, region, provider, service or cell of the model", found, hint)]
    kinds = _KINDS.get(type(fault))
    if kinds and target.kind not in kinds:
        return [_problem(locate, path, f"a {' or '.join(kinds)} for kind '{fault.kind}'",
                         f"'{fault.target}', a {target.kind}")]
    return []


def check_timing(scenario: Scenario, locate: Locate) -> list[Problem]:
    """Run length and steps: positive, and dt no larger than max_dt."""
    out: list[Problem] = []
    for key in ("duration", "dt", "max_dt", "record_every", "control_every"):
        value = getattr(scenario, key)
        out += _range(locate, (key,), value, f"a {key} above 0", low=0, strict=True)
    if scenario.dt is not None and scenario.max_dt is not None and scenario.dt > scenario.max_dt:
        out.append(_problem(locate, ("dt",), f"dt at most max_dt ({scenario.max_dt:g} s)",
                            f"{scenario.dt:g} s"))
    return out


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """The error-severity problems (warnings left out)."""
    return [p for p in problems if p.severity == "error"]
