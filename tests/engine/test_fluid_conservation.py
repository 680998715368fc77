"""The fluid engine conserves work: every unit that arrives at a cell is still there or left by one exit.

Random small systems (hypothesis) are stepped with faults and noise on; after each step the engine's
``ledger`` must balance the change in work in system (waiting ``q`` plus in service ``s``):
before + arrivals = after + completed + rejected + dropped + lost.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outagesim.engine.fluid import FluidEngine, simulate_fluid
from tests.engine import nets
from tests.engine.nets import call, fault, model, scenario, service, tenant

REL_TOL = 1e-9
ABS_TOL = 1e-9
NEG_TOL = -1e-12
STATE = ("q", "s", "link_out", "delay")

_timeouts = st.floats(0.2, 2.0)


@st.composite
def calls(draw) -> dict:
    """A call with random mode, requirement, fan-out, timeout, retry policy (a budget or not), breaker or not."""
    mode = draw(st.sampled_from(["sync", "async"]))
    timeout = draw(_timeouts) if mode == "sync" or draw(st.booleans()) else None
    out = call(
        timeout, per_request=draw(st.floats(0.05, 2.0)), mode=mode,
        required=draw(st.sampled_from(["hard", "soft"])), parallel=draw(st.booleans()),
        attempts=draw(st.integers(1, 3)), base_s=draw(st.floats(0.0, 0.5)),
        multiplier=draw(st.floats(1.0, 3.0)), cap_s=draw(st.none() | st.floats(0.05, 1.0)),
        jitter=draw(st.sampled_from(["none", "full", "equal"])),
        deadline_s=draw(st.none() | st.floats(0.2, 3.0)))
    if draw(st.booleans()):
        out["retry"]["budget"] = {"ratio": draw(st.floats(0.01, 1.0)), "burst": draw(st.floats(1.0, 20.0))}
    if draw(st.booleans()):
        out["circuit_breaker"] = {"error_threshold": draw(st.floats(0.05, 1.0)), "window": "2s",
                                  "min_requests": draw(st.floats(1.0, 50.0)), "open_time": "1s",
                                  "half_open_probes": draw(st.integers(1, 5))}
    return out


@st.composite
def systems(draw) -> tuple[dict, dict, int]:
    """(model dict, scenario dict, steps): 1-6 services in 1-2 zones on a random DAG, with random faults,
    some with load shedding or a cache."""
    zones = ("z1", "z2")[: draw(st.integers(1, 2))]
    n = draw(st.integers(1, 6))
    names = [f"s{i}" for i in range(n)]
    services = {}
    for i, name in enumerate(names):
        here = draw(st.lists(st.sampled_from(zones), min_size=1, max_size=len(zones), unique=True))
        callees = draw(st.lists(st.sampled_from(names[i + 1:]), unique=True)) if i < n - 1 else []
        queue = {"limit": draw(st.none() | st.integers(0, 20)),
                 "discipline": draw(st.sampled_from(["fifo", "lifo"])), "drop_expired": draw(st.booleans())}
        if draw(st.booleans()):
            queue["max_wait"] = f"{draw(st.integers(5, 500))}ms"
        services[name] = service(
            {z: draw(st.integers(1, 4)) for z in here}, mean_s=draw(st.floats(1e-3, 0.05)),
            cv=draw(st.floats(0.0, 2.0)), concurrency=draw(st.integers(1, 8)),
            calls={c: draw(calls()) for c in callees}, queue=queue, startup_s=draw(st.floats(0.0, 2.0)))
        if draw(st.booleans()):
            services[name]["cache"] = {"hit_ratio": draw(st.floats(0.0, 0.99)), "warmup": "10s"}
    entry = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    s0 = services[entry[0]]
    capacity = sum(s0["instances"].values()) * s0["concurrency"] / float(s0["service_time"]["mean"][:-1])
    rps = capacity * draw(st.floats(0.1, 2.0))
    ten = tenant({e: 1.0 for e in entry}, rps, timeout_s=draw(st.floats(0.2, 5.0)),
                 attempts=draw(st.integers(1, 3)), base_s=draw(st.floats(0.0, 1.0)),
                 jitter=draw(st.sampled_from(["none", "full", "equal"])))
    ten["demand"]["noise"] = {"sigma": draw(st.floats(0.0, 0.5)), "correlation_time": "5s"}
    m = model(services, {"users": ten}, zones=zones)

    steps = draw(st.integers(100, 300))
    dt = min([ten_timeout(ten)] + [float(c["timeout"][:-1]) for s in services.values()
                                    for c in s["calls"].values() if "timeout" in c]) / 5
    horizon = steps * dt
    faults = {}
    for k in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["capacity_loss", "latency", "errors", "zone_down"]))
        target = draw(st.sampled_from(zones)) if kind == "zone_down" else draw(st.sampled_from(names))
        at = draw(st.floats(0.0, 0.8)) * horizon
        duration = draw(st.none() | st.floats(0.05, 0.6).map(lambda x: x * horizon))
        extra = {"added_s": draw(st.floats(0.0, 0.5))} if kind == "latency" else (
            {} if kind == "zone_down" else {"fraction": draw(st.floats(0.0, 1.0))})
        faults[f"f{k}"] = fault(kind, target, at, duration, **extra)
    return m, scenario(horizon + 1.0, record_every_s=10.0, faults=faults), steps


def ten_timeout(ten: dict) -> float:
    """The client timeout of a tenant dict, in seconds."""
    return float(ten["client"]["timeout"][:-1])


def work_in_system(eng: FluidEngine) -> float:
    return float(eng.q.sum() + eng.s.sum())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(system=systems(), seed=st.integers(0, 2**32 - 1))
def test_every_step_conserves_work_and_keeps_state_finite_and_non_negative(system, seed):
    """Each step: before + arrivals = after + completed + rejected + dropped + lost; state finite, >= 0."""
    m, sc, steps = system
    eng = FluidEngine(nets.build(m, sc, replicas=2, seed=seed), noise=True)
    for n in range(steps):
        before = work_in_system(eng)
        eng.step(n * eng.dt, None, faults=True, noisy=True)
        led = eng.ledger
        after = work_in_system(eng)
        inflow = before + led["arrivals"]
        outflow = after + led["completed"] + led["rejected"] + led["dropped"] + led["lost"]
        flow = led["arrivals"] + led["completed"] + led["rejected"] + led["dropped"] + led["lost"]
        assert abs(inflow - outflow) <= REL_TOL * flow + ABS_TOL, (n, before, after, led)
        for name in STATE:
            arr = getattr(eng, name)
            assert not np.isnan(arr).any(), (n, name)
            assert arr.min(initial=0.0) >= NEG_TOL, (n, name, arr.min())


STEADY = {
    "chain": nets.chain(3, rps=500.0, utilisation=0.6),
    "two_zones": nets.two_zones(rps=200.0),
    "fan_out": model(
        {"front": service(16, mean_s=2e-3, zones=("z1", "z2"),
                          calls={"a": call(0.5, per_request=1.5, attempts=2),
                                 "b": call(0.5, per_request=0.5, required="soft", parallel=True),
                                 "c": call(None, per_request=1.0, mode="async")}),
         "a": service(8, mean_s=2e-3, zones=("z1", "z2")),
         "b": service(4, mean_s=3e-3, zones=("z1", "z2")),
         "c": service(4, mean_s=1e-3, zones=("z1", "z2"))},
        {"users": tenant("front", 800.0, timeout_s=2.0, attempts=2)}, zones=("z1", "z2")),
}


@pytest.mark.parametrize("name", list(STEADY))
def test_below_capacity_goodput_equals_demand_at_steady_state(name):
    """With no faults and no noise, a below-capacity system's tenant goodput equals its demand within 0.1%."""
    net = nets.build(STEADY[name], scenario(60.0, record_every_s=5.0), replicas=2)
    rec = simulate_fluid(net, noise=False)
    demand = rec.get("tenant", "users", "demand")
    goodput = rec.get("tenant", "users", "goodput")
    late = rec.t_s >= 20.0
    assert demand[:, late].min() > 0
    np.testing.assert_allclose(goodput[:, late], demand[:, late], rtol=1e-3)
    np.testing.assert_allclose(goodput[:, late].sum(axis=1), demand[:, late].sum(axis=1), rtol=1e-3)
