"""The ``compare`` and ``runs`` commands, and ``run --store``: what they print, write and refuse."""

from __future__ import annotations

import inspect
import json
import re

import duckdb
import pytest

from outagesim import cli
from tests.test_cli import SHOP, SHOP_ZONE_LOSS, assert_user_error, invoke

SHORT_STORM = ["--set", "duration=60s", "--set", "faults.catalog-db-restarts.at=20s",
               "--set", "faults.catalog-db-restarts.duration=20s"]
TINY_ZONE_LOSS = ["--set", "duration=20s", "--set", "faults.az1-down.at=5s", "--set", "faults.az1-down.duration=5s"]
STORM = [SHOP / "model.yaml", SHOP / "retry-storm.yaml"]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """``compare`` of lifo against the base on the shortened storm, 2 replicas, stored: (result, dir, store)."""
    root = tmp_path_factory.mktemp("compare")
    out, store = root / "storm", root / "results.duckdb"
    result = invoke("compare", *STORM, "--variant", "lifo", "--replicas", "2", "--workers", "1", *SHORT_STORM,
                    "--out", out, "--store", store)
    return result, out, store


def test_run_compare_and_replay_take_the_same_options():
    """``run``, ``compare`` and ``replay`` have the same options, declarations and defaults (shared, not
    copied); ``replay`` takes a replay's name where the others take the model and scenario files."""
    run = inspect.signature(cli.run).parameters
    assert run == inspect.signature(cli.compare).parameters
    replay = dict(inspect.signature(cli.replay).parameters)
    del replay["name"]
    assert replay == {k: v for k, v in run.items() if k not in ("model", "scenario")}


def test_compare_prints_a_paired_table_per_tenant_metric(compared):
    """``compare`` exits 0 and prints, per tenant metric, lifo − base with its interval and a verdict."""
    result, out, _ = compared
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for title in ("user-minutes lost", "failed requests", "$ lost to failed requests", "$ lost to downtime",
                  "minutes down", "stuck replicas (share)"):
        assert f"{title}: variant − base, paired by replica" in text, title
    # the first table is user-minutes lost: lifo's row has a negative difference and says lower
    row = next(line for line in result.output.splitlines() if "shoppers" in line and "lifo" in line)
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells[4].startswith("-") and cells[-1] == "lower", cells
    assert json.loads((out / "manifest.json").read_text())["variants"] == ["base", "lifo"]


def test_compare_store_and_runs_list_and_show(compared):
    """``compare --store`` appends the run; ``runs list`` shows it and ``runs show`` gives its outcomes."""
    result, out, store = compared
    run_id = re.search(r"run (\S+) appended to the store", result.output).group(1)
    listed = invoke("runs", "list", "--store", store)
    assert listed.exit_code == 0, listed.output
    assert run_id in listed.output and "retry-storm" in listed.output and "base, lifo" in listed.output
    shown = invoke("runs", "show", run_id, "--store", store)
    assert shown.exit_code == 0, shown.output
    assert str(out.resolve()) in " ".join(shown.output.split()) or "results_dir" in shown.output
    assert re.search(r"lifo\s+│\s+shoppers", shown.output) and "services (base)" in shown.output


def test_compare_without_a_variant_is_refused_before_running(tmp_path):
    """``compare`` with no --variant exits 2 listing the scenario's variants, writing nothing."""
    out = tmp_path / "out"
    assert_user_error(invoke("compare", *STORM, "--out", out, "--store", tmp_path / "s.duckdb"),
                      "at least one variant", "lifo, backoff")
    assert list(tmp_path.iterdir()) == []


def test_run_store_appends_and_a_bad_store_is_refused_before_running(tmp_path):
    """``run --store`` appends one run; a store that is not a DuckDB file fails fast, with no results."""
    store = tmp_path / "results.duckdb"
    result = invoke("run", *SHOP_ZONE_LOSS, "--replicas", "1", *TINY_ZONE_LOSS, "--out", tmp_path / "a",
                    "--store", store)
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT scenario_name, replicas FROM runs").fetchall() == [("zone-loss", 1)]
    bad = tmp_path / "bad.duckdb"
    bad.write_text("hello")
    assert_user_error(invoke("run", *SHOP_ZONE_LOSS, "--replicas", "1", *TINY_ZONE_LOSS, "--out",
                             tmp_path / "b", "--store", bad), "expected a DuckDB results store")
    assert not (tmp_path / "b").exists() and bad.read_text() == "hello"


def test_runs_commands_on_a_missing_store_or_run_exit_2(tmp_path, monkeypatch):
    """``runs list`` without a store (default results.duckdb) and ``runs show`` of an unknown id exit 2."""
    monkeypatch.chdir(tmp_path)
    assert_user_error(invoke("runs", "list"), "no results store at results.duckdb")
    assert_user_error(invoke("runs", "show", "20260101-000000-abcd"), "no results store")
    assert list(tmp_path.iterdir()) == []
