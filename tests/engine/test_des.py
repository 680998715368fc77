"""The request-level engine: attempt loop, cells, routing, metrics, determinism and the cost guard."""

from __future__ import annotations

import numpy as np
import pytest

from outagesim.engine.des import US_PER_VISIT, estimate_des_cost, simulate_des
from outagesim.errors import RunRefused
from outagesim.record import CELL_METRICS, TENANT_METRICS, RunRecord
from tests.engine import nets
from tests.engine.nets import call, cell, fault, model, scenario, service, tenant


def total(rec: RunRecord, kind: str, entity: str, metric: str, t0: float = 0.0, t1: float = np.inf,
          r: int = 0) -> float:
    """Count over the intervals starting in [t0, t1): the interval-mean rate times the interval."""
    sel = (rec.t_s >= t0) & (rec.t_s < t1)
    return float(rec.get(kind, entity, metric)[r, sel].sum() * rec.interval_s)


def level(rec: RunRecord, kind: str, entity: str, metric: str, t0: float = 0.0, t1: float = np.inf) -> float:
    """Mean of a series over the intervals starting in [t0, t1) (replica 0)."""
    sel = (rec.t_s >= t0) & (rec.t_s < t1)
    return float(np.nanmean(rec.get(kind, entity, metric)[0, sel]))


def front_back(*, back: dict | None = None, front_call: dict | None = None, rps: float = 100.0,
               client: dict | None = None, db: dict | None = None, front_workers: int = 32) -> dict:
    """Tenant -> front -> back (-> db): a small two- or three-tier system in one zone."""
    services = {"front": service(front_workers, mean_s=1e-3, calls={"back": front_call or call(1.0)}),
                "back": back or service(8, mean_s=1e-3)}
    if db is not None:
        services["db"] = db
    return model(services, {"users": tenant("front", rps, **(client or {}))})


def test_record_has_exactly_the_record_metrics_on_the_grid():
    """Every tenant and cell has exactly the RunRecord metrics on the record_every grid, with fault events."""
    dip = fault("capacity_loss", "s2", 5, 10, fraction=0.5)
    net = nets.build(nets.chain(3, rps=100), scenario(25, record_every_s=10, faults={"dip": dip}))
    rec = simulate_des(net)
    assert rec.engine == "des" and rec.info["engine"] == "des"
    assert rec.interval_s == 10 and list(rec.t_s) == [0, 10, 20]
    expected = {("tenant", "users", m) for m in TENANT_METRICS}
    expected |= {("cell", cell(f"s{i}"), m) for i in range(3) for m in CELL_METRICS}
    assert set(rec.series) == expected
    assert all(v.shape == (1, 3) for v in rec.series.values())
    events = [(e.t_s, e.kind, e.entity) for e in rec.events]
    assert events == [(5, "fault_start", "dip"), (15, "fault_end", "dip")]
    assert rec.info["visits"] > 0 and rec.info["wall_s"] > 0


def test_steady_chain_flows_through_and_obeys_littles_law():
    """At steady state each station sees the demand, all of it succeeds, and L = lambda * latency holds."""
    net = nets.build(nets.chain(3, rps=500), scenario(40, record_every_s=5))
    rec = simulate_des(net)
    demand = total(rec, "tenant", "users", "demand", 10)
    assert total(rec, "tenant", "users", "goodput", 10) == pytest.approx(demand, rel=0.01)
    for i in range(3):
        c = cell(f"s{i}")
        assert total(rec, "cell", c, "arrivals", 10) == pytest.approx(demand, rel=0.01)
        in_system = level(rec, "cell", c, "queue", 10) + level(rec, "cell", c, "in_service", 10)
        little = level(rec, "cell", c, "arrivals", 10) * level(rec, "cell", c, "latency_mean", 10)
        assert in_system == pytest.approx(little, rel=0.05)
        util = level(rec, "cell", c, "in_service", 10) / net.servers[0, net.cells.index(c)]
        assert level(rec, "cell", c, "utilisation", 10) == pytest.approx(util, rel=1e-9)


def test_each_attempt_ends_once_for_its_caller():
    """Per cell, goodput + errors + timeouts never exceed arrivals; the gap is what is pending at the end."""
    m = nets.chain(3, rps=300, client_retry={"attempts": 3, "base_s": 0.05, "jitter": "full"},
                   client_timeout_s=0.5, call_timeout_s=0.2)
    sc = scenario(20, record_every_s=5, faults={"dip": fault("capacity_loss", "s2", 5, 5, fraction=0.8)})
    rec = simulate_des(nets.build(m, sc))
    for i in range(3):
        c = cell(f"s{i}")
        ended = sum(total(rec, "cell", c, k) for k in ("goodput", "errors", "timeouts"))
        gap = total(rec, "cell", c, "arrivals") - ended
        pending = rec.get("cell", c, "queue")[0, -1] + rec.get("cell", c, "in_service")[0, -1]
        assert -1e-6 <= gap <= 2 * pending + 10
    assert total(rec, "cell", cell("s0"), "timeouts") > 0 and total(rec, "cell", cell("s2"), "errors") > 0


def test_retries_stop_at_max_attempts_when_the_callee_is_dead():
    """Every call to a dead callee is attempted exactly max_attempts times, at the client and in a service."""
    m = front_back(front_call=call(1.0, attempts=3, base_s=0.01), client={"attempts": 4, "base_s": 0.01})
    net = nets.build(m, scenario(20, record_every_s=5, faults={"down": fault("service_down", "back", 0)}))
    rec = simulate_des(net)
    demand = total(rec, "tenant", "users", "demand", 0, 15)
    assert total(rec, "tenant", "users", "attempts", 0, 15) == pytest.approx(4 * demand, rel=0.01)
    assert total(rec, "cell", cell("front"), "arrivals", 0, 15) == pytest.approx(4 * demand, rel=0.01)
    assert total(rec, "cell", cell("back"), "arrivals", 0, 15) == pytest.approx(12 * demand, rel=0.01)
    assert total(rec, "tenant", "users", "errors", 0, 15) == pytest.approx(demand, rel=0.01)
    assert total(rec, "tenant", "users", "goodput") == 0


def test_total_deadline_cuts_attempts_before_max_attempts():
    """Backoff 0.1 s, 0.2 s in a 0.25 s deadline: a third attempt would start at 0.3 s, so two attempts."""
    m = front_back(front_call=call(1.0, attempts=5, base_s=0.1, multiplier=2, jitter="none", deadline_s=0.25))
    net = nets.build(m, scenario(20, record_every_s=5, faults={"down": fault("service_down", "back", 0)}))
    rec = simulate_des(net)
    front = total(rec, "cell", cell("front"), "arrivals", 0, 15)
    assert total(rec, "cell", cell("back"), "arrivals", 0, 15) == pytest.approx(2 * front, rel=0.01)


@pytest.mark.parametrize(("jitter", "attempts"), [("full", 1 + 0.75 + 0.140625), ("equal", 1.5)])
def test_jitter_decides_how_many_attempts_fit_the_deadline(jitter: str, attempts: float):
    """Jitter sets how many retries start within the deadline (base 0.2 s, deadline 0.15 s, 3 attempts).

    Full: a 2nd attempt if U(0, .2) <= .15 (p = .75), a 3rd if U(0, .2) + U(0, .4) <= .15 (p = .140625);
    equal: a 2nd if .1 + U(0, .1) <= .15 (p = .5), never a 3rd.
    """
    m = front_back(front_call=call(1.0, attempts=3, base_s=0.2, jitter=jitter, deadline_s=0.15), rps=200)
    net = nets.build(m, scenario(30, record_every_s=5, faults={"down": fault("service_down", "back", 0)}))
    rec = simulate_des(net)
    front = total(rec, "cell", cell("front"), "arrivals", 0, 25)
    assert total(rec, "cell", cell("back"), "arrivals", 0, 25) / front == pytest.approx(attempts, rel=0.02)


def test_timed_out_attempts_keep_the_callee_and_its_callees_busy():
    """An attempt whose caller timed out is still served, calls included: wasted work, never goodput."""
    m = front_back(front_call=call(0.05), back=service(50, mean_s=0.1, cv=0, calls={"db": call(1.0)}),
                   db=service(8, mean_s=1e-3))
    rec = simulate_des(nets.build(m, scenario(30, record_every_s=5)))
    back, db = cell("back"), cell("db")
    arrivals = total(rec, "cell", back, "arrivals", 5, 25)
    assert total(rec, "cell", back, "timeouts", 5, 25) == pytest.approx(arrivals, rel=0.02)
    assert total(rec, "cell", back, "completed", 5, 25) == pytest.approx(arrivals, rel=0.02)
    assert total(rec, "cell", back, "goodput") == 0
    assert total(rec, "cell", db, "arrivals", 5, 25) == pytest.approx(arrivals, rel=0.02)
    assert total(rec, "cell", db, "goodput", 5, 25) == pytest.approx(arrivals, rel=0.02)
    assert total(rec, "tenant", "users", "goodput") == 0
    assert level(rec, "cell", back, "latency_mean", 5, 25) == pytest.approx(0.1 + 1e-3, rel=0.05)


def test_zone_loss_is_routed_around_after_lb_detect():
    """Entries keep going to a lost zone (and fail) for lb_detect_s, then all go to the surviving zone."""
    m = nets.two_zones(rps=200)
    net = nets.build(m, scenario(60, record_every_s=5, faults={"z1": fault("zone_down", "z1", 30)}))
    assert net.lb_detect_s == 10
    rec = simulate_des(net)
    demand_blind = total(rec, "tenant", "users", "demand", 30, 40)
    assert total(rec, "tenant", "users", "errors", 30, 40) == pytest.approx(0.5 * demand_blind, rel=0.15)
    assert total(rec, "cell", cell("front", "z1"), "arrivals", 15, 30) == pytest.approx(
        total(rec, "cell", cell("front", "z2"), "arrivals", 15, 30), rel=0.15)
    assert total(rec, "tenant", "users", "errors", 40) == 0
    assert total(rec, "cell", cell("front", "z1"), "arrivals", 40) == 0
    assert total(rec, "cell", cell("back", "z2"), "arrivals", 40) == pytest.approx(
        total(rec, "tenant", "users", "demand", 40), rel=0.02)
    assert level(rec, "cell", cell("front", "z1"), "healthy_instances", 30) == 0
    assert level(rec, "cell", cell("front", "z2"), "healthy_instances", 30) == 8


def test_calls_spill_to_the_other_zone_when_the_local_callee_is_lost():
    """A caller whose local callee cell is lost keeps calling it (failing) for lb_detect_s, then spills."""
    m = nets.two_zones(rps=200)
    net = nets.build(m, scenario(45, record_every_s=5, faults={"b1": fault("service_down", "back@z1", 15)}))
    rec = simulate_des(net)
    front1 = total(rec, "cell", cell("front", "z1"), "arrivals", 15, 25)
    assert total(rec, "cell", cell("front", "z1"), "errors", 15, 25) == pytest.approx(front1, rel=0.03)
    assert total(rec, "cell", cell("front", "z1"), "errors", 25) == 0
    assert total(rec, "cell", cell("back", "z2"), "arrivals", 25) == pytest.approx(
        total(rec, "tenant", "users", "demand", 25), rel=0.02)


def test_fractional_per_request_and_async_calls():
    """per_request 1.5 makes 1.5 calls on average; async calls to a dead service cost the caller nothing."""
    m = model({"front": service(8, mean_s=1e-3, calls={"back": call(1.0, per_request=1.5),
                                                       "audit": call(None, mode="async", attempts=2)}),
               "back": service(8, mean_s=1e-3), "audit": service(2, mean_s=1e-3)},
              {"users": tenant("front", 200)})
    net = nets.build(m, scenario(20, record_every_s=5, faults={"a": fault("service_down", "audit", 0)}))
    rec = simulate_des(net)
    front = total(rec, "cell", cell("front"), "completed", 5)
    assert total(rec, "cell", cell("back"), "arrivals", 5) == pytest.approx(1.5 * front, rel=0.03)
    assert total(rec, "cell", cell("audit"), "arrivals", 5) == pytest.approx(2 * front, rel=0.03)
    assert total(rec, "tenant", "users", "goodput", 5) == pytest.approx(front, rel=0.01)


def test_soft_failures_degrade_and_hard_failures_error():
    """A failed soft call still yields a (degraded) success; a failed hard call makes an error."""
    for required, good in (("soft", True), ("hard", False)):
        m = front_back(front_call=call(1.0, required=required))
        net = nets.build(m, scenario(10, record_every_s=5, faults={"d": fault("service_down", "back", 0)}))
        rec = simulate_des(net)
        demand = total(rec, "tenant", "users", "demand", 0, 5)
        assert total(rec, "tenant", "users", "goodput" if good else "errors", 0, 5) == pytest.approx(
            demand, rel=0.02)
        assert (rec.info["degraded"] > 0) == good


def test_parallel_calls_take_the_longest_not_the_sum():
    """Two parallel 20 ms calls hold the caller ~20 ms; two sequential ones ~40 ms."""
    for parallel, expect in ((False, 0.04), (True, 0.02)):
        m = model({"front": service(20, mean_s=0, calls={"a": call(1.0, parallel=parallel),
                                                          "b": call(1.0, parallel=parallel)}),
                   "a": service(20, mean_s=0.02, cv=0), "b": service(20, mean_s=0.02, cv=0)},
                  {"users": tenant("front", 100)})
        rec = simulate_des(nets.build(m, scenario(10, record_every_s=5)))
        assert level(rec, "cell", cell("front"), "latency_mean") == pytest.approx(expect, rel=0.01)


def test_capacity_drop_fails_the_lost_share_at_once():
    """Losing all of a busy cell's instances fails every request there at once, as errors."""
    m = front_back(back=service(4, mean_s=0.5, cv=0), rps=6, front_call=call(2.0))
    net = nets.build(m, scenario(20, record_every_s=5, faults={"d": fault("service_down", "back", 10)}))
    rec = simulate_des(net)
    assert rec.info["killed"] >= 2
    assert level(rec, "cell", cell("back"), "in_service", 10) == 0
    assert total(rec, "cell", cell("back"), "errors", 10) >= rec.info["killed"]


def test_lost_instances_serve_again_only_after_startup_time():
    """Lost instances come back startup_time after the fault ends; a partial loss scales healthy instances."""
    m = model({"s": service(10, mean_s=1e-3, startup_s=5)}, {"users": tenant("s", 100)})
    faults = {"loss": fault("capacity_loss", "s", 10, 10, fraction=0.4)}
    rec = simulate_des(nets.build(m, scenario(40, record_every_s=5, faults=faults)))
    healthy = rec.get("cell", cell("s"), "healthy_instances")[0]
    assert list(healthy) == pytest.approx([10, 10, 6, 6, 6, 10, 10, 10])


def test_lifo_serves_fresh_work_in_overload_and_fifo_times_everything_out():
    """At 150% load with a 1 s client timeout, LIFO keeps serving in time while FIFO's goodput collapses."""
    good = {}
    for disc in ("fifo", "lifo"):
        m = model({"s": service(1, mean_s=0.01, queue={"discipline": disc})},
                  {"users": tenant("s", 150, timeout_s=1.0)})
        rec = simulate_des(nets.build(m, scenario(60, record_every_s=10)))
        good[disc] = total(rec, "tenant", "users", "goodput", 30) / 30
    assert good["fifo"] < 5
    assert good["lifo"] > 80


def test_drop_expired_discards_work_whose_caller_gave_up():
    """With drop_expired, an overloaded FIFO station discards expired work and so serves much of it in time.

    Not all of it: work that starts just before its caller's timeout still finishes late.
    """
    m = model({"s": service(1, mean_s=0.01, queue={"drop_expired": True})},
              {"users": tenant("s", 150, timeout_s=1.0)})
    rec = simulate_des(nets.build(m, scenario(60, record_every_s=10)))
    assert rec.info["dropped"] > 1000
    assert total(rec, "tenant", "users", "goodput", 30) / 30 > 40


def test_queue_limit_rejects_beyond_limit_per_healthy_instance():
    """With queue limit 0 a single worker rejects whatever arrives while it is busy (M/M/1/1 loss)."""
    m = model({"s": service(1, mean_s=0.01, queue={"limit": 0})}, {"users": tenant("s", 100)})
    rec = simulate_des(nets.build(m, scenario(60, record_every_s=10)))
    arrivals = total(rec, "cell", cell("s"), "arrivals")
    blocked = total(rec, "cell", cell("s"), "errors") / arrivals
    assert blocked == pytest.approx(0.5, abs=0.03)  # Erlang B(1, a=1)
    assert level(rec, "cell", cell("s"), "queue") == 0


def test_injected_errors_and_latency():
    """An error injection of 30% fails 30% of single-attempt requests; added latency adds to own work."""
    faults = {"e": fault("errors", "s", 0, fraction=0.3), "l": fault("latency", "s", 0, added_s=0.05)}
    m = model({"s": service(20, mean_s=0.01, cv=0)}, {"users": tenant("s", 200)})
    rec = simulate_des(nets.build(m, scenario(60, record_every_s=5, faults=faults)))
    demand = total(rec, "tenant", "users", "demand", 5)
    assert total(rec, "tenant", "users", "errors", 5) == pytest.approx(0.3 * demand, rel=0.05)
    assert level(rec, "cell", cell("s"), "latency_mean", 5) == pytest.approx(0.06, rel=0.01)


def test_daily_shape_drives_the_arrival_rate():
    """Demand follows the daily shape: from 00:00 to 01:00 it ramps linearly from half to full peak."""
    m = model({"s": service(4, mean_s=1e-3)}, {"users": tenant("s", 40)})
    m["tenants"]["users"]["demand"]["daily_shape"] = [0.5, 1.0] + [1.0] * 22
    rec = simulate_des(nets.build(m, scenario(3600, record_every_s=600)))
    demand = rec.get("tenant", "users", "demand")[0]
    assert demand.mean() == pytest.approx(0.75 * 40, rel=0.02)
    assert demand[0] == pytest.approx(40 * (0.5 + 0.5 / 12), rel=0.05)
    assert demand[-1] == pytest.approx(40 * (1 - 0.5 / 12), rel=0.05)


def test_same_seed_same_series_and_replicas_independent_of_count():
    """Same seed gives identical series; replica k is the same with 2 or 4 replicas; another seed differs."""
    m = nets.chain(3, rps=200, client_retry={"attempts": 3, "base_s": 0.05, "jitter": "full"})
    sc = scenario(20, record_every_s=5, faults={"dip": fault("capacity_loss", "s2", 5, 5, fraction=0.7)})
    runs = [simulate_des(nets.build(m, sc, replicas=n, seed=s)) for n, s in ((2, 7), (2, 7), (4, 7), (2, 8))]
    for key, a in runs[0].series.items():
        assert np.array_equal(a, runs[1].series[key], equal_nan=True)
        assert np.array_equal(a, runs[2].series[key][:2], equal_nan=True)
    demand = ("tenant", "users", "demand")
    assert not np.array_equal(runs[0].series[demand][0], runs[0].series[demand][1])
    assert not np.array_equal(runs[0].series[demand], runs[3].series[demand])


def test_progress_reaches_one():
    """The progress callback is called with non-decreasing fractions ending at 1."""
    seen: list[float] = []
    net = nets.build(nets.chain(2, rps=50), scenario(20, record_every_s=5), replicas=2)
    simulate_des(net, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_cost_estimate_counts_visits_down_the_call_graph():
    """Estimated visits = demand x duration x visits per request x replicas, and wall time = visits x cost."""
    m = model({"a": service(4, mean_s=1e-3, calls={"b": call(1.0, per_request=2)}),
               "b": service(4, mean_s=1e-3, calls={"c": call(1.0, per_request=0.5)}),
               "c": service(4, mean_s=1e-3)}, {"users": tenant("a", 10)})
    net = nets.build(m, scenario(100), replicas=3)
    visits, wall = estimate_des_cost(net)
    assert visits == pytest.approx(10 * 100 * (1 + 2 + 1) * 3)
    assert wall == pytest.approx(visits * US_PER_VISIT * 1e-6)


def test_oversized_run_is_refused_unless_forced():
    """A run whose estimate exceeds max_wall_s raises RunRefused naming --force; force=True runs it."""
    net = nets.build(nets.chain(2, rps=20), scenario(5, record_every_s=5))
    with pytest.raises(RunRefused, match="--force"):
        simulate_des(net, max_wall_s=1e-6)
    assert simulate_des(net, max_wall_s=1e-6, force=True).info["visits"] > 0
