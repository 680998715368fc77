"""Impact numbers of a real run reconcile with the series it wrote, computed here independently."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from outagesim import Results
from outagesim.analysis.impact import OUTCOME_COLUMNS, impact, outage_windows
from outagesim.analysis.windows import Availability
from outagesim.errors import AnalysisError

SHORT = Availability(down_for_s=20.0, recovered_for_s=20.0)  # a 20 s storm is an outage at this scale


def replica_series(out, variant: str, kind: str, entity: str, metric: str) -> pd.DataFrame:
    """float[R, N] of one series from series.parquet's r<k> rows, as a frame indexed by replica."""
    s = pd.read_parquet(out / variant / "series.parquet")
    s = s[(s.entity_kind == kind) & (s.entity == entity) & (s.metric == metric) & s.stat.str.match(r"r\d+$")]
    wide = s.pivot(index="stat", columns="t_s", values="value")
    wide.index = [int(i[1:]) for i in wide.index]
    return wide.sort_index()


@pytest.mark.parametrize("variant", ["base", "lifo"])
def test_user_minutes_equal_the_integral_of_failed_demand_times_users(storm, variant):
    """user-minutes lost = Σ users_per_rps × clip(demand − goodput, 0, demand) × interval / 60, per replica."""
    _, out = storm
    manifest = json.loads((out / "manifest.json").read_text())
    users = manifest["tenants"]["shoppers"]["users_per_rps"]
    dt = manifest["record_every_s"]
    demand = replica_series(out, variant, "tenant", "shoppers", "demand").to_numpy()
    good = replica_series(out, variant, "tenant", "shoppers", "goodput").to_numpy()
    expected = (users * np.clip(demand - good, 0, demand)).sum(axis=1) * dt / 60
    rows = pd.read_parquet(out / variant / "replicas.parquet")
    got = rows[rows.entity_kind == "tenant"].sort_values("replica").user_minutes_lost.to_numpy()
    assert expected.min() > 1000  # the storm costs something, so the check is not 0 == 0
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_failed_requests_and_money_follow_the_series_and_are_never_summed(storm):
    """failed = Σ errors × interval; $ per failed request and $ per minute down are separate columns."""
    _, out = storm
    manifest = json.loads((out / "manifest.json").read_text())
    value = manifest["tenants"]["shoppers"]
    errors = replica_series(out, "base", "tenant", "shoppers", "errors").to_numpy()
    rows = pd.read_parquet(out / "base" / "replicas.parquet")
    ten = rows[rows.entity_kind == "tenant"].sort_values("replica")
    np.testing.assert_allclose(ten.failed_requests, errors.sum(axis=1) * manifest["record_every_s"], rtol=1e-9)
    np.testing.assert_allclose(ten.money_failed_requests, ten.failed_requests * value["value_per_failed"])
    np.testing.assert_allclose(ten.money_downtime, ten.minutes_down * value["value_per_minute_down"])
    assert not any("total" in c or "money" == c for c in rows.columns)


def test_minutes_down_equal_the_outage_windows_which_match_the_series(storm):
    """With a 20 s threshold, minutes down are the windows' total and each window starts below 50% served."""
    results, out = storm
    again = Results.read(out)
    outcomes = impact(again, "base", availability=SHORT)
    windows = outage_windows(again, "base", availability=SHORT)
    assert len(windows) > 0
    total = windows.groupby(["entity_kind", "entity", "replica"]).duration_s.sum() / 60
    down = outcomes.set_index(["entity_kind", "entity", "replica"]).minutes_down
    np.testing.assert_allclose(down.reindex(total.index), total)
    assert down.drop(total.index).eq(0).all()
    demand = replica_series(out, "base", "tenant", "shoppers", "demand")
    good = replica_series(out, "base", "tenant", "shoppers", "goodput")
    for w in windows[windows.entity == "shoppers"].itertuples():
        assert good.loc[w.replica, w.start_s] < 0.5 * demand.loc[w.replica, w.start_s]
        if w.start_s > 0:
            assert good.loc[w.replica, w.start_s - 10.0] >= 0.5 * demand.loc[w.replica, w.start_s - 10.0]


def test_impact_read_back_equals_impact_as_run(storm):
    """Outcomes recomputed from a --keep-replicas directory equal those computed when the run was made."""
    results, out = storm
    again = impact(Results.read(out), "lifo", availability=Availability())
    pd.testing.assert_frame_equal(again, results.outcomes["lifo"][OUTCOME_COLUMNS])


def test_service_timings_match_the_service_series(storm):
    """catalog-db's first error is the first post-trigger interval with >= 1% failed; its peak is the max."""
    results, out = storm
    rows = results.outcomes["base"]
    db = rows[(rows.entity_kind == "service") & (rows.entity == "catalog-db")].sort_values("replica")
    arrivals = replica_series(out, "base", "service", "catalog-db", "arrivals")
    failed = (replica_series(out, "base", "service", "catalog-db", "errors")
              + replica_series(out, "base", "service", "catalog-db", "timeouts"))
    after = failed.columns >= 20.0  # the trigger is at 20 s, on an interval boundary
    for k, row in enumerate(db.itertuples()):
        erroring = failed.columns[after & (failed.loc[k] >= 0.01 * arrivals.loc[k]).to_numpy()]
        assert row.time_to_first_error_s == erroring[0] - 20.0
        assert row.peak_error_rate_per_s == pytest.approx(failed.loc[k][after].max(), rel=1e-9)
        assert row.peak_error_rate_per_s > 10


def test_the_tenant_recovers_with_lifo_and_not_in_the_base_case(storm):
    """In the shortened storm (20 s thresholds), every lifo replica recovers and no base replica does."""
    results, _ = storm
    base, lifo = (impact(results, v, availability=SHORT) for v in ("base", "lifo"))
    base, lifo = base[base.entity_kind == "tenant"], lifo[lifo.entity_kind == "tenant"]
    assert not base.recovered.any() and base.time_to_recover_s.isna().all()
    assert lifo.recovered.all() and (lifo.time_to_recover_s > 0).all()


def test_new_thresholds_without_replica_series_are_a_user_error(storm, tmp_path):
    """A directory without r<k> rows still gives its stored outcomes, but new thresholds need --keep-replicas."""
    results, _ = storm
    out = results.write(tmp_path / "stats-only")
    again = Results.read(out)
    assert len(impact(again, "base")) == len(results.outcomes["base"])
    with pytest.raises(AnalysisError, match="--keep-replicas"):
        impact(again, "base", availability=SHORT)
    with pytest.raises(AnalysisError, match="no variant 'nosuch'.*base, lifo"):
        outage_windows(again, "nosuch")
