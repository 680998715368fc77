"""Time to detect per monitor (issue 6, impact accounting), read from the monitors' alarm events."""

from __future__ import annotations

import math

import pytest

import outagesim
from outagesim.analysis.impact import time_to_detect
from outagesim.model import Model, Scenario
from tests.engine import nets


def test_time_to_detect_per_monitor_and_replica(tmp_path):
    """api fails at 60 s with metrics (what the internal monitor reads through) down too: the external
    probe (every 30 s, no sustain) detects at its first sample, 90 s, so 30 s after the fault; the
    internal monitor never does (NaN). The same table comes back from the results directory."""
    m = nets.model({"api": nets.service(4, mean_s=10e-3, concurrency=4), "metrics": nets.service(1, mean_s=1e-3)},
                   {"users": nets.tenant("api", 100, timeout_s=1.0)})
    m["controllers"] = {"monitors": {
        "internal": {"watches": "api", "depends_on": ["metrics"], "sustain": "30s"},
        "probe": {"watches": "api", "kind": "external", "interval": "30s", "sustain": "0s"}}}
    faults = {"api": nets.fault("service_down", "api", 60.0, 300.0),
              "metrics": nets.fault("service_down", "metrics", 60.0, 300.0)}
    sc = nets.scenario(420.0, faults=faults)
    results = outagesim.simulate(Model.model_validate(m), Scenario.model_validate(sc), replicas=2, seed=1)
    for res in (results, (results.write(tmp_path / "r"), outagesim.Results.read(tmp_path / "r"))[1]):
        table = time_to_detect(res).set_index(["replica", "monitor"])
        assert len(table) == 4
        for k in (0, 1):
            assert table.loc[(k, "probe"), "time_to_detect_s"] == pytest.approx(30.0, abs=0.5)
            assert math.isnan(table.loc[(k, "internal"), "detected_s"])
