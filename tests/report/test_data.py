"""What the report shows: the downsampling rule, milestones, the call graph's layout and the impact table."""

from __future__ import annotations

import numpy as np
import pytest

from outagesim import ReportError
from outagesim.record import Event, RunRecord
from outagesim.report import data
from outagesim.results import Results


def test_buckets_keep_at_most_max_points_and_the_total():
    """Any number of intervals becomes at most MAX_POINTS buckets, and bucket sums add up to the series' sum."""
    rng = np.random.default_rng(0)
    for n in (1, 499, 500, 501, 8640, 100_003):
        values = rng.random(n)
        k = data.bucket_size(n)
        sums = data.bucket_sum(values, k)
        assert len(sums) <= data.MAX_POINTS and len(data.bucket_mean(values, k)) == len(sums)
        assert sums.sum() == pytest.approx(values.sum())
        assert k == 1 or len(sums) > data.MAX_POINTS // 2  # buckets no wider than needed


def test_a_bucket_s_goodput_share_is_the_ratio_of_its_sums():
    """A bucket's goodput share is its goodput over its arrivals, not the mean of per-interval shares."""
    t = np.arange(1000.0)
    arrivals = np.where(t % 2 == 0, 100.0, 1.0)[None, :]
    goodput = np.where(t % 2 == 0, 100.0, 0.0)[None, :]
    rec = RunRecord(engine="fluid", t_s=t, interval_s=1.0,
                    series={("service", "s", "arrivals"): arrivals, ("service", "s", "goodput"): goodput})
    share = data.share(rec, "service", "s", k=2)
    assert share == pytest.approx(np.full(500, 100 / 101))  # a mean of shares would say 0.5


def test_states_follow_the_down_and_recovered_thresholds():
    """Goodput share >= 95% is healthy, 50-95% degraded, < 50% failing, and no arrivals idle."""
    states = data.state_of(np.array([1.0, 0.95, 0.94, 0.5, 0.49, 0.0, np.nan]))
    assert list(states) == ["healthy", "healthy", "degraded", "degraded", "failing", "failing", "idle"]


def test_per_replica_events_are_grouped_per_bucket(storm_results):
    """Events of many replicas in one bucket become one mark that counts the replicas and events."""
    rec = storm_results.runs["base"]
    events = [Event(t_s=12.0 + r, kind="breaker_open", entity="a->b", replica=r) for r in range(5)]
    events += [Event(t_s=12.5, kind="breaker_open", entity="a->b", replica=0), Event(t_s=95.0, kind="x", entity="e")]
    marks = data.event_marks(RunRecord(rec.engine, rec.t_s, rec.interval_s, rec.series, events), bucket_s=60.0)
    first = marks[marks["kind"] == "breaker_open"].iloc[0]
    assert len(marks) == 2 and first["replicas"] == 5 and first["count"] == 6 and first["t_s"] == 12.0


def test_milestones_are_placed_on_the_run_s_clock(replay_dir):
    """Observed milestones sit at their UTC time minus the anchor, with the stated or the default tolerance."""
    results = Results.read(replay_dir)
    got = {m.id: m for m in data.milestones(results)}
    assert got["catalog-down"].t_s == 25.0 and got["catalog-down"].kind == "calibration"
    assert got["catalog-down"].tolerance_s == 300.0  # default: max(20% of 5 s after the trigger, 5 min)
    assert got["shop-stuck"].tolerance_s == 30.0 and "shoppers goodput < 0.1" in got["shop-stuck"].predicate


def test_no_observed_json_means_no_milestones(storm_dir):
    """A results directory without observed.json has no milestones (and that is not an error)."""
    assert data.milestones(Results.read(storm_dir)) == []


@pytest.mark.parametrize("observed, needle", [
    ({"m": {"kind": "prediction"}}, "'utc'"),
    ({"m": {"utc": "yesterday"}}, "ISO-8601"),
    ({"m": {"utc": "2026-03-02T15:00:00"}}, "ending in 'Z'"),
    ({"m": {"utc": "2026-03-02T15:00:00Z", "tolerance": "soon"}}, "duration"),
    (["m"], "map of milestone id"),
])
def test_a_malformed_milestone_is_a_report_error(storm_results, observed, needle):
    """A milestone without a UTC time, with a bad time or tolerance, raises ReportError saying what was expected."""
    results = Results(manifest=storm_results.manifest, runs=storm_results.runs, observed=observed)
    with pytest.raises(ReportError, match="observed.json") as info:
        data.milestones(results)
    assert needle in str(info.value)


def test_the_layout_puts_callers_left_of_callees(storm_results):
    """In the graph's layout every call goes from a smaller x to a larger one, and no two nodes overlap."""
    g = data.call_graph(storm_results)
    pos = data.graph_layout(g)
    assert set(pos) == set(g.nodes) and "tenant:shoppers" in pos
    assert all(pos[u][0] < pos[v][0] for u, v in g.edges)
    assert len(set(pos.values())) == len(pos)


def test_the_layout_survives_a_cycle():
    """A cycle through an async call still gets every node a position."""
    results = Results(manifest={"dependency_graph": [
        {"from": "a", "to": "b", "sync": True, "hard": True}, {"from": "b", "to": "a", "sync": False, "hard": True},
        {"from": "b", "to": "c", "sync": True, "hard": False}]},
        runs={"base": RunRecord("fluid", np.arange(2.0), 1.0, {})})
    pos = data.graph_layout(data.call_graph(results))
    assert set(pos) == {"a", "b", "c"} and pos["c"][0] > pos["b"][0]


def test_impact_table_gives_mean_and_spread_per_variant_and_tenant(storm_results):
    """The impact table's mean and p5/p95 match the replicas' outcomes, for each variant and tenant."""
    table = data.tenant_impact(storm_results)
    assert list(table["variant"]) == ["base", "lifo"] and set(table["tenant"]) == {"shoppers"}
    base = storm_results.outcomes["base"]
    lost = base[base.entity_kind == "tenant"]["user_minutes_lost"]
    row = table.iloc[0]
    assert row["user_minutes_lost_mean"] == pytest.approx(lost.mean())
    assert row["user_minutes_lost_p5"] <= row["user_minutes_lost_mean"] <= row["user_minutes_lost_p95"]
    assert row["replicas"] == 2 and 0 < row["failed_share_mean"] < 1
