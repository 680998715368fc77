"""The ``outagesim`` command line: exit statuses, messages without tracebacks, and what ``run`` writes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from outagesim.cli import app

ROOT = Path(__file__).parents[1]
BAD = ROOT / "tests" / "data" / "bad"
GOOD_MODEL = ROOT / "tests" / "data" / "good" / "minimal.yaml"
GOOD_SCENARIO = ROOT / "tests" / "data" / "good" / "minimal_scenario.yaml"
SHOP = ROOT / "examples" / "shop"
SHOP_ZONE_LOSS = [SHOP / "model.yaml", SHOP / "zone-loss.yaml"]

# malformed model files and the line their error is on
BAD_MODELS = [
    ("wrong_type.yaml", 10), ("unknown_key.yaml", 16), ("unknown_service.yaml", 13),
    ("negative_capacity.yaml", 15), ("self_call.yaml", 19), ("sync_hard_cycle.yaml", 13),
    ("no_timeout.yaml", 13), ("bad_time_unit.yaml", 11), ("bad_include.yaml", 2), ("syntax_error.yaml", 12),
    ("binary_garbage.yaml", 3), ("unsafe_tag.yaml", 2), ("huge_nesting.yaml", 2),
]
# malformed scenario files (checked against the good minimal model) and their error line
BAD_SCENARIOS = [
    ("scenario_unknown_target.yaml", 7), ("scenario_patch_names_nothing.yaml", 14),
    ("scenario_bad_fault_time.yaml", 8),
]

# the zone-loss scenario cut to 90 s with the zone down from 30 s to 60 s (a run of a few seconds)
SHORT_ZONE_LOSS = ["--set", "duration=90s", "--set", "faults.az1-down.at=30s",
                   "--set", "faults.az1-down.duration=30s"]
SHORT_RETRY_STORM = ["--set", "duration=60s", "--set", "faults.catalog-db-restarts.at=20s",
                     "--set", "faults.catalog-db-restarts.duration=20s"]
RUN_FILES = ("manifest.json", "base/series.parquet", "base/replicas.parquet", "base/events.parquet",
             "base/summary.json")


def invoke(*args: str | Path):
    """Run the app in-process, as a user would from a shell."""
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_user_error(result, *needles: str, unwrap: bool = False) -> None:
    """Exit status 2, each needle in the output, and no traceback or uncaught exception; ``unwrap``
    matches against the output with rich's line wrapping folded into single spaces."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    text = " ".join(result.output.split()) if unwrap else result.output
    for needle in needles:
        assert needle in text, (needle, text)


# ---------------------------------------------------------------------- validate
def test_validate_accepts_a_good_model_and_scenario(tmp_path, monkeypatch):
    """``validate`` on a good model and scenario exits 0, says so, and writes nothing."""
    monkeypatch.chdir(tmp_path)
    result = invoke("validate", GOOD_MODEL, GOOD_SCENARIO)
    assert result.exit_code == 0, result.output
    assert "ok: 2 file(s) valid" in result.output
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(("name", "line"), BAD_MODELS, ids=[n for n, _ in BAD_MODELS])
def test_validate_rejects_a_bad_model_with_file_and_line(tmp_path, monkeypatch, name, line):
    """``validate`` on a malformed model exits 2 naming file and line, with no traceback, writing nothing."""
    monkeypatch.chdir(tmp_path)
    assert_user_error(invoke("validate", BAD / name), f"{BAD / name}:{line}", "error")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(("name", "line"), BAD_SCENARIOS, ids=[n for n, _ in BAD_SCENARIOS])
def test_validate_rejects_a_bad_scenario_with_file_and_line(name, line):
    """``validate`` on a good model with a malformed scenario exits 2 naming the scenario file and line."""
    assert_user_error(invoke("validate", GOOD_MODEL, BAD / name), f"{BAD / name}:{line}")


@pytest.mark.parametrize("name", ["empty.yaml", "comments_only.yaml"])
def test_validate_rejects_an_empty_file_by_name(name):
    """``validate`` on a file with no settings exits 2 naming the file."""
    assert_user_error(invoke("validate", BAD / name), str(BAD / name), "an empty file")


def test_validate_reports_every_bad_file_at_once():
    """One ``validate`` call over several malformed files reports each of them, with a count of errors."""
    picked = BAD_MODELS[:5]
    result = invoke("validate", *(BAD / n for n, _ in picked))
    assert_user_error(result, *(f"{BAD / n}:{line}" for n, line in picked))
    assert re.search(r"\b5 error\(s\)", result.output), result.output


def test_module_entry_point_runs_in_a_real_process():
    """``python -m outagesim`` in a real process exits 2 on a bad file, naming file:line, no traceback."""
    cmd = [sys.executable, "-m", "outagesim", "validate", str(GOOD_MODEL), str(BAD / "self_call.yaml")]
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2, bad.stderr
    assert f"{BAD / 'self_call.yaml'}:19" in bad.stderr and "1 error(s)" in bad.stderr
    assert str(GOOD_MODEL) not in bad.stderr and "Traceback" not in bad.stderr


# ---------------------------------------------------------------------- schema
def test_schema_prints_json_for_model_and_scenario_files():
    """``schema`` prints a JSON Schema that accepts either a model or a scenario file."""
    result = invoke("schema")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    defs = schema["$defs"]
    assert {"Model", "Scenario"} <= set(defs)
    assert {"providers", "services", "tenants"} <= set(defs["Model"]["properties"])
    assert {"anchor", "duration", "faults", "variants"} <= set(defs["Scenario"]["properties"])
    refs = {alt["$ref"] for alt in schema["anyOf"]}
    assert refs == {"#/$defs/Model", "#/$defs/Scenario"}


# ---------------------------------------------------------------------- run
@pytest.fixture(scope="module")
def zone_loss_run(tmp_path_factory):
    """The shop's zone-loss scenario, shortened, run once with 2 replicas: (result, results directory)."""
    out = tmp_path_factory.mktemp("run") / "zone-loss"
    result = invoke("run", *SHOP_ZONE_LOSS, "--replicas", "2", *SHORT_ZONE_LOSS, "--out", out)
    return result, out


def test_run_writes_the_results_directory(zone_loss_run):
    """``run`` exits 0 and writes the manifest and the base case's series, replicas, events and summary."""
    result, out = zone_loss_run
    assert result.exit_code == 0, result.output
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replicas"] == 2 and manifest["engine"] == "fluid" and manifest["variants"] == ["base"]
    assert manifest["duration_s"] == 90.0
    series = pd.read_parquet(out / "base" / "series.parquet")
    assert list(series.columns) == ["t_s", "stat", "entity_kind", "entity", "metric", "value"]
    assert series["t_s"].max() < 90.0
    assert len(pd.read_parquet(out / "base" / "replicas.parquet")) > 0
    events = pd.read_parquet(out / "base" / "events.parquet")
    assert set(events["kind"]) >= {"fault_start", "fault_end"}
    summary = json.loads((out / "base" / "summary.json").read_text())
    assert summary["info"]["dt_s"] == manifest["dt_s"] > 0
    assert summary["info"]["bin_width_s"] == manifest["bin_width_s"] > 0


def test_run_summary_states_dt_and_bin_width(zone_loss_run):
    """The printed summary gives the step dt and the age-bin width used, and where the results went."""
    result, out = zone_loss_run
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # the console wraps long lines at 80 columns
    assert re.search(r"\bdt [0-9.]+ s", text), text
    assert re.search(r"bin width [0-9.]+ s", text), text
    assert f"results written to {out}" in text


def test_run_rejects_an_unknown_variant_and_writes_nothing(tmp_path):
    """``run --variant nosuch`` exits 2 naming the variant and those the scenario has, writing nothing."""
    out = tmp_path / "out"
    result = invoke("run", *SHOP_ZONE_LOSS, "--variant", "nosuch", "--out", out)
    assert_user_error(result, "unknown variant", "nosuch", "lifo")
    assert not out.exists()


# (arguments after ``run``, substrings the message must contain)
BAD_RUNS = {
    "bad model": ([BAD / "wrong_type.yaml", SHOP / "zone-loss.yaml"], [f"{BAD / 'wrong_type.yaml'}:10"]),
    "missing model": ([SHOP / "no-such-model.yaml", SHOP / "zone-loss.yaml"],
                      ["no-such-model.yaml", "no such file"]),
    "model as scenario": ([SHOP / "model.yaml", SHOP / "model.yaml"], ["unknown key 'services'"]),
    "unknown fault target": ([GOOD_MODEL, BAD / "scenario_unknown_target.yaml"],
                             [f"{BAD / 'scenario_unknown_target.yaml'}:7"]),
    "unknown engine": ([*SHOP_ZONE_LOSS, "--engine", "foo"], ["fluid, des", "'foo'"]),
    "no replicas": ([*SHOP_ZONE_LOSS, "--replicas", "0"], ["--replicas"]),
    "--set names nothing": ([*SHOP_ZONE_LOSS, "--set", "scenario.duration=90s"], ["--set", "'scenario'"]),
    "--set bad value": ([*SHOP_ZONE_LOSS, "--set", "duration=0s"], ["--set", "'duration'", "above 0"]),
}


@pytest.mark.parametrize("case", list(BAD_RUNS))
def test_run_rejects_bad_input_and_writes_nothing(tmp_path, monkeypatch, case):
    """``run`` on bad files or options exits 2 with a clear message, creating neither --out nor ./results."""
    args, needles = BAD_RUNS[case]
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert_user_error(invoke("run", *args, "--out", out), *needles)
    assert not any(tmp_path.iterdir())


def test_run_never_replaces_a_folder_that_is_not_a_results_directory(tmp_path):
    """``run --out`` on a non-empty folder without a manifest exits 2 and leaves the folder as it was."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = invoke("run", *SHOP_ZONE_LOSS, "--replicas", "1", "--set", "duration=10s", "--out", out)
    assert_user_error(result, "refusing to replace", "not an outagesim results directory")
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "keep me"


def test_run_on_the_request_level_engine_works_for_a_tiny_model(tmp_path):
    """``run --engine des`` on a tiny model exits 0 and writes a results directory marked des."""
    out = tmp_path / "out"
    result = invoke("run", GOOD_MODEL, GOOD_SCENARIO, "--engine", "des", "--replicas", "2",
                    "--set", "duration=20s", "--set", "faults.az1-down.at=5s",
                    "--set", "faults.az1-down.duration=5s", "--out", out)
    assert result.exit_code == 0, result.output
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    assert json.loads((out / "manifest.json").read_text())["engine"] == "des"
    assert json.loads((out / "base" / "summary.json").read_text())["engine"] == "des"


def test_run_refuses_an_oversized_request_level_run(tmp_path):
    """``run --engine des`` on a run too big for the request-level engine exits 2 pointing at --force."""
    out = tmp_path / "out"
    result = invoke("run", *SHOP_ZONE_LOSS, "--engine", "des", "--replicas", "100", "--out", out)
    assert_user_error(result, "--force", "service visits")
    assert not out.exists()


def test_run_variant_all_runs_every_variant(tmp_path):
    """``run --variant all`` runs the base and every variant of the scenario, each with its own folder."""
    out = tmp_path / "out"
    result = invoke("run", SHOP / "model.yaml", SHOP / "retry-storm.yaml", "--variant", "all",
                    "--replicas", "2", *SHORT_RETRY_STORM, "--out", out)
    assert result.exit_code == 0, result.output
    names = ["base", "lifo", "backoff", "fewer-retries", "retry-budget"]
    assert json.loads((out / "manifest.json").read_text())["variants"] == names
    for name in names:
        for part in ("series.parquet", "replicas.parquet", "events.parquet", "summary.json"):
            assert (out / name / part).is_file(), (name, part)
        assert json.loads((out / name / "summary.json").read_text())["variant"] == name
