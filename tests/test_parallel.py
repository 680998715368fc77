"""Replicas split over processes give the same numbers, bit for bit, as one process."""

from __future__ import annotations

import numpy as np
import pytest

from outagesim.engine.compile import compile_network
from outagesim.model import Model, Scenario
from outagesim.parallel import replica_ranges, run_replicas
from tests.engine import nets
from tests.engine.test_fluid_determinism import noisy_model, noisy_scenario


def test_ranges_cover_every_replica_once_in_order():
    for replicas, workers in [(1, 2), (5, 2), (7, 3), (4, 8), (10, 1)]:
        parts = replica_ranges(replicas, workers)
        assert [k for first, n in parts for k in range(first, first + n)] == list(range(replicas))
        assert len(parts) == min(replicas, workers)


def des_case() -> tuple[dict, dict]:
    """A two-service chain at 60 req/s with retries and a capacity dip (small enough for the DES)."""
    m = nets.chain(2, rps=60.0, mean_s=5e-3, client_timeout_s=0.5, call_timeout_s=0.2,
                   client_retry={"attempts": 3, "base_s": 0.05, "jitter": "full"})
    sc = nets.scenario(20.0, record_every_s=5.0,
                       faults={"dip": nets.fault("capacity_loss", "s1", 5.0, 5.0, fraction=0.7)})
    return m, sc


@pytest.mark.parametrize("engine", ["fluid", "des"])
def test_two_processes_equal_one(engine):
    """Series from 2 processes (replica 2 in a spawned process) equal a one-process run, bit for bit."""
    m, s = des_case() if engine == "des" else (noisy_model(), noisy_scenario())
    m, s = Model.model_validate(m), Scenario.model_validate(s)
    net = compile_network(m, s, replicas=3, seed=4)
    one = run_replicas(m, s, net, engine=engine, workers=1)
    two = run_replicas(m, s, net, engine=engine, workers=2)
    assert two.info["workers"] == 2 and one.info["workers"] == 1
    assert set(one.series) == set(two.series)
    for key, x in one.series.items():
        assert np.array_equal(x, two.series[key], equal_nan=True), key
