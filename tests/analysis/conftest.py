"""One real run shared by the analysis tests: the shop retry storm, shortened, base and lifo."""

from __future__ import annotations

from pathlib import Path

import pytest

from outagesim import Results, apply_overrides, load, simulate

SHOP = Path(__file__).parents[2] / "examples" / "shop"
# catalog-db loses 90% for 20 s from 20 s; 90 s is long enough for lifo to recover and the base not to
SHORT_STORM = ["duration=90s", "faults.catalog-db-restarts.at=20s", "faults.catalog-db-restarts.duration=20s"]


@pytest.fixture(scope="session")
def storm(tmp_path_factory) -> tuple[Results, Path]:
    """The run as simulated, and its results directory written with every replica's series."""
    model, scenario = apply_overrides(*load(SHOP / "model.yaml", SHOP / "retry-storm.yaml"), SHORT_STORM)
    results = simulate(model, scenario, variants=["lifo"], replicas=3, seed=1, workers=1)
    out = results.write(tmp_path_factory.mktemp("storm") / "run", keep_replicas=True)
    return results, out
