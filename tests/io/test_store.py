"""The DuckDB results store: runs round-trip, appends are all or nothing, and mistakes are clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from outagesim import Results, apply_overrides, load, simulate
from outagesim.errors import OutagesimError, StoreError
from outagesim.io import store as store_mod
from outagesim.io.store import append_run, check_store, list_runs, read_run

GOOD = Path(__file__).parents[1] / "data" / "good"


@pytest.fixture(scope="module")
def results() -> Results:
    """A real two-replica run of the minimal model (about a second)."""
    model, scenario = load(GOOD / "minimal.yaml", GOOD / "minimal_scenario.yaml")
    model, scenario = apply_overrides(model, scenario, ["duration=20s", "faults.az1-down.at=5s",
                                                        "faults.az1-down.duration=5s"])
    return simulate(model, scenario, replicas=2, seed=3, workers=1)


def count(path: Path, table: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_run_round_trips_with_its_facts_and_outcomes(tmp_path, results):
    """What append_run stores, list_runs and read_run give back: ids, manifest facts and every outcome."""
    path = tmp_path / "results.duckdb"
    when = datetime(2026, 3, 2, 15, 0, 7, tzinfo=UTC)
    run_id = append_run(path, results, scenario_name="minimal", results_dir="out/x", created_at=when)
    assert run_id.startswith("20260302-150007-")
    runs = list_runs(path)
    assert runs.run_id.tolist() == [run_id]
    row = runs.iloc[0]
    m = results.manifest
    assert (row.scenario_name, row.model_hash, row.scenario_hash, row.seed, row.replicas, row.engine) == (
        "minimal", m["model_hash"], m["scenario_hash"], 3, 2, "fluid")
    assert list(row.variants) == ["base"] and row.engine_version == m["versions"]["outagesim"]
    assert row.created_at == pd.Timestamp("2026-03-02 15:00:07")
    stored = read_run(path, run_id)
    assert stored.manifest["dependency_graph"] == m["dependency_graph"]
    got = stored.outcomes.drop(columns="variant")
    pd.testing.assert_frame_equal(got, results.outcomes["base"], check_dtype=False)


def test_runs_accumulate_in_order_with_distinct_ids(tmp_path, results):
    """Three appends give three runs, oldest first, each with its own outcomes."""
    path = tmp_path / "results.duckdb"
    ids = [append_run(path, results, scenario_name=f"s{k}", created_at=datetime(2026, 1, 1, 0, 0, k, tzinfo=UTC))
           for k in range(3)]
    assert len(set(ids)) == 3
    assert list_runs(path).scenario_name.tolist() == ["s0", "s1", "s2"]
    assert count(path, "outcomes") == 3 * len(results.outcomes["base"])
    assert len(read_run(path, ids[1]).outcomes) == len(results.outcomes["base"])


def test_a_failed_append_leaves_the_store_as_it_was(tmp_path, results, monkeypatch):
    """A run id already there, or a failure after the run's row went in, changes nothing in the store."""
    path = tmp_path / "results.duckdb"
    first = append_run(path, results, scenario_name="a")
    with pytest.raises(StoreError, match=f"could not append run {first}.*unchanged"):
        append_run(path, results, scenario_name="b", run_id=first)

    def broken(con, table):
        raise duckdb.IOException("disk full (simulated)")

    monkeypatch.setattr(store_mod, "_insert_outcomes", broken)
    with pytest.raises(StoreError, match="disk full"):
        append_run(path, results, scenario_name="c")
    assert list_runs(path).run_id.tolist() == [first]
    assert count(path, "outcomes") == len(results.outcomes["base"])


def test_a_failed_first_append_leaves_no_file(tmp_path, results, monkeypatch):
    """When the store did not exist, a failed append removes the file it started."""
    path = tmp_path / "new.duckdb"

    def broken(con, table):
        raise duckdb.IOException("disk full (simulated)")

    monkeypatch.setattr(store_mod, "_insert_outcomes", broken)
    with pytest.raises(StoreError):
        append_run(path, results, scenario_name="a")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_store_or_unknown_run_is_a_user_error(tmp_path, results):
    """Reading a store that is not there, or a run it lacks, raises a StoreError saying what was found."""
    missing = tmp_path / "nothing.duckdb"
    for call in (lambda: list_runs(missing), lambda: read_run(missing, "x")):
        with pytest.raises(StoreError, match="no results store at .*nothing.duckdb.*found nothing"):
            call()
    assert not missing.exists()
    path = tmp_path / "results.duckdb"
    run_id = append_run(path, results, scenario_name="a")
    with pytest.raises(StoreError, match=f"no run 'nosuch'.*latest: {run_id}") as info:
        read_run(path, "nosuch")
    assert isinstance(info.value, OutagesimError)


def test_files_that_are_not_stores_are_refused_untouched(tmp_path, results):
    """A text file, or a DuckDB file with other tables, is not written to and gives a clear StoreError."""
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database")
    with pytest.raises(StoreError, match="cannot open"):
        append_run(text, results, scenario_name="a")
    assert text.read_text() == "not a database"
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE sales (x INTEGER)")
    for call in (lambda: check_store(other), lambda: list_runs(other)):
        with pytest.raises(StoreError, match="found a DuckDB file with tables sales"):
            call()
    with pytest.raises(StoreError, match="folder .* does not exist"):
        check_store(tmp_path / "no" / "such" / "store.duckdb")


def test_an_outcome_column_new_to_the_store_is_added(tmp_path, results):
    """Outcomes with a column older runs lack go in; the older rows read it as missing."""
    path = tmp_path / "results.duckdb"
    old = append_run(path, results, scenario_name="old")
    wider = Results(manifest=results.manifest, runs=results.runs,
                    outcomes={"base": results.outcomes["base"].assign(time_to_detect_s=12.5)})
    new = append_run(path, wider, scenario_name="new")
    assert (read_run(path, new).outcomes.time_to_detect_s == 12.5).all()
    assert read_run(path, old).outcomes.time_to_detect_s.isna().all()
