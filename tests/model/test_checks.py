"""Static checks on a validated model: names, value ranges, call-graph cycles and peak utilisation."""

from __future__ import annotations

import time

import pytest

from outagesim.model import Model, Scenario
from outagesim.model.checks import (
    check_graph,
    check_model,
    check_names,
    check_scenario,
    peak_utilisation,
)


def _nowhere(path):
    return "m.yaml", None


def model(services: dict, tenants: dict | None = None, zones: dict | None = None) -> Model:
    providers = zones or {"aws": {"regions": {"r1": {"zones": {"z1": {}, "z2": {}}}}}}
    return Model.model_validate({"providers": providers, "services": services, "tenants": tenants or {}})


def svc(calls: dict | None = None, *, mean: str = "10ms", inst: int = 2, conc: float = 4) -> dict:
    return {"instances": {"z1": inst}, "concurrency": conc, "service_time": {"mean": mean},
            "calls": calls or {}}


def sync(per_request: float = 1, **kw) -> dict:
    return {"per_request": per_request, "timeout": "1s", **kw}


def test_peak_utilisation_propagates_demand_and_hold_time():
    """Arrivals follow per_request down the graph; hold time adds sync callees' hold times."""
    m = model({"fe": svc({"be": sync(2), "log": {"mode": "async", "per_request": 1}}, inst=1, conc=10),
               "be": svc(mean="5ms", inst=2, conc=5), "log": svc(mean="1ms")},
              {"t": {"entry": "fe", "demand": {"peak_rps": 100}}})
    u = peak_utilisation(m)
    util, arrivals, hold, workers = u["fe"]
    assert arrivals == pytest.approx(100) and hold == pytest.approx(0.010 + 2 * 0.005)
    assert workers == 10 and util == pytest.approx(100 * 0.020 / 10)
    assert u["be"][1] == pytest.approx(200) and u["be"][0] == pytest.approx(200 * 0.005 / 10)
    assert u["log"][1] == pytest.approx(100)  # async calls carry load but add no hold time


def test_parallel_calls_hold_for_the_slowest():
    """Parallel sync calls add the longest callee hold time, sequential ones add per_request x hold."""
    m = model({"fe": svc({"a": sync(parallel=True), "b": sync(parallel=True), "c": sync(3)}),
               "a": svc(mean="30ms"), "b": svc(mean="50ms"), "c": svc(mean="2ms")})
    assert peak_utilisation(m)["fe"][2] == pytest.approx(0.010 + 0.050 + 3 * 0.002)


def test_overload_is_a_warning_not_an_error():
    """At utilisation >= 0.9 at peak the base case gets a warning naming the service."""
    m = model({"fe": svc(inst=1, conc=1, mean="100ms")}, {"t": {"entry": "fe", "demand": {"peak_rps": 9.5}}})
    (p,) = check_model(m, _nowhere)
    assert p.severity == "warning" and p.path == "services.fe" and "utilisation 0.95" in p.found
    m = model({"fe": svc(inst=1, conc=1, mean="100ms")}, {"t": {"entry": "fe", "demand": {"peak_rps": 8}}})
    assert check_model(m, _nowhere) == []


def test_soft_cycle_with_low_gain_is_allowed():
    """A cycle through a soft call with gain below 1 is fine; utilisation still converges."""
    m = model({"a": svc({"b": sync(0.5)}), "b": svc({"a": sync(0.5, required="soft")})},
              {"t": {"entry": "a", "demand": {"peak_rps": 10}}})
    assert check_model(m, _nowhere) == []
    assert peak_utilisation(m)["a"][1] == pytest.approx(10 / (1 - 0.25))


def test_gain_cycle_lists_the_cycle_and_factors():
    """A cycle whose product of per_request is >= 1 is an error listing the cycle and its factors."""
    m = model({"a": svc({"b": {"mode": "async", "per_request": 2}}),
               "b": svc({"c": {"mode": "async", "per_request": 1}}),
               "c": svc({"a": sync(0.5, required="soft")})})
    (p,) = check_graph(m, _nowhere)
    assert p.path == "services.a.calls.b"
    assert p.found == "the cycle a -> b -> c -> a with gain 1 (2 x 1 x 0.5)"


def test_gain_uses_the_median_of_distributions():
    """Uncertain per_request values count by their median."""
    lognormal = {"dist": "lognormal", "median": 1.2, "p90": 3}
    m = model({"a": svc({"b": {"mode": "async", "per_request": lognormal}}),
               "b": svc({"a": {"mode": "async", "per_request": 1}})})
    assert "gain 1.2" in check_graph(m, _nowhere)[0].found


def test_sync_hard_cycle_is_listed_once():
    """A sync hard cycle is reported once (not again as a gain cycle), starting at its first name."""
    m = model({"b": svc({"c": sync()}), "c": svc({"a": sync()}), "a": svc({"b": sync()})})
    (p,) = check_graph(m, _nowhere)
    assert p.found == "the cycle a -> b -> c -> a" and "sync hard" in p.expected


def test_self_call():
    """A service calling itself is an error at that call."""
    m = model({"a": svc({"a": {"mode": "async", "per_request": 0.1}})})
    (p,) = check_graph(m, _nowhere)
    assert p.path == "services.a.calls.a" and p.found == "'a' calling itself"


def test_cycle_enumeration_is_bounded():
    """A dense graph with a huge number of cycles is checked quickly (enumeration is capped)."""
    names = [f"s{i}" for i in range(14)]
    services = {n: svc({o: {"mode": "async", "per_request": 0.01} for o in names if o != n}) for n in names}
    m = model(services)
    start = time.perf_counter()
    assert check_graph(m, _nowhere) == []
    assert time.perf_counter() - start < 10


def test_zone_names_ambiguous_and_duplicate():
    """A short zone name used in two regions must be qualified; one zone spelt twice is an error."""
    zones = {"aws": {"regions": {"r1": {"zones": {"z1": {}}}, "r2": {"zones": {"z1": {}}}}}}
    m = model({"a": {"instances": {"z1": 1}, "service_time": {"mean": "1s"}}}, zones=zones)
    (p,) = check_names(m, _nowhere)
    assert p.path == "services.a.instances.z1" and "aws/r1/z1" in p.hint
    m = model({"a": {"instances": {"z1": 1, "aws/r1/z1": 1}, "service_time": {"mean": "1s"}}})
    (p,) = check_names(m, _nowhere)
    assert p.found == "'aws/r1/z1', the same zone as 'z1'"


def test_value_ranges():
    """Negative or zero capacities, rates and timeouts are errors; distributions count by their range."""
    m = model({"a": {"instances": {"z1": {"dist": "uniform", "low": -1, "high": 2}}, "concurrency": 0,
                     "service_time": {"mean": "1s", "cv": -1}, "calls": {"b": sync(-1)}},
               "b": svc()},
              {"t": {"entry": "a", "demand": {"peak_rps": -5}}})
    paths = {p.path: p for p in check_model(m, _nowhere)}
    assert paths["services.a.instances.z1"].found == "a distribution from -1 to 2"
    assert {"services.a.concurrency", "services.a.service_time.cv", "services.a.calls.b.per_request",
            "tenants.t.demand.peak_rps"} <= set(paths)


def test_removed_items_are_not_unknown():
    """Names of items dropped as invalid by the loader are not reported again as unknown."""
    m = model({"a": svc({"b": sync()})})
    assert check_names(m, _nowhere)[0].path == "services.a.calls.b"
    assert check_model(m, _nowhere, removed={("services", "b")}) == []


def test_without_locate_problems_still_name_the_path():
    """Problems carry the key path even with no line information."""
    (p,) = check_graph(model({"a": svc({"a": sync()})}), _nowhere)
    assert str(p).startswith("m.yaml at 'services.a.calls.a'")
    assert check_model(model({"a": svc({"a": sync()})}))[0].file == "<model>"


def scenario(**kw) -> Scenario:
    return Scenario.model_validate({"anchor": "2024-01-01T00:00:00Z", "duration": "1h", **kw})


def test_scenario_targets_times_and_fractions():
    """Fault targets resolve in the model, times fall in the run, fractions lie in 0..1."""
    m = model({"api": svc()})
    s = scenario(faults={
        "late": {"kind": "zone_down", "target": "z1", "at": "+02:00"},
        "early": {"kind": "service_down", "target": "api", "at": "2023-12-31T23:00:00Z"},
        "much": {"kind": "capacity_loss", "target": "api@z1", "at": "+00:01", "fraction": 1.5},
        "typo": {"kind": "region_down", "target": "aws/r", "at": "+00:01"},
        "kind": {"kind": "region_down", "target": "z2", "at": "+00:01"},
    }, dt="2s", max_dt="1s", control_every="0s")
    by_path = {p.path: p for p in check_scenario(s, m, _nowhere)}
    assert by_path["faults.late.at"].severity == "warning"
    assert by_path["faults.early.at"].found == "3600 s before it"
    assert by_path["faults.much.fraction"].found == "1.5"
    assert by_path["faults.typo.target"].hint == "did you mean 'aws/r1'?"
    assert by_path["faults.kind.target"].found == "'z2', a zone"
    assert by_path["dt"].expected == "dt at most max_dt (1 s)"
    assert by_path["control_every"].expected == "a control_every above 0"
    assert {p.path for p in check_scenario(s, None, _nowhere)} >= {"faults.late.at", "dt"}


def test_gain_cycle_found_beyond_the_enumeration_cap():
    """Even when there are too many cycles to list, a cycle with gain >= 1 is still found."""
    names = [f"s{i:02d}" for i in range(14)]
    services = {n: svc({o: {"mode": "async", "per_request": 0.01} for o in names if o != n}) for n in names}
    services["s12"]["calls"]["s13"]["per_request"] = 10
    services["s13"]["calls"]["s12"]["per_request"] = 0.2
    problems = check_graph(model(services), _nowhere)
    assert [p.found for p in problems] == ["the cycle s12 -> s13 -> s12 with gain 2 (10 x 0.2)"]
