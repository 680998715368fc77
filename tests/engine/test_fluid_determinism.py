"""Determinism of both engines: same seed, same numbers; replica k independent of the replica count.

Randomness is switched on in every run here: an uncertain service time (each replica draws its own),
demand noise (the fluid engine's OU and count noise) and, for the DES, its per-request draws.
"""

from __future__ import annotations

import numpy as np

from outagesim.engine.des import simulate_des
from outagesim.engine.fluid import FluidEngine, simulate_fluid
from outagesim.record import RunRecord
from tests.engine import nets
from tests.engine.nets import call, fault, model, scenario, service, tenant

UNCERTAIN_MEAN = {"dist": "lognormal", "median": "5ms", "p90": "9ms"}


def noisy_model(*, sigma: float = 0.2, uncertain: bool = True) -> dict:
    """Front and back in two zones; back's service time uncertain, demand noisy, retries on."""
    zones = ("z1", "z2")
    back = service(6, mean_s=5e-3, zones=zones)
    if uncertain:
        back["service_time"]["mean"] = dict(UNCERTAIN_MEAN)
    m = model(
        {"front": service(8, mean_s=2e-3, zones=zones,
                          calls={"back": call(0.5, attempts=3, base_s=0.05, jitter="full")}),
         "back": back},
        {"users": tenant("front", 1500.0, timeout_s=2.0, attempts=2, base_s=0.5, jitter="full")},
        zones=zones)
    m["tenants"]["users"]["demand"]["noise"] = {"sigma": sigma, "correlation_time": "10s"}
    return m


def noisy_scenario(duration_s: float = 60.0) -> dict:
    """A partial capacity loss of back, so the run has a transient as well as a steady state."""
    dip = fault("capacity_loss", "back", 20.0, 15.0, fraction=0.6)
    return scenario(duration_s, record_every_s=5.0, faults={"dip": dip})


def fluid(replicas: int, seed: int, m: dict | None = None, *, noise: bool = True) -> RunRecord:
    return simulate_fluid(nets.build(m or noisy_model(), noisy_scenario(), replicas=replicas, seed=seed),
                          noise=noise)


def assert_identical(a: RunRecord, b: RunRecord, replicas: slice = slice(None)) -> None:
    """Every series of ``a`` equals ``b``'s bit for bit on the chosen replicas (NaN equal to NaN)."""
    assert set(a.series) == set(b.series)
    assert np.array_equal(a.t_s, b.t_s)
    for key in a.series:
        x, y = a.series[key][replicas], b.series[key][replicas]
        assert x.shape == y.shape, key
        assert np.array_equal(x, y, equal_nan=True), key


def differs(a: RunRecord, b: RunRecord, key: tuple[str, str, str]) -> bool:
    return not np.array_equal(a.series[key], b.series[key], equal_nan=True)


DEMAND = ("tenant", "users", "demand")
GOODPUT = ("tenant", "users", "goodput")
BACK_LATENCY = ("cell", nets.cell("back", "z1"), "latency_mean")


# ---------------------------------------------------------------------- fluid engine
def test_fluid_same_seed_gives_bit_identical_series():
    """Two fluid runs compiled separately from the same model, scenario and seed are bit-identical."""
    a, b = fluid(4, seed=7), fluid(4, seed=7)
    assert_identical(a, b)
    assert [(e.t_s, e.kind, e.entity) for e in a.events] == [(e.t_s, e.kind, e.entity) for e in b.events]


def test_fluid_replica_k_does_not_depend_on_the_replica_count():
    """Replica k of the fluid engine is bit-identical whether 4 or 16 replicas run."""
    assert_identical(fluid(4, seed=3), fluid(16, seed=3), replicas=slice(0, 4))


def test_fluid_different_seeds_differ_where_randomness_is_on():
    """Different seeds change demand, goodput and latency; within a run replicas differ from each other."""
    a, b = fluid(4, seed=1), fluid(4, seed=2)
    for key in (DEMAND, GOODPUT, BACK_LATENCY):
        assert differs(a, b, key), key
        assert not np.array_equal(a.series[key][0], a.series[key][1], equal_nan=True), key


def test_fluid_seed_changes_nothing_when_randomness_is_off():
    """With no noise and no uncertain parameter, the seed has no effect on the fluid engine."""
    m = noisy_model(sigma=0.0, uncertain=False)
    assert_identical(fluid(2, seed=1, m=m, noise=False), fluid(2, seed=2, m=m, noise=False))


def test_fluid_engines_on_one_network_share_no_state():
    """Two FluidEngine instances on the same Network, stepped alternately, hold equal state at every step."""
    net = nets.build(noisy_model(), noisy_scenario(), replicas=3, seed=5)
    one, two = FluidEngine(net, noise=True), FluidEngine(net, noise=True)
    for n in range(int(40.0 / one.dt)):
        one.step(n * one.dt, None)
        two.step(n * two.dt, None)
        for name in ("q", "s", "mix", "delay", "link_out", "ou", "share", "sojourn"):
            assert np.array_equal(getattr(one, name), getattr(two, name)), (n, name)
        assert one.ledger == two.ledger, n


# ---------------------------------------------------------------------- request-level engine
def des_net(replicas: int, seed: int):
    """A two-service chain at 60 req/s with an uncertain service time, retries and a capacity dip."""
    m = nets.chain(2, rps=60.0, mean_s=5e-3, client_timeout_s=0.5, call_timeout_s=0.2,
                   client_retry={"attempts": 3, "base_s": 0.05, "jitter": "full"})
    m["services"]["s1"]["service_time"]["mean"] = dict(UNCERTAIN_MEAN)
    sc = scenario(30.0, record_every_s=5.0,
                  faults={"dip": fault("capacity_loss", "s1", 10.0, 5.0, fraction=0.7)})
    return nets.build(m, sc, replicas=replicas, seed=seed)


def test_des_same_seed_gives_bit_identical_series():
    """Two request-level runs with the same seed are bit-identical."""
    assert_identical(simulate_des(des_net(2, seed=4)), simulate_des(des_net(2, seed=4)))


def test_des_replica_k_does_not_depend_on_the_replica_count():
    """Replica k of the request-level engine is bit-identical whether 2 or 4 replicas run."""
    assert_identical(simulate_des(des_net(2, seed=9)), simulate_des(des_net(4, seed=9)), replicas=slice(0, 2))


def test_des_different_seeds_differ():
    """Different seeds give the request-level engine different arrivals and latencies."""
    a, b = simulate_des(des_net(2, seed=1)), simulate_des(des_net(2, seed=2))
    for key in (DEMAND, ("cell", nets.cell("s1"), "latency_mean")):
        assert differs(a, b, key), key


def test_fluid_replicas_in_and_out_of_sub_steps_stay_independent():
    """Sub-steps are chosen per replica: replicas that need them and replicas that do not share a step,
    and the first 4 of 16 replicas hold the same state at every step as a run of 4."""
    few = FluidEngine(nets.build(noisy_model(), noisy_scenario(), replicas=4, seed=5), noise=True)
    many = FluidEngine(nets.build(noisy_model(), noisy_scenario(), replicas=16, seed=5), noise=True)
    few.warm_up()
    many.warm_up()
    mixed = 0
    for n in range(int(60.0 / few.dt)):
        mixed += len(set(many.m_r.tolist())) > 1
        few.step(n * few.dt, None)
        many.step(n * many.dt, None)
        for name in ("q", "s", "link_out", "sojourn", "st_lat"):
            assert np.array_equal(getattr(few, name), getattr(many, name)[:, :4]), (n, name)
    assert mixed > 0, "no step mixed replicas in and out of sub-steps: the test shows nothing"
