"""Caches: a hit makes none of the cell's calls; restored instances come back cold and warm up.

``front`` (cache: 90% hits, warm-up 60 s) calls ``db`` once per miss; users send 200 req/s. front is
down from 30 s to 60 s and comes back (no startup time) with an empty cache, so db's load jumps from 20
to about 200 req/s and decays as 200 x (1 - 0.9 w(t)), w(t) = 1 - exp(-(t - 60 s) / 60 s).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from outagesim.engine.des import simulate_des
from outagesim.engine.fluid import simulate_fluid
from outagesim.record import RunRecord
from tests.engine import nets

RPS, HIT, WARMUP, BACK_AT, STEP = 200.0, 0.9, 60.0, 60.0, 5.0


def run(engine: str, *, db_workers: int = 4, db_queue: dict | None = None) -> RunRecord:
    front = nets.service(8, mean_s=2e-3, calls={"db": nets.call(0.5)})
    front["cache"] = {"hit_ratio": HIT, "warmup": nets.seconds(WARMUP)}
    m = nets.model({"front": front, "db": nets.service(db_workers, mean_s=5e-3, queue=db_queue)},
                   {"users": nets.tenant("front", RPS, timeout_s=2.0)})
    down = nets.fault("service_down", "front", 30.0, BACK_AT - 30.0)
    net = nets.build(m, nets.scenario(240.0, record_every_s=STEP, faults={"down": down}), seed=7)
    return simulate_fluid(net, noise=False) if engine == "fluid" else simulate_des(net, force=True)


def expected_db_rate(t0: float, t1: float) -> float:
    """Mean of 200 x (1 - 0.9 w(t)) over [t0, t1) after the restart."""
    a, b = (t0 - BACK_AT) / WARMUP, (t1 - BACK_AT) / WARMUP
    mean_w = 1.0 - WARMUP * (math.exp(-a) - math.exp(-b)) / (t1 - t0)
    return RPS * (1.0 - HIT * mean_w)


@pytest.mark.parametrize("engine, tol", [("fluid", 0.05), ("des", 0.10)])
def test_cold_cache_multiplies_backing_load_then_warms(engine, tol):
    """db's arrivals: 20 req/s while warm, about 10x just after the restart, then the warm-up curve
    (fluid within 5%, request level within 10%: Poisson counts over 5 s windows)."""
    db = run(engine).get("cell", nets.cell("db"), "arrivals")[0]
    assert db[:5].mean() == pytest.approx(RPS * (1 - HIT), rel=tol)
    for t0 in (BACK_AT + 5.0, BACK_AT + 30.0, BACK_AT + 60.0, BACK_AT + 120.0):
        k = int(t0 / STEP)
        assert db[k] == pytest.approx(expected_db_rate(t0, t0 + STEP), rel=tol), t0


@pytest.mark.parametrize("engine", ["fluid", "des"])
def test_hits_survive_a_backing_outage(engine):
    """With db gone (no workers), the 90% of requests that hit are still served."""
    front = nets.service(8, mean_s=2e-3, calls={"db": nets.call(0.5)})
    front["cache"] = {"hit_ratio": HIT, "warmup": "60s"}
    m = nets.model({"front": front, "db": nets.service(4, mean_s=5e-3)},
                   {"users": nets.tenant("front", RPS, timeout_s=2.0)})
    down = nets.fault("service_down", "db", 10.0, 50.0)
    net = nets.build(m, nets.scenario(60.0, record_every_s=STEP, faults={"down": down}), seed=7)
    rec = simulate_fluid(net, noise=False) if engine == "fluid" else simulate_des(net, force=True)
    good = rec.get("tenant", "users", "goodput")[0][4:]
    assert np.mean(good) == pytest.approx(HIT * RPS, rel=0.05)


@pytest.mark.parametrize("engine", ["fluid", "des"])
def test_a_cold_cache_sustains_the_outage(engine):
    """With db sized for the warm load (1 worker, 15 ms: 67 req/s against 20), the restart's misses
    (about 200 req/s) overload it; front's workers wait on db, users time out, and the cache warms only
    at the pace of the misses that succeed. Goodput stays under 15% of demand for 2 minutes after the
    restart, then the cache is warm enough and it returns: full demand by 3 minutes (measured, both
    engines: back in the 210-240 s interval)."""
    front = nets.service(8, mean_s=2e-3, calls={"db": nets.call(0.5)})
    front["cache"] = {"hit_ratio": HIT, "warmup": nets.seconds(WARMUP)}
    m = nets.model({"front": front, "db": nets.service(1, mean_s=15e-3)},
                   {"users": nets.tenant("front", RPS, timeout_s=2.0)})
    down = nets.fault("service_down", "front", 30.0, BACK_AT - 30.0)
    net = nets.build(m, nets.scenario(300.0, record_every_s=30.0, faults={"down": down}), seed=7)
    rec = simulate_fluid(net, noise=False) if engine == "fluid" else simulate_des(net, force=True)
    good = rec.get("tenant", "users", "goodput")[0]
    assert good[2:6].max() < 0.15 * RPS  # 60-180 s
    assert good[-2:].min() > 0.95 * RPS  # 240-300 s
