"""The CrowdStrike channel file 291 replay of 19 July 2024: who goes down, who does not, who comes back
when, and what a staged rollout would have changed.

The first day (base and the staged rollout, 1 replica, ~30 s of CPU) serves the always-run tests; the
full eleven days (~80 s) serve the ones marked slow (``make fidelity``).
"""

from __future__ import annotations

import numpy as np
import pytest

from outagesim import simulate
from outagesim.analysis.milestones import evaluate_milestones, read_observed
from outagesim.library import replay_paths
from outagesim.model.load import load
from tests.library.milestone_checks import missed_predictions

TRIGGER_S = 9 * 60  # 04:09, nine minutes after the anchor
HOUR = 3600.0
DOWN = ("amazon-warehouses", "amazon-email", "ec2-windows-customers", "delta", "sky-news", "us-911-centres")
UP = ("amazon-storefront", "aws-api-customers", "us-hospitals")
CLOUD = ("s3-get", "s3-put", "ec2-api", "lambda")


def _run(days: float | None):
    p = replay_paths("crowdstrike-2024")
    model, scenario = load(p.model, p.scenario)
    if days is not None:
        scenario = scenario.model_copy(update={"duration": days * 86400.0})
    return simulate(model, scenario, variants="all", replicas=1, seed=0), read_observed(p.observed)


@pytest.fixture(scope="module")
def day_one():
    return _run(1.0)


@pytest.fixture(scope="module")
def replay():
    return _run(None)


def _share(results, variant: str, kind: str, name: str) -> np.ndarray:
    rec = results.runs[variant]
    if kind == "tenant":
        good, base = rec.series[("tenant", name, "goodput")], rec.series[("tenant", name, "demand")]
    else:
        keys = [k for k in rec.series if k[0] == "cell" and k[1].startswith(name + "@")]
        good = sum(rec.series[(k[0], k[1], "goodput")] for k in {(k[0], k[1]) for k in keys})
        base = sum(rec.series[(k[0], k[1], "arrivals")] for k in {(k[0], k[1]) for k in keys})
    return (good.sum(axis=0) / np.maximum(base.sum(axis=0), 1e-12))[1:]  # the first interval is warm-up


def _first(results, variant: str, name: str, op: str, threshold: float, *, after_s: float = 0.0,
           sustain_s: float = 300.0) -> float | None:
    """Seconds after the anchor (04:00) from which tenant ``name``'s goodput share holds ``op threshold``."""
    spec = {"trigger": "2024-07-19T04:09:00Z", "milestones": {"m": {"utc": None, "kind": "prediction",
            "predicate": {"entity": f"tenant:{name}", "metric": "goodput_share", "op": op,
                          "threshold": threshold, "sustain_s": sustain_s,
                          "after": f"2024-07-19T{4 + int(after_s // 3600):02d}:{int(after_s % 3600 // 60):02d}:00Z"}}}}
    return evaluate_milestones(results, spec, variant)[0].simulated_s


def _crashed_max(results, variant: str) -> dict[str, float]:
    rec = results.runs[variant]
    return {k[1]: float(v.max()) for k, v in rec.series.items() if k[0] == "fleet" and k[2] == "crashed_hosts"}


# --------------------------------------------------------------------------- the first day (always run)
def test_tenants_on_crashed_fleets_go_down_within_minutes_and_the_cloud_does_not(day_one):
    """Every tenant whose service runs on Windows hosts online at 04:09 goes down (< 50% served) within
    10 minutes; Amazon's Linux storefront, AWS's customers of S3, EC2 and Lambda, and those services
    themselves never do."""
    results, _ = day_one
    for name in DOWN:
        t = _first(results, "base", name, "<", 0.5)
        assert t is not None and t - TRIGGER_S <= 600, (name, t)
    for name in UP:
        assert _share(results, "base", "tenant", name).min() >= 0.5, name
    for svc in CLOUD:
        assert _share(results, "base", "service", svc).min() >= 0.95, svc


def test_hospitals_are_hit_at_the_us_morning_not_at_the_crash(day_one):
    """Hospitals lose the 70% of their hosts that were on at night, which carry the night's load; they
    fall below 95% served only when US morning demand outgrows what is left (08:00-12:00 UTC, 4-8 am
    Eastern), and never below 50% (non-urgent care cancelled, emergency care going on)."""
    results, _ = day_one
    share = _share(results, "base", "tenant", "us-hospitals")
    hit = _first(results, "base", "us-hospitals", "<", 0.95)
    assert hit is not None and 4 * HOUR <= hit <= 8 * HOUR, hit  # seconds after the 04:00 anchor
    assert 0.5 <= share.min() < 0.9


def test_amazon_warehouses_come_back_within_hours_and_before_email(day_one):
    """Amazon's warehouses are back (>= 95% for an hour) within 6 hours of the crash; its work email, on
    a larger server fleet with more encrypted disks, later the same day, before Delta."""
    results, _ = day_one
    wh = _first(results, "base", "amazon-warehouses", ">=", 0.95, after_s=HOUR, sustain_s=HOUR)
    email = _first(results, "base", "amazon-email", ">=", 0.95, after_s=HOUR, sustain_s=HOUR)
    delta = _first(results, "base", "delta", ">=", 0.95, after_s=HOUR, sustain_s=HOUR)
    assert wh is not None and wh - TRIGGER_S <= 6 * HOUR
    assert email is not None and wh < email <= 16 * HOUR
    assert delta is None or delta > email


def test_laptops_asleep_at_night_are_spared_servers_are_not(day_one):
    """Amazon's laptops (Seattle at 21:09) crash in their online share only, a minority; the servers,
    always on, all crash; the world fleet crashes ~8.5 M hosts (the calibration, within 2%)."""
    results, _ = day_one
    crashed = _crashed_max(results, "base")
    assert 0.1 <= crashed["amazon-corp-laptops"] / 100000 <= 0.3
    assert crashed["amazon-corp-servers"] == pytest.approx(10000, rel=1e-6)
    assert crashed["falcon-windows-world"] == pytest.approx(8.5e6, rel=0.02)


def test_a_staged_rollout_limits_the_crash_to_the_canary_ring_and_nobody_goes_down(day_one):
    """With a 1% canary ring rolled back once its hosts crash, every fleet loses at most 1% of its hosts
    (base: up to 100%), and no tenant falls below 95% served (base: six go down)."""
    results, _ = day_one
    base, staged = _crashed_max(results, "base"), _crashed_max(results, "staged-rollout")
    hosts = {"falcon-windows-world": 12.2e6, "amazon-warehouse-pcs": 3000, "amazon-corp-servers": 10000,
             "amazon-corp-laptops": 100000, "ec2-windows-sensor": 20000, "delta-windows": 40000,
             "sky-playout": 400, "us-911-dispatch": 2000, "us-hospital-pcs": 30000}
    for fleet, n in hosts.items():
        assert staged[fleet] <= 0.01 * n + 1e-6, fleet
        assert staged[fleet] <= 0.02 * base[fleet], fleet
    for name in DOWN + UP:
        assert _share(results, "staged-rollout", "tenant", name).min() >= 0.95, name


# --------------------------------------------------------------------------- eleven days (slow)
@pytest.mark.slow
def test_every_prediction_lands_within_its_tolerance(replay):
    """Each prediction of observed.yaml but the 99% one (below) is met within max(20% of its offset,
    5 min), or never if never observed."""
    results, observed = replay
    assert not missed_predictions(results, observed, skip=("sensors-99pct-online",))


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the world fleet reaches 99% online on ~25 July (day 6.5), 4 days "
                   "early: staff work at a steady rate, so the long tail of hard-to-reach hosts is missing")
def test_sensors_reach_99_percent_on_29_july(replay):
    """~99% of Windows sensors online by 29 July 20:00 EDT, within 20% of the offset."""
    results, observed = replay
    row = {r.id: r for r in evaluate_milestones(results, observed)}["sensors-99pct-online"]
    assert row.within


@pytest.mark.slow
def test_recovery_order_follows_staff_fleet_size_and_encryption(replay):
    """Back for a whole day (>= 95% served for 24 h): Sky News, 911 centres and Amazon's warehouses the
    same morning, Amazon email the same day, EC2 Windows customers within two days, Delta after more
    than three days; the hospitals are whole again before Delta."""
    results, _ = replay
    t = {n: _first(results, "base", n, ">=", 0.95, after_s=HOUR, sustain_s=24 * HOUR)
         for n in DOWN + ("us-hospitals",)}
    assert all(v is not None for v in t.values()), t
    for fast in ("sky-news", "us-911-centres", "amazon-warehouses"):
        assert t[fast] - TRIGGER_S <= 8 * HOUR, (fast, t[fast])
        assert t[fast] < t["amazon-email"]
    assert t["amazon-email"] - TRIGGER_S <= 16 * HOUR
    assert t["ec2-windows-customers"] - TRIGGER_S <= 48 * HOUR
    assert t["delta"] - TRIGGER_S >= 72 * HOUR
    assert t["us-hospitals"] < t["delta"]
