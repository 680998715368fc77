"""The bundled examples stay valid, run, and still show what their comments say they show."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from outagesim import apply_overrides, load, simulate, validate_files

EXAMPLES = Path(__file__).parents[1] / "examples"
SHOP = EXAMPLES / "shop"
SHOP_SCENARIOS = sorted(p.name for p in SHOP.glob("*.yaml") if p.name != "model.yaml")


def shortened(scenario_name: str, duration_s: int = 60):
    """The shop model and a scenario cut to ``duration_s``, every fault from 20 s to 40 s."""
    model, scenario = load(SHOP / "model.yaml", SHOP / scenario_name)
    sets = [f"duration={duration_s}s"]
    for name in scenario.faults:
        sets += [f"faults.{name}.at=20s", f"faults.{name}.duration=20s"]
    return apply_overrides(model, scenario, sets)


def test_every_example_file_validates():
    """Every YAML file under examples/ validates with no errors, each scenario checked against its model."""
    files = sorted(str(p) for p in EXAMPLES.rglob("*.yaml"))
    assert len(files) >= 4
    problems = validate_files(files)
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert not [str(p) for p in problems if "not checked" in p.hint]


def test_the_shop_has_the_scenarios_its_readme_lists():
    """The shop example holds the zone-loss, database-slowdown and retry-storm scenarios."""
    assert SHOP_SCENARIOS == ["db-slowdown.yaml", "retry-storm.yaml", "zone-loss.yaml"]


@pytest.mark.parametrize("scenario_name", SHOP_SCENARIOS)
def test_each_shop_scenario_runs_shortened_with_every_variant(scenario_name):
    """Each shop scenario, shortened, runs base and every variant on the fluid engine with finite series."""
    model, scenario = shortened(scenario_name)
    assert scenario.duration == 60.0
    results = simulate(model, scenario, variants="all", replicas=2, seed=1, engine="fluid")
    assert results.variants == ["base", *scenario.variants]
    for name, rec in results.runs.items():
        assert rec.replicas == 2 and rec.t_s[-1] < 60.0, name
        demand = rec.get("tenant", "shoppers", "demand")
        assert np.isfinite(demand).all() and (demand > 0).all(), name
        for metric in ("attempts", "goodput", "errors"):
            values = rec.get("tenant", "shoppers", metric)
            assert np.isfinite(values).all() and (values >= 0).all(), (name, metric)
        assert {e.kind for e in rec.events} >= {"fault_start", "fault_end"}, name
        assert len(results.outcomes[name]) > 0, name


def test_retry_storm_base_is_stuck_and_lifo_recovers():
    """At full length the retry-storm base case ends stuck in every replica while the lifo fix recovers."""
    model, scenario = load(SHOP / "model.yaml", SHOP / "retry-storm.yaml")
    assert scenario.duration == 900.0
    results = simulate(model, scenario, variants=["lifo"], replicas=2, seed=1, engine="fluid")
    base = results.outcomes["base"]
    fix = results.outcomes["lifo"]
    assert base[base.entity_kind == "tenant"].stuck.all()
    assert not fix[fix.entity_kind == "tenant"].stuck.any()
    # recovered: goodput at least 95% of demand over the last minute, in every replica
    rec = results.runs["lifo"]
    last = rec.t_s >= scenario.duration - 60.0
    share = rec.get("tenant", "shoppers", "goodput")[:, last].sum(axis=1) / rec.get(
        "tenant", "shoppers", "demand")[:, last].sum(axis=1)
    assert (share >= 0.95).all(), share
