"""Results: the long table, service aggregation, and the results directory (round trip, atomicity)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from outagesim import results as results_mod
from outagesim.errors import OutagesimError
from outagesim.io import atomic as atomic_mod
from outagesim.record import CELL_METRICS, Event, RunRecord
from outagesim.results import Results, StatsRecord, service_series

R, N, INTERVAL = 3, 6, 10.0
CELLS = ("api@aws/us-east-1/use1-az1", "api@aws/us-east-1/use1-az2", "db@aws/us-east-1/use1-az1")


def _record(seed: int) -> RunRecord:
    """A small synthetic run: one tenant, three cells, every metric, a NaN latency where idle."""
    rng = np.random.default_rng(seed)
    series: dict[tuple[str, str, str], np.ndarray] = {}
    for metric in ("demand", "attempts", "goodput", "errors"):
        series[("tenant", "shoppers", metric)] = rng.uniform(50, 100, (R, N))
    for cell in CELLS:
        for metric in CELL_METRICS:
            series[("cell", cell, metric)] = rng.uniform(0.1, 1.0, (R, N))
    series[("cell", CELLS[0], "completed")][0, 2] = 0.0
    series[("cell", CELLS[0], "latency_mean")][0, 2] = np.nan
    events = [Event(t_s=20.0, kind="fault_start", entity="db", detail="capacity_loss"),
              Event(t_s=30.0, kind="fault_end", entity="db", replica=1)]
    info = {"dt_s": 0.05, "bin_width_s": 0.05, "bins": 40, "note": np.float64(1.5)}
    return RunRecord(engine="fluid", t_s=np.arange(N) * INTERVAL, interval_s=INTERVAL, series=series,
                     events=events, info=info)


def _results() -> Results:
    outcomes = {name: pd.DataFrame({"replica": np.arange(R), "tenant": "shoppers",
                                    "failed_requests": np.arange(R) * 1.5 + k})
                for k, name in enumerate(("base", "lifo"))}
    return Results(manifest={"seed": 7, "replicas": R, "variants": ["base", "lifo"]},
                   runs={"lifo": _record(2), "base": _record(1)}, outcomes=outcomes,
                   observed={"milestones": {"m1": {"utc": "2026-03-02T15:05:00Z"}}})


def _tree(root) -> dict[str, bytes]:
    return {os.path.relpath(os.path.join(d, f), root): open(os.path.join(d, f), "rb").read()
            for d, _, fs in os.walk(root) for f in fs}


def test_base_run_comes_first():
    """The base run is always the first variant, whatever order the runs were given in."""
    assert _results().variants == ["base", "lifo"]


def test_long_table_has_stats_and_replicas():
    """to_pandas gives the long columns with mean/p5/p50/p95 rows, plus r<k> rows when asked."""
    res = _results()
    table = res.to_pandas()
    assert list(table.columns) == ["variant", "t_s", "stat", "entity_kind", "entity", "metric", "value"]
    assert set(table["stat"]) == {"mean", "p5", "p50", "p95"}
    assert set(table["variant"]) == {"base", "lifo"}
    assert set(table["entity_kind"]) == {"tenant", "cell", "service"}
    full = res.to_pandas("base", keep_replicas=True)
    assert set(full["stat"]) == {"mean", "p5", "p50", "p95", "r0", "r1", "r2"}
    row = full[(full.entity == "shoppers") & (full.metric == "goodput") & (full.t_s == 10.0)]
    raw = res.runs["base"].get("tenant", "shoppers", "goodput")[:, 1]
    by_stat = dict(zip(row["stat"], row["value"], strict=True))
    assert by_stat["mean"] == pytest.approx(raw.mean())
    assert by_stat["p50"] == pytest.approx(np.median(raw))
    assert by_stat["r2"] == raw[2]


def test_percentiles_match_numpy():
    """The vectorised NaN-aware percentiles equal numpy's nanpercentile, all-NaN slices giving NaN."""
    rng = np.random.default_rng(3)
    values = rng.random((12, 9, 5))
    values[rng.random(values.shape) < 0.3] = np.nan
    values[0, :, 0] = np.nan
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.moveaxis(np.nanpercentile(values, [5, 50, 95], axis=1), 0, 1)
    got = results_mod._nan_percentiles(values, (5.0, 50.0, 95.0))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_service_aggregation():
    """Services sum rates and levels, weight latency by completions, take the max p99, count idle workers."""
    ones = np.ones((1, 2))

    def cell(arrivals, completed, lat, p99, busy, util, healthy):
        return {"arrivals": arrivals * ones, "completed": completed * ones, "latency_mean": lat * ones,
                "latency_p99": p99 * ones, "in_service": busy * ones, "utilisation": util * ones,
                "healthy_instances": healthy * ones, "queue": 2.0 * ones}

    a = cell(100.0, 100.0, 0.2, 0.9, 8.0, 0.5, 4.0)  # 16 workers, 4 per instance
    b = cell(300.0, 300.0, 0.1, 0.5, 12.0, 0.75, 4.0)  # 16 workers
    a["latency_mean"][0, 1], a["completed"][0, 1] = np.nan, 0.0  # idle in the 2nd interval
    a["latency_p99"][0, 1] = np.nan
    series = {("cell", f"api@z{i}", m): v for i, c in enumerate((a, b)) for m, v in c.items()}
    out = service_series(series)
    get = lambda m: out[("service", "api", m)][0]  # noqa: E731
    assert get("arrivals").tolist() == [400.0, 400.0]
    assert get("queue").tolist() == [4.0, 4.0]
    assert get("latency_mean") == pytest.approx([(0.2 * 100 + 0.1 * 300) / 400, 0.1])
    assert get("latency_p99") == pytest.approx([0.9, 0.5])
    assert get("utilisation") == pytest.approx([20.0 / 32.0, 20.0 / 32.0])
    # a healthy cell that is idle in one interval still counts its workers there
    c = cell(0.0, 0.0, np.nan, np.nan, 0.0, 0.0, 4.0)
    c["in_service"][0, 0], c["utilisation"][0, 0] = 4.0, 0.25
    series.update({("cell", "api@z2", m): v for m, v in c.items()})
    assert service_series(series)[("service", "api", "utilisation")][0] == pytest.approx([24 / 48, 20 / 48])


def test_round_trip(tmp_path):
    """A directory written and read back gives the same tables, events, outcomes, manifest and summaries."""
    res = _results()
    first = res.write(tmp_path / "out", keep_replicas=True)
    back = Results.read(first)
    assert back.variants == ["base", "lifo"]
    assert isinstance(back.runs["base"], StatsRecord) and back.runs["base"].replicas == R
    pd.testing.assert_frame_equal(back.to_pandas(keep_replicas=True), res.to_pandas(keep_replicas=True))
    pd.testing.assert_frame_equal(back.to_pandas(), res.to_pandas())
    for name in res.variants:
        pd.testing.assert_frame_equal(back.outcomes[name], res.outcomes[name])
        assert back.runs[name].events == res.runs[name].events
        assert back.summary(name) == json.loads((first / name / "summary.json").read_text())
    assert back.manifest == res.manifest and back.observed == res.observed
    again = back.write(tmp_path / "again", keep_replicas=True)
    assert _tree(again) == _tree(first)


def test_summary_headline(tmp_path):
    """summary.json holds per-tenant totals (mean over replicas) and the failed share errors / demand."""
    res = _results()
    summ = json.loads((res.write(tmp_path / "out") / "base" / "summary.json").read_text())
    rec = res.runs["base"]
    demand = rec.get("tenant", "shoppers", "demand").sum(axis=1).mean() * INTERVAL
    errors = rec.get("tenant", "shoppers", "errors").sum(axis=1).mean() * INTERVAL
    head = summ["tenants"]["shoppers"]
    assert head["demand"] == pytest.approx(demand)
    assert head["failed_share"] == pytest.approx(errors / demand)
    assert summ["info"]["bins"] == 40 and summ["engine"] == "fluid"
    written = pd.read_parquet(tmp_path / "out" / "base" / "series.parquet")
    assert list(written.columns) == ["t_s", "stat", "entity_kind", "entity", "metric", "value"]
    assert list(pd.read_parquet(tmp_path / "out" / "base" / "events.parquet").columns) == [
        "t_s", "replica", "kind", "entity", "detail"]


def _leftovers(tmp_path) -> list[str]:
    return [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_failed_write_keeps_old_directory(tmp_path, monkeypatch):
    """A failure mid-write leaves the previous results untouched and no temporary directory behind."""
    out = _results().write(tmp_path / "out")
    before = _tree(out)
    calls = {"n": 0}
    real = results_mod._dump

    def failing_dump(path, data):
        calls["n"] += 1
        if calls["n"] == 3:  # after manifest.json, observed.json and base/ are written
            raise OSError("disk full")
        real(path, data)

    monkeypatch.setattr(results_mod, "_dump", failing_dump)
    with pytest.raises(OutagesimError, match="disk full"):
        _results().write(out)
    assert _tree(out) == before
    assert _leftovers(tmp_path) == []


def test_failed_swap_restores_old_directory(tmp_path, monkeypatch):
    """If renaming the new directory into place fails, the old one is moved back."""
    out = _results().write(tmp_path / "out")
    before = _tree(out)
    real = os.replace
    calls = {"n": 0}

    def failing_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == 2:  # old -> aside succeeded; new -> place fails
            raise OSError("rename failed")
        real(src, dst)

    monkeypatch.setattr(atomic_mod.os, "replace", failing_replace)
    with pytest.raises(OutagesimError, match="rename failed"):
        _results().write(out)
    monkeypatch.undo()
    assert _tree(out) == before
    assert _leftovers(tmp_path) == []


def test_refuses_to_replace_other_directories(tmp_path):
    """A non-empty folder that is not a results directory is never replaced, nor results without overwrite."""
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(OutagesimError, match="not an outagesim results directory"):
        _results().write(precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    out = _results().write(tmp_path / "out")
    with pytest.raises(OutagesimError, match="already holds results"):
        _results().write(out, overwrite=False)


def test_read_rejects_other_directories(tmp_path):
    """Reading a folder without a manifest is a clear OutagesimError."""
    with pytest.raises(OutagesimError, match="not an outagesim results directory"):
        Results.read(tmp_path)
