"""Results directories for the report tests: a short shop retry storm, the same as a replay, and a long run.

The engine runs once per session (a 60 s retry storm, base and lifo, 2 replicas: a few seconds); the
long run is synthesised from it, so its size does not cost simulation time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from outagesim import apply_overrides, load, simulate
from outagesim.record import Event
from outagesim.results import Results, StatsRecord

SHOP = Path(__file__).parents[2] / "examples" / "shop"
# the retry storm cut to 60 s, catalog-db losing 90% of its capacity from 20 s to 40 s
SHORT_STORM = ["duration=60s", "faults.catalog-db-restarts.at=20s", "faults.catalog-db-restarts.duration=20s"]
LONG_INTERVALS = 8640  # one day at the shop's 10 s record_every: 17 times the report's 500 points
OBSERVED = {
    "milestones": {
        "catalog-down": {"utc": "2026-03-02T15:00:25Z", "kind": "calibration",
                         "predicate": {"entity": "catalog", "metric": "goodput", "op": "<", "threshold": 0.5}},
        "shop-stuck": {"utc": "2026-03-02T15:00:50Z", "kind": "prediction", "tolerance": "30s",
                       "predicate": {"entity": "shoppers", "metric": "goodput", "op": "<", "threshold": 0.1}},
    }
}


@pytest.fixture(scope="session")
def storm_results() -> Results:
    """The short retry storm, base and lifo, as simulate returns it."""
    model, scenario = load(SHOP / "model.yaml", SHOP / "retry-storm.yaml")
    model, scenario = apply_overrides(model, scenario, SHORT_STORM)
    return simulate(model, scenario, variants=["lifo"], replicas=2, seed=1)


@pytest.fixture(scope="session")
def storm_dir(storm_results, tmp_path_factory) -> Path:
    """The short retry storm's results directory."""
    return storm_results.write(tmp_path_factory.mktemp("storm") / "results")


@pytest.fixture(scope="session")
def replay_dir(storm_dir, tmp_path_factory) -> Path:
    """The same results with an observed.json, as a replay's results directory has."""
    results = Results.read(storm_dir)
    results.observed = OBSERVED
    return results.write(tmp_path_factory.mktemp("replay") / "results")


@pytest.fixture(scope="session")
def long_dir(storm_dir, tmp_path_factory) -> Path:
    """A one-day results directory: the storm's tenant and service series repeated, with a breaker event
    every minute in each replica (cell series left out: the report does not read them)."""
    short = Results.read(storm_dir)
    runs = {}
    for name, rec in short.runs.items():
        reps = -(-LONG_INTERVALS // len(rec.t_s))
        series = {k: np.tile(v, (1, reps))[:, :LONG_INTERVALS] for k, v in rec.series.items() if k[0] != "cell"}
        t_s = np.arange(LONG_INTERVALS) * rec.interval_s
        breakers = [Event(t_s=float(t), kind="breaker_open", entity="frontend->catalog", replica=r)
                    for t in t_s[::6] for r in range(rec.replicas)]
        runs[name] = StatsRecord(engine=rec.engine, t_s=t_s, interval_s=rec.interval_s, series=series,
                                 events=rec.events + breakers, info=rec.info, stats=rec.stats,
                                 n_replicas=rec.replicas)
    manifest = {**short.manifest, "duration_s": LONG_INTERVALS * short.runs["base"].interval_s}
    long = Results(manifest=manifest, runs=runs, outcomes=short.outcomes)
    return long.write(tmp_path_factory.mktemp("long") / "results")
