"""Paired comparison of variants against the base case, on a real run of the shop retry storm."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from outagesim import Results
from outagesim.analysis.compare import compare, paired_summary
from outagesim.errors import AnalysisError


def per_replica(results: Results, variant: str, metric: str) -> np.ndarray:
    rows = results.outcomes[variant]
    return rows[rows.entity_kind == "tenant"].sort_values("replica")[metric].to_numpy(dtype=float)


@pytest.mark.parametrize("metric", ["user_minutes_lost", "failed_requests", "money_failed_requests"])
def test_the_paired_difference_is_the_per_replica_difference(storm, metric):
    """diff_mean, its standard error and t-interval are those of lifo − base taken replica by replica."""
    results, _ = storm
    d = per_replica(results, "lifo", metric) - per_replica(results, "base", metric)
    row = compare(results).set_index("metric").loc[metric]
    assert row.n == len(d) == 3
    assert row.diff_mean == pytest.approx(d.mean(), rel=1e-12)
    se = d.std(ddof=1) / math.sqrt(3)
    assert row.diff_se == pytest.approx(se, rel=1e-12)
    half = stats.t.ppf(0.975, 2) * se
    assert (row.mean_low, row.mean_high) == pytest.approx((d.mean() - half, d.mean() + half), rel=1e-12)
    assert row.replica_low == pytest.approx(np.quantile(d, 0.025)) and row.replica_high == pytest.approx(
        np.quantile(d, 0.975))


def test_lifo_lowers_the_user_minutes_lost_and_the_interval_excludes_zero(storm):
    """lifo, a known fix for the shop's retry storm, loses fewer user-minutes in every replica, clearly."""
    results, _ = storm
    row = compare(results, ["lifo"]).set_index("metric").loc["user_minutes_lost"]
    assert row.diff_mean < 0 and row.mean_high < 0 and row.replica_high < 0
    assert row.diff_mean < -0.2 * row.base_mean  # not a rounding-size effect


def test_a_comparison_read_from_disk_equals_the_one_in_memory(storm):
    """compare needs only replicas.parquet: a results directory gives the same table as the run did."""
    results, out = storm
    for kind in ("tenant", "service"):
        pd.testing.assert_frame_equal(compare(Results.read(out), entity_kind=kind),
                                      compare(results, entity_kind=kind))


def test_a_replica_that_never_recovered_is_left_out_of_the_pairs(storm):
    """Pairs with a NaN (no time to recover) are dropped and n says how many remain."""
    results, _ = storm
    table = compare(results, entity_kind="service", metrics=["time_to_recover_s"]).set_index("entity")
    base = results.outcomes["base"]
    never = base[(base.entity == "frontend")].time_to_recover_s.isna().sum()
    assert never > 0 and table.loc["frontend", "n"] == 3 - never


def test_comparisons_that_cannot_be_made_are_user_errors(storm):
    """No variant, an unknown variant or metric, or unpaired replicas raise an AnalysisError saying why."""
    results, _ = storm
    only_base = Results(manifest=results.manifest, runs={"base": results.runs["base"]},
                        outcomes={"base": results.outcomes["base"]})
    with pytest.raises(AnalysisError, match="nothing to compare"):
        compare(only_base)
    with pytest.raises(AnalysisError, match="no variant 'nosuch'.*base, lifo"):
        compare(results, ["nosuch"])
    with pytest.raises(AnalysisError, match="unknown outcome.*user_minutes"):
        compare(results, metrics=["user_minutes"])
    fewer = dict(results.outcomes, lifo=results.outcomes["lifo"].query("replica < 2"))
    unpaired = Results(manifest=results.manifest, runs=results.runs, outcomes=fewer)
    with pytest.raises(AnalysisError, match="same replicas.*2 and 3"):
        compare(unpaired)


def test_paired_summary_of_one_pair_has_a_mean_but_no_interval():
    """With one replica there is a difference but no standard error or interval (NaN, never 0)."""
    one = paired_summary(np.array([-5.0]))
    assert one["diff_mean"] == -5.0 and math.isnan(one["diff_se"]) and math.isnan(one["mean_low"])
    assert paired_summary(np.array([]))["n"] == 0
