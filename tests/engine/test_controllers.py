"""Controllers (issue 4): monitors and operators, scripted actions, health checkers, DNS records, fleets.

Each test builds a small network with ``tests.engine.nets`` and checks a controller's behaviour against
an expectation worked out by hand in its docstring.
"""

from __future__ import annotations

import numpy as np
import pytest

from outagesim.engine.fluid import simulate_fluid
from outagesim.errors import RunRefused
from outagesim.record import RunRecord
from tests.engine import nets


def events(rec: RunRecord, kind: str) -> list:
    return [e for e in rec.events if e.kind == kind]


# --------------------------------------------------------------------------- throttle (scripted action)
def cold_cache(throttle: bool) -> RunRecord:
    """front (95% cache hits, warm-up 60 s) calls db (2 workers, 60 ms: 33 req/s) per miss; users send
    200 req/s. Warm, db sees 10 req/s; front's restart at 30-60 s empties the cache, so db sees 200 req/s
    of misses (3 attempts each), its calls time out, and the cache, which fills only from successful
    misses, stays cold."""
    front = nets.service(8, mean_s=2e-3, concurrency=50, calls={"db": nets.call(0.5, attempts=3)})
    front["cache"] = {"hit_ratio": 0.95, "warmup": "60s"}
    m = nets.model({"front": front, "db": nets.service(2, mean_s=60e-3, queue={"limit": 50})},
                   {"users": nets.tenant("front", 200, timeout_s=2.0)})
    sc = nets.scenario(600.0, faults={"flush": nets.fault("service_down", "front", 30.0, 30.0)})
    if throttle:  # admit 10% (20 req/s of misses at most) for 4 minutes
        sc["actions"] = {"shed": {"kind": "throttle", "target": "tenant:users", "admit": 0.1, "at": "+00:03",
                                  "duration": "4m"}}
    return simulate_fluid(nets.build(m, sc, seed=7), noise=False)


def test_cold_cache_stays_down_until_traffic_is_throttled():
    """Without the throttle, users' goodput stays below 30% of demand to the end (10 min); throttled to
    10% from 3 to 7 minutes, the cache warms and goodput is above 85% in the last 2 minutes."""
    share = {}
    for throttle in (False, True):
        rec = cold_cache(throttle)
        g, d = rec.get("tenant", "users", "goodput")[0], rec.get("tenant", "users", "demand")[0]
        share[throttle] = g[-12:].sum() / d[-12:].sum()
        if throttle:
            assert [e.t_s for e in events(rec, "action_throttle")] == [180.0]
            during = g[20:40].sum() / d[20:40].sum()
            assert during <= 0.11  # at most the admitted share succeeds while throttled
    assert share[False] < 0.3
    assert share[True] > 0.85


# --------------------------------------------------------------------------- monitors and operators
def monitored(depends_on_down: bool, control_every: str | None = None, *, down_s: float = 600.0,
              sustain: str = "30s", threshold: float = 0.05, errors: bool = False, at_s: float = 60.0) -> RunRecord:
    """api fails (service_down; or, with ``errors``, answers nothing but errors) at ``at_s`` (60 s) for
    ``down_s`` (10 minutes). An internal monitor reads api's metrics through ``metrics`` (down with api
    when ``depends_on_down``); an external probe samples every 30 s. The operator, alerted by either,
    decides 2 minutes later and restarts api 1 minute after that. Bins of 0.2 s (the 1 s timeout / 5);
    controllers observe every bin, or every ``control_every``."""
    m = nets.model({"api": nets.service(4, mean_s=10e-3, concurrency=4, startup_s=30.0),
                    "metrics": nets.service(1, mean_s=1e-3)},
                   {"users": nets.tenant("api", 100, timeout_s=1.0)})
    m["controllers"] = {
        "monitors": {"internal": {"watches": "api", "depends_on": ["metrics"], "sustain": sustain,
                                  "threshold": threshold},
                     "probe": {"watches": "api", "kind": "external", "interval": "30s", "sustain": "0s"}},
        "operators": {"oncall": {"alerted_by": ["internal", "probe"], "decision_delay": "2m",
                                 "actions": {"bounce": {"kind": "restart", "target": "api", "after": "1m"}}}},
    }
    faults = {"api": (nets.fault("errors", "api", at_s, down_s, fraction=1.0) if errors
                      else nets.fault("service_down", "api", at_s, down_s))}
    if depends_on_down:
        faults["metrics"] = nets.fault("service_down", "metrics", at_s, down_s)
    sc = nets.scenario(900.0, faults=faults)
    if control_every is not None:
        sc["control_every"] = control_every
    return simulate_fluid(nets.build(m, sc, seed=3), noise=False)


def test_blind_internal_monitor_detects_nothing_while_external_probe_detects_within_its_interval():
    """With metrics down too, the internal monitor never alarms; the external probe alarms at its first
    sample after the fault (within 30 s); the operator acts on the probe's alarm: restart at alarm + 3 min."""
    rec = monitored(depends_on_down=True)
    alarms = {e.entity: e.t_s for e in events(rec, "monitor_alarm")}
    assert "internal" not in alarms
    assert 60.0 < alarms["probe"] <= 60.0 + 30.0 + 0.2
    assert [e.t_s for e in events(rec, "action_restart")] == pytest.approx([alarms["probe"] + 180.0])


def test_internal_monitor_with_its_dependency_up_alarms_after_its_sustain():
    """With metrics up, the internal monitor alarms 30 s (its sustain) after api starts failing."""
    rec = monitored(depends_on_down=False)
    alarms = {e.entity: e.t_s for e in events(rec, "monitor_alarm")}
    assert alarms["internal"] == pytest.approx(60.0 + 30.0, abs=0.5)


def test_the_request_level_engine_refuses_controllers():
    """--engine des names what it does not model instead of ignoring it."""
    from outagesim.engine.des import simulate_des

    m = nets.model({"api": nets.service(1, mean_s=1e-3)}, {"users": nets.tenant("api", 10)})
    m["controllers"] = {"monitors": {"probe": {"watches": "api", "kind": "external"}}}
    with pytest.raises(RunRefused, match="controllers"):
        simulate_des(nets.build(m, nets.scenario(60.0)), force=True)


# --------------------------------------------------------------------------- health checker
def checked(**check) -> RunRecord:
    """web (3 zones x 4 instances) behind a health checker whose probes pass through ``netstate``;
    netstate goes down at 60 s for 5 minutes, so every probe fails though web itself is healthy."""
    zones = ("z1", "z2", "z3")
    m = nets.model({"web": nets.service(4, mean_s=10e-3, concurrency=4, zones=zones),
                    "netstate": nets.service(1, mean_s=1e-3, zones=zones)},
                   {"users": nets.tenant("web", 300, timeout_s=1.0)}, zones=zones)
    m["controllers"] = {"health_checks": {"nlb": {"target": "web", "probe_path": ["netstate"],
                                                  "interval": "10s", **check}}}
    faults = {"netstate": nets.fault("service_down", "netstate", 60.0, 300.0)}
    return simulate_fluid(nets.build(m, nets.scenario(600.0, faults=faults), seed=1), noise=False)


def removed(rec: RunRecord) -> np.ndarray:
    return rec.get("health_check", "nlb", "removed_share")[0]


def test_health_checker_without_safeguards_removes_every_healthy_target():
    """Probes fail through netstate, so the checker takes all of web out (web and its users go down)."""
    rec = checked()
    assert removed(rec)[30:36].min() > 0.99  # 5-6 minutes in
    users = rec.get("tenant", "users", "goodput")[0]
    assert users[30:36].max() < 0.05 * 300
    assert removed(rec)[-6:].max() < 0.01  # reinstated once probes pass again
    assert events(rec, "health_check_removing") and events(rec, "health_check_reinstated")


def test_fail_open_keeps_every_target_when_most_look_unhealthy():
    """fail_open 0.5: once more than half look unhealthy the checker keeps them all; removal never
    passes half of web (the share at which it trips), and users are served at the end of the fault."""
    rec = checked(fail_open=0.5)
    assert removed(rec).max() <= 0.5 + 1e-6
    assert removed(rec)[30:36].max() < 0.01
    assert events(rec, "health_check_failed_open")
    users = rec.get("tenant", "users", "goodput")[0]
    assert users[30:36].min() > 0.95 * 300


def test_removal_rate_limit_bounds_how_fast_capacity_leaves():
    """max_removal_per_minute 0.1: after t minutes of failing probes at most 10% x t of web is out."""
    rec = checked(max_removal_per_minute=0.1)
    r = removed(rec)
    minutes = np.maximum(np.arange(len(r)) * 10.0 + 10.0 - 60.0, 0.0) / 60.0
    assert np.all(r <= 0.1 * minutes + 1e-3)  # before the fault: the few timeouts of normal traffic
    assert r[30:36].max() == pytest.approx(0.5, abs=0.02)  # still removing at its limit 5 minutes in
    assert events(rec, "health_check_rate_limited")


# --------------------------------------------------------------------------- DNS record with TTL
def test_emptied_record_fails_callers_as_their_caches_expire_and_restored_as_negative_ones_do():
    """The record for db (TTL 60 s, negative TTL 30 s) is empty from 60 s to 180 s: api's calls that
    reach db fall linearly to 0 by 120 s, and come back linearly from 180 s to 210 s (no load on db for
    the calls that fail to resolve)."""
    m = nets.model({"api": nets.service(4, mean_s=2e-3, concurrency=8, calls={"db": nets.call(0.5)}),
                    "db": nets.service(4, mean_s=2e-3, concurrency=8)},
                   {"users": nets.tenant("api", 100, timeout_s=2.0)})
    m["controllers"] = {"dns_records": {"db-endpoint": {"service": "db", "ttl": "60s", "negative_ttl": "30s"}}}
    faults = {"race": {"kind": "dns_record_emptied", "target": "dns:db-endpoint", "at": "60s", "duration": "2m"}}
    rec = simulate_fluid(nets.build(m, nets.scenario(300.0, record_every_s=5.0, faults=faults)), noise=False)
    db = rec.get("cell", nets.cell("db"), "arrivals")[0]
    t_mid = np.arange(len(db)) * 5.0 + 2.5
    f = np.clip((t_mid - 60.0) / 60.0, 0, 1) * (t_mid < 180) + (t_mid >= 180) * np.clip(1 - (t_mid - 180) / 30, 0, 1)
    assert db == pytest.approx(100.0 * (1 - f), abs=3.0)
    users = rec.get("tenant", "users", "goodput")[0]
    assert users[(t_mid > 125) & (t_mid < 175)].max() < 1.0


# --------------------------------------------------------------------------- restart grows with state size
def test_restart_takes_the_startup_time_plus_state_size_times_its_per_unit_time():
    """A scripted restart of index (startup 60 s + 30 units x 10 s = 6 min) at 60 s: no healthy
    instances until 420 s, all back after."""
    index = nets.service(2, mean_s=5e-3, concurrency=4, startup_s=60.0)
    index |= {"state_size": 30, "startup_per_state": "10s"}
    m = nets.model({"index": index}, {"users": nets.tenant("index", 50, timeout_s=1.0)})
    sc = nets.scenario(600.0, record_every_s=10.0)
    sc["actions"] = {"bounce": {"kind": "restart", "target": "index", "at": "+00:01"}}
    rec = simulate_fluid(nets.build(m, sc), noise=False)
    healthy = rec.get("cell", nets.cell("index"), "healthy_instances")[0]
    assert healthy[:6] == pytest.approx(2.0)
    assert healthy[6:42] == pytest.approx(0.0)
    assert healthy[42:] == pytest.approx(2.0)


# --------------------------------------------------------------------------- fleets and rollouts
def fleet_run(rollout: dict | None = None, **fleet) -> RunRecord:
    """pos (point of sale, 1000 hosts, all online) runs the agent of vendor 'sensor'; a bad channel file
    is live from 10 minutes for 78 minutes and crashes every host that receives it. The service 'till'
    runs on the fleet."""
    m = nets.model({"till": nets.service(10, mean_s=10e-3, concurrency=4)},
                   {"shops": nets.tenant("till", 100, timeout_s=2.0)})
    m["services"]["till"]["runs_on"] = "pos"
    m["vendors"] = {"sensor": {}}
    m["fleets"] = {"pos": {"hosts": 1000, "agents": ["sensor"], **fleet}}
    if rollout:
        m["fleets"]["pos"]["rollout"] = rollout
    sc = nets.scenario(6 * 3600.0, record_every_s=60.0, dt_s=1.0)
    sc["max_dt"] = "60s"
    sc["faults"] = {"channel-file": {"kind": "bad_artifact", "target": "vendor:sensor", "at": "10m",
                                     "duration": "78m"}}
    return simulate_fluid(nets.build(m, sc), noise=False)


def test_all_at_once_crashes_every_online_host_and_its_services_capacity():
    """All at once: 1000 hosts crash at 10 minutes; till, which runs on them, has no instances; no reboot
    fetches a fix and nobody repairs, so they stay down."""
    rec = fleet_run()
    crashed = rec.get("fleet", "pos", "crashed_hosts")[0]
    assert crashed[9] == pytest.approx(0.0)
    assert crashed[11:].min() == pytest.approx(1000.0)
    assert rec.get("cell", nets.cell("till"), "healthy_instances")[0][11:].max() < 1e-6


def test_wave_rollout_with_bake_time_and_rollback_limits_crashes_to_the_first_wave():
    """Waves of 1%, 10%, 100% an hour apart, rolled back once half of the receivers crashed (5 minutes
    after it is seen): 10 hosts crash, the second wave never opens."""
    rec = fleet_run({"waves": [0.01, 0.1, 1.0], "bake": "1h", "rollback_at": 0.5, "rollback_delay": "5m"})
    crashed = rec.get("fleet", "pos", "crashed_hosts")[0]
    assert crashed.max() == pytest.approx(10.0, rel=1e-6)
    assert [e.t_s for e in events(rec, "rollout_rolled_back")] == pytest.approx([900.0], abs=1.0)
    assert len(events(rec, "rollout_wave")) == 1


def test_manual_repair_is_limited_by_staff_and_slower_for_encrypted_disks():
    """Staff fix 200 plain hosts per hour from 1 hour after the artifact is withdrawn (88 + 60 minutes);
    half the disks are encrypted and take 3x as long: the crashed count falls by 200 x (0.5 + 0.5/3)
    = 133 hosts per hour while both kinds remain (work shared by count)."""
    rec = fleet_run(encrypted_share=0.5, repair={"hosts_per_hour": 200, "starts_after": "1h",
                                                 "encrypted_slowdown": 3.0})
    crashed = rec.get("fleet", "pos", "crashed_hosts")[0]
    start = (88 + 60) // 1  # minutes; record_every is 60 s
    assert crashed[start - 1] == pytest.approx(1000.0)
    assert crashed[start + 60] == pytest.approx(1000.0 - 133.3, rel=0.02)
    repaired = rec.get("fleet", "pos", "repaired_hosts")[0]
    assert crashed[-1] + repaired[-1] == pytest.approx(1000.0, rel=1e-9)


def test_reboots_that_fetch_the_fix_heal_hosts_once_it_is_out():
    """A 5% chance per reboot every 5 minutes of fetching the fix, once it is out at 88 minutes: the
    crashed count decays as exp(-0.01 t / min)."""
    rec = fleet_run(fix_per_reboot=0.05, reboot_interval="5m")
    crashed = rec.get("fleet", "pos", "crashed_hosts")[0]
    assert crashed[87] == pytest.approx(1000.0)
    assert crashed[88 + 100] == pytest.approx(1000.0 * np.exp(-1.0), rel=0.03)


# --------------------------------------------------------------------------- tenant failover
def two_regions(failover: dict, entry: dict) -> RunRecord:
    """web-east and web-west (each 4 x 8 workers, 10 ms) in two regions; the region east is down from
    60 s to the end of the 20-minute run. Users send 400 req/s."""
    m = nets.model({"web-east": nets.service({"east": 4}, mean_s=10e-3, concurrency=8),
                    "web-west": nets.service({"west": 4}, mean_s=10e-3, concurrency=8)},
                   {"users": nets.tenant(entry, 400, timeout_s=1.0)})
    m["providers"] = {"cloud": {"regions": {"r-east": {"zones": {"east": {}}}, "r-west": {"zones": {"west": {}}}}}}
    m["tenants"]["users"]["failover"] = failover
    sc = nets.scenario(1200.0, faults={"east": nets.fault("region_down", "cloud/r-east", 60.0)})
    return simulate_fluid(nets.build(m, sc), noise=False)


def test_active_passive_failover_moves_users_after_its_detection_delay():
    """Detect 5 minutes: users fail from 60 s, the switch comes 300 s after the first failing bin, and
    from then on the standby serves them all."""
    rec = two_regions({"mode": "active-passive", "standby": {"web-west": 1.0}, "detect": "5m"}, "web-east")
    [ev] = events(rec, "tenant_failed_over")
    assert 360.0 <= ev.t_s <= 380.0
    share = rec.get("tenant", "users", "goodput")[0] / 400.0
    assert share[8:35].max() < 0.01
    assert share[int(ev.t_s / 10) + 2:].min() > 0.99


def test_active_active_shifts_users_to_the_healthy_region_within_a_few_time_constants():
    """Half the users enter each region; with east gone, east's share decays with time constant 60 s, so
    goodput climbs from 50% to above 95% within 4 minutes."""
    rec = two_regions({"mode": "active-active", "detect": "1m"}, {"web-east": 0.5, "web-west": 0.5})
    share = rec.get("tenant", "users", "goodput")[0] / 400.0
    assert share[7] < 0.6
    assert share[6 + 24:].min() > 0.95
    assert events(rec, "tenant_shifted_away")


# --------------------------------------------------------------------------- autoscaler
def scaled(plane_down: bool) -> RunRecord:
    """web (2 x 4 workers, 10 ms: 800 req/s) at 600 req/s is 75% busy; its autoscaler aims for 50% (so
    1.5x nominal), decides every minute and launches through ec2-api, serving 3 minutes later."""
    m = nets.model({"web": nets.service(2, mean_s=10e-3, concurrency=4),
                    "ec2-api": nets.service(1, mean_s=1e-3)},
                   {"users": nets.tenant("web", 600, timeout_s=1.0)})
    m["controllers"] = {"autoscalers": {"asg": {"target": "web", "utilisation": 0.5, "max": 3.0,
                                                "launch_time": "3m", "control_plane": "ec2-api"}}}
    faults = {"api": nets.fault("service_down", "ec2-api", 0.0)} if plane_down else {}
    return simulate_fluid(nets.build(m, nets.scenario(600.0, faults=faults)), noise=False)


def test_autoscaler_reaches_its_target_after_the_launch_time():
    """The first decision (60 s) asks for 0.5x nominal more; from 240 s web has 3 instances and is 50% busy."""
    rec = scaled(plane_down=False)
    healthy = rec.get("cell", nets.cell("web"), "healthy_instances")[0]
    assert healthy[:24] == pytest.approx(2.0, rel=1e-6)
    assert healthy[25:] == pytest.approx(3.0, rel=0.02)
    assert rec.get("cell", nets.cell("web"), "utilisation")[0][30:] == pytest.approx(0.5, abs=0.03)


def test_autoscaler_cannot_launch_while_its_control_plane_is_down():
    """With ec2-api down, every decision is blocked (and logged); web stays at 2 instances."""
    rec = scaled(plane_down=True)
    assert rec.get("cell", nets.cell("web"), "healthy_instances")[0] == pytest.approx(2.0, rel=1e-6)
    assert len(events(rec, "autoscaler_blocked")) == 10  # one per decision, at 60 s ... 600 s (the end)


def test_a_blind_monitor_neither_raises_nor_clears_an_alarm():
    """monitor_step: failing from 0 s with a 30 s sustain, blind from 10 s to 60 s: no alarm while blind
    (its sustain cannot complete on data it does not get), an alarm as soon as data returns; an alarm
    raised before going blind stays raised."""
    from outagesim.engine.mechanisms.monitor import monitor_step

    since, was = np.array([np.nan]), np.array([False])
    for t in range(0, 70, 10):
        blind = np.array([10 <= t < 60])
        since, was = monitor_step(np.array([1.0]), blind, since, float(t), threshold=0.5, sustain_s=30.0,
                                  sample=True, was=was)
        assert bool(was[0]) == (t >= 60), t
    since, alarm = monitor_step(np.array([0.0]), np.array([True]), since, 70.0, threshold=0.5, sustain_s=30.0,
                                sample=True, was=was)
    assert alarm[0]


def test_active_active_shifts_back_after_a_long_outage():
    """East down from 60 s for 30 minutes: users move west, and once east is back (an entry with no
    calls is tried again with the same 1-minute time constant) half of them return east within 5
    minutes of its return."""
    m = nets.model({"web-east": nets.service({"east": 4}, mean_s=10e-3, concurrency=8),
                    "web-west": nets.service({"west": 4}, mean_s=10e-3, concurrency=8)},
                   {"users": nets.tenant({"web-east": 0.5, "web-west": 0.5}, 400, timeout_s=1.0)})
    m["providers"] = {"cloud": {"regions": {"r-east": {"zones": {"east": {}}}, "r-west": {"zones": {"west": {}}}}}}
    m["tenants"]["users"]["failover"] = {"mode": "active-active", "detect": "1m"}
    sc = nets.scenario(2700.0, faults={"east": nets.fault("region_down", "cloud/r-east", 60.0, 1800.0)})
    sc["max_dt"] = "10s"
    rec = simulate_fluid(nets.build(m, sc), noise=False)
    east = rec.get("cell", "web-east@cloud/r-east/east", "arrivals")[0]
    assert east[100:180].max() < 20.0  # 400 req/s would be all of it; under 5% goes east during the outage
    back = int((60.0 + 1800.0 + 300.0) / 10.0)
    assert east[back:].min() > 0.4 * 200.0
    assert rec.get("tenant", "users", "goodput")[0][back:].min() > 0.95 * 400


def test_a_trickle_below_the_traffic_floor_is_no_evidence_of_failure():
    """failed_share: arrivals at or below the floor are no traffic (healthy while the cell has capacity,
    failed without); just above it, their failures count in full."""
    from outagesim.engine.mechanisms.monitor import failed_share

    arrivals, goodput = np.array([1e-3, 1e-3, 2e-3]), np.zeros(3)
    cap = np.array([1.0, 0.0, 1.0])
    assert failed_share(arrivals, goodput, cap, floor=np.full(3, 1.5e-3)).tolist() == [0.0, 1.0, 1.0]
    assert failed_share(arrivals, goodput, cap).tolist() == [1.0, 1.0, 1.0]  # the old 1e-9 floor


def test_service_views_give_each_services_failed_share_as_its_own_sums_do():
    """Failed shares of cell sets (overlapping, repeated, one of a single cell, one empty) read off one
    gather and sum must equal monitor.failed_share on each set's own sums; an empty set fails nothing."""
    from outagesim.engine.controllers import ServiceViews
    from outagesim.engine.mechanisms.monitor import TRAFFIC_FLOOR, failed_share

    rng = np.random.default_rng(5)
    r, c, dt = 3, 7, 2.0
    sets = [np.array([0, 2, 5]), np.array([2, 3]), np.array([4, 6]), np.array([0, 2, 5]), np.zeros(0, np.int64)]
    serves = rng.uniform(10, 100, (r, c))
    arrivals = rng.uniform(0, 50, (r, c))
    arrivals[:, [4, 6]] = 0.0  # no traffic: judged by the mean capacity share, here 0.475 (failed)
    goodput = arrivals * rng.uniform(0, 1, (r, c))
    cap = rng.uniform(0, 1, (r, c))
    cap[:, 4], cap[:, 6] = 0.9, 0.05
    looked_up = ServiceViews(sets, serves).failed(arrivals, goodput, cap, dt)
    for cells in sets[:-1]:
        floor = np.maximum(TRAFFIC_FLOOR * serves[:, cells].sum(axis=1) * dt, 1e-9)
        want = failed_share(arrivals[:, cells].sum(axis=1), goodput[:, cells].sum(axis=1),
                            cap[:, cells].mean(axis=1), floor)
        np.testing.assert_allclose(looked_up(cells), want, rtol=1e-12, atol=0.0)
    assert np.array_equal(looked_up(sets[2]), np.ones(r))
    assert np.array_equal(looked_up(sets[-1]), np.zeros(r))
