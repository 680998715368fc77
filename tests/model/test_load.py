"""The loader: YAML to Model and Scenario, includes, variants, overrides and validate_files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from outagesim.errors import ModelError
from outagesim.model import Model, Scenario
from outagesim.model.load import (
    apply_overrides,
    apply_variant,
    load,
    load_model,
    load_scenario,
    set_override,
    validate_files,
)
from outagesim.model.schema import json_schema

GOOD = Path(__file__).parents[1] / "data" / "good"
MODEL = str(GOOD / "minimal.yaml")
SCENARIO = str(GOOD / "minimal_scenario.yaml")


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


ZONES = """\
providers:
  aws:
    regions:
      us-east-1:
        zones: {use1-az1: {}, use1-az2: {}}
"""

SERVICES = """\
services:
  api:
    instances: {use1-az1: 2}
    service_time: {mean: 10ms}
    calls:
      db: {timeout: 1s}
"""


def test_minimal_model_loads():
    """The minimal model validates into frozen objects with durations in seconds."""
    warnings: list = []
    model = load_model(MODEL, warnings=warnings)
    assert isinstance(model, Model)
    assert model.services["frontend"].calls["db"].timeout == 0.5
    assert model.tenants["shop"].entry == {"frontend": 1.0}
    assert warnings == []


def test_load_model_and_scenario():
    """load returns both objects; the scenario keeps its faults and variants."""
    model, scenario = load(MODEL, SCENARIO)
    assert isinstance(scenario, Scenario)
    assert scenario.duration == 1800.0
    assert scenario.faults["az1-down"].target == "use1-az1"
    assert set(scenario.variants) == {"bigger-db"}
    assert load(MODEL)[1] is None
    assert load_scenario(SCENARIO).duration == 1800.0


def test_include_merges_by_name_and_keeps_lines(tmp_path):
    """Included items merge by name, and a problem inside an included file cites that file and line."""
    write(tmp_path, "parts/zones.yaml", ZONES)
    write(tmp_path, "parts/db.yaml", """\
        services:
          db:
            instances: {use1-az1: 1}
            service_time: {mean: 5ms}
            concurrency: lots
        """)
    main = write(tmp_path, "main.yaml", "include: [parts/zones.yaml, parts/db.yaml]\n" + SERVICES)
    with pytest.raises(ModelError) as info:
        load_model(main)
    (p,) = info.value.problems
    assert p.file.endswith("parts/db.yaml") and p.line == 5 and p.path == "services.db.concurrency"
    write(tmp_path, "parts/db.yaml", """\
        services:
          db:
            instances: {use1-az1: 1}
            service_time: {mean: 5ms}
        """)
    model = load_model(main)
    assert set(model.services) == {"api", "db"}
    assert "aws" in model.providers


def test_diamond_include_is_read_once(tmp_path):
    """A file included through two paths is merged once, not reported as a duplicate."""
    write(tmp_path, "zones.yaml", ZONES)
    write(tmp_path, "a.yaml", "include: [zones.yaml]\n")
    write(tmp_path, "b.yaml", "include: zones.yaml\n")
    main = write(tmp_path, "main.yaml", "include: [a.yaml, b.yaml]\n" + SERVICES.replace(
        "      db: {timeout: 1s}\n", "      {}\n").replace("    calls:\n      {}\n", ""))
    assert set(load_model(main).services) == {"api"}


def test_missing_include_suggests_a_nearby_file(tmp_path):
    """A misspelt include names the missing path at its line and suggests the file that is there."""
    write(tmp_path, "zones.yaml", ZONES)
    main = write(tmp_path, "main.yaml", "include:\n  - zone.yaml\n" + SERVICES)
    with pytest.raises(ModelError) as info:
        load_model(main)
    p = next(p for p in info.value.problems if p.path == "include.0")
    assert p.line == 2 and "did you mean 'zones.yaml'?" == p.hint


def test_yaml_merge_keys_and_anchors(tmp_path):
    """YAML anchors and '<<' merge keys work, explicit keys win, and lines stay those written."""
    main = write(tmp_path, "m.yaml", ZONES + """\
        services:
          api: &base
            instances: {use1-az1: 2}
            service_time: {mean: 10ms}
            concurrency: 4
          worker:
            <<: *base
            concurrency: nine
        """.replace("        ", ""))
    with pytest.raises(ModelError) as info:
        load_model(main)
    (p,) = info.value.problems
    assert p.path == "services.worker.concurrency" and p.line == 13


def test_every_problem_at_once(tmp_path):
    """A file with several kinds of mistakes reports all of them, names and graph included."""
    main = write(tmp_path, "m.yaml", ZONES + """\
        services:
          api:
            instances: {use1-az1: 2}
            service_time: {mean: 10ms}
            concurency: 4
            calls:
              paymnt: {timeout: 1s}
              db: {per_request: 1}
          pay:
            instances: {use1-az1: 1}
            service_time: {mean: 10ms}
            calls:
              pay: {timeout: 1s}
          db:
            instances: {use1-az9: 1}
            service_time: {mean: 5 secs}
        """.replace("        ", ""))
    problems = validate_files([main])
    found = {(p.path, p.line) for p in problems}
    assert ("services.api.concurency", 10) in found
    assert ("services.api.calls.db.timeout", 13) in found
    assert ("services.api.calls.paymnt", 12) in found
    assert ("services.pay.calls.pay", 18) in found
    assert ("services.db.service_time.mean", 21) in found
    hints = {p.path: p.hint for p in problems}
    assert hints["services.api.calls.paymnt"] == "did you mean 'pay'?"
    assert hints["services.api.concurency"] == "did you mean 'concurrency'?"


def test_apply_variant_patches_and_revalidates():
    """A variant's merge patches change the model and scenario; inputs are left as they were."""
    model, scenario = load(MODEL, SCENARIO)
    m2, s2 = apply_variant(model, scenario, "bigger-db")
    assert m2.services["db"].instances == {"use1-az1": 2.0, "aws/us-east-1/use1-az2": 2.0}
    assert s2.duration == 2400.0
    assert model.services["db"].instances["use1-az1"] == 1.0 and scenario.duration == 1800.0
    m3, _ = apply_variant(m2, s2, "bigger-db")  # a patched model can be patched again
    assert m3 == m2


def test_variant_null_deletes_and_bad_variant_is_located(tmp_path):
    """null in a patch deletes; a patch that breaks the model is reported at the patch's own line."""
    scen = write(tmp_path, "s.yaml", """\
        anchor: 2024-01-01T00:00:00Z
        duration: 1h
        variants:
          no-db-call:
            model_patch:
              services:
                frontend:
                  calls:
                    db: null
          slow:
            model_patch:
              services:
                frontend:
                  concurrency: many
        """)
    model, scenario = load_model(MODEL), load_scenario(scen)
    m2, _ = apply_variant(model, scenario, "no-db-call")
    assert m2.services["frontend"].calls == {}
    with pytest.raises(ModelError) as info:
        apply_variant(model, scenario, "slow")
    (p,) = info.value.problems
    assert p.file == scen and p.line == 14
    assert p.path == "variants.slow.model_patch.services.frontend.concurrency"
    assert "in variant 'slow'" in p.hint
    with pytest.raises(ModelError) as info:
        apply_variant(model, scenario, "slo")
    assert info.value.problems[0].hint == "did you mean 'slow'?"
    with pytest.raises(ModelError) as info:
        load(MODEL, scen)
    assert any(p.path.endswith("services.frontend.concurrency") for p in info.value.problems)


def test_variant_on_objects_built_in_python():
    """Variants also apply to objects not read from files (their YAML form is rebuilt)."""
    model, scenario = load(MODEL, SCENARIO)
    fresh_model, fresh_scen = model.model_copy(), scenario.model_copy()
    m2, s2 = apply_variant(fresh_model, fresh_scen, "bigger-db")
    assert m2.services["db"].instances["use1-az1"] == 2.0 and s2.duration == 2400.0
    assert m2.services["frontend"].calls["db"].timeout == 0.5


def test_overrides():
    """--set changes model keys and scenario keys; values are read as YAML."""
    model, scenario = load(MODEL, SCENARIO)
    m2, s2 = apply_overrides(model, scenario, [
        "services.frontend.concurrency=4",
        "services.frontend.calls.db.retry={max_attempts: 3}",
        "services.db.instances.use1-az1=3",
        "tenants.shop.demand.noise.sigma=0.1",
        "duration=2h",
        "faults.az1-down.at=+00:10",
    ])
    assert m2.services["frontend"].concurrency == 4.0
    assert m2.services["db"].instances["use1-az1"] == 3.0
    assert m2.services["frontend"].calls["db"].retry.max_attempts == 3
    assert m2.tenants["shop"].demand.noise.sigma == 0.1
    assert s2.duration == 7200.0 and s2.faults["az1-down"].at == "+00:10"
    assert apply_overrides(model, scenario, []) == (model, scenario)


def test_override_errors():
    """A --set path that names nothing is an error with did-you-mean; a bad value cites --set."""
    model, scenario = load(MODEL, SCENARIO)
    with pytest.raises(ModelError) as info:
        apply_overrides(model, scenario, ["services.frontend.concurency=4"])
    (p,) = info.value.problems
    assert p.file == "--set" and p.path == "services.frontend.concurency"
    assert p.hint == "did you mean 'concurrency'?"
    with pytest.raises(ModelError) as info:
        apply_overrides(model, scenario, ["services.frontend.concurrency=lots"])
    (p,) = info.value.problems
    assert p.file == "--set" and p.path == "services.frontend.concurrency" and p.found == "'lots'"
    with pytest.raises(ModelError) as info:
        apply_overrides(model, scenario, ["no equals sign"])
    assert "path=value" in info.value.problems[0].expected
    with pytest.raises(ModelError) as info:  # a new key in a map of zones, but the same zone twice
        apply_overrides(model, scenario, ["services.db.instances.use1-az2=5"])
    assert info.value.problems[0].found == "'use1-az2', the same zone as 'aws/us-east-1/use1-az2'"
    with pytest.raises(ModelError) as info:
        apply_overrides(model, None, ["duration=1h"])
    assert "no scenario" in info.value.problems[0].expected


def test_set_override_on_plain_data():
    """set_override returns a new dict, leaves its input alone, and indexes lists."""
    data = {"tenants": {"t": {"demand": {"daily_shape": [1.0] * 24}}}}
    new = set_override(data, "tenants.t.demand.daily_shape.3=0.5")
    assert new["tenants"]["t"]["demand"]["daily_shape"][3] == 0.5
    assert data["tenants"]["t"]["demand"]["daily_shape"][3] == 1.0
    with pytest.raises(ModelError):
        set_override(data, "tenants.t.demand.daily_shape.30=0.5")
    added = set_override({"services": {"a": {"instances": {}}}}, "services.a.instances.z9=2")
    assert added["services"]["a"]["instances"] == {"z9": 2}


def test_validate_files_sorts_models_and_scenarios(tmp_path):
    """validate_files tells scenarios (with an anchor) from models and checks them together."""
    assert validate_files([MODEL, SCENARIO]) == []
    bad = write(tmp_path, "s.yaml", """\
        anchor: 2024-01-01T00:00:00Z
        duration: 1h
        faults:
          x: {kind: service_down, target: frontnd, at: +00:01}
        """)
    (p,) = validate_files([MODEL, bad])
    assert p.path == "faults.x.target" and p.line == 4 and p.hint == "did you mean 'frontend'?"


def test_validate_files_skips_fragments_and_warns_without_model(tmp_path):
    """A file included by another given file is checked as part of it; a lone scenario gets a warning."""
    write(tmp_path, "zones.yaml", ZONES)
    main = write(tmp_path, "main.yaml", "include: [zones.yaml]\n" + SERVICES.replace(
        "    calls:\n      db: {timeout: 1s}\n", ""))
    assert validate_files([main, str(tmp_path / "zones.yaml")]) == []
    (p,) = validate_files([SCENARIO])
    assert p.severity == "warning"


def test_json_schema_covers_model_and_scenario():
    """The schema describes both file kinds and is plain JSON."""
    import json

    schema = json_schema()
    text = json.dumps(schema)
    assert "service_time" in text and "anchor" in text and "variants" in text
    assert {"model", "scenario"} <= set(schema["$defs"]) or "oneOf" in schema or "anyOf" in schema
