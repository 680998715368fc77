"""Coarse steps (``max_dt``): while a replica is quasi-stationary one update spans several bins.

They must change nothing that matters: with noise off a coarse run matches the fine run; the bins
around a fault always run fine; and replica k stays independent of the replica count.
"""

from __future__ import annotations

import numpy as np
import pytest

from outagesim.engine.fluid import FluidEngine, simulate_fluid
from outagesim.engine.fluid_steps import whole_bins
from tests.engine import nets
from tests.engine.test_fluid_determinism import noisy_model

DIP_AT_S, DIP_S = 900.0, 60.0


def light(**kw) -> dict:
    """The determinism tests' front/back model at 1000 req/s (utilisation about 0.45): it recovers from
    the dip, where at 1500 req/s it stays stuck."""
    m = noisy_model(**kw)
    m["tenants"]["users"]["demand"]["peak_rps"] = 1000.0
    return m


def night(max_dt_s: float | None, *, duration_s: float = 1800.0, fraction: float | dict = 0.6,
          at_s: float = DIP_AT_S) -> dict:
    """Half an hour of flat load with a one-minute capacity dip of ``back`` in the middle."""
    dip = nets.fault("capacity_loss", "back", at_s, DIP_S, fraction=fraction)
    sc = nets.scenario(duration_s, record_every_s=10.0, faults={"dip": dip})
    if max_dt_s is not None:
        sc["max_dt"] = nets.seconds(max_dt_s)
    return sc


def test_whole_bins_fit_the_span_and_divide_the_record_interval():
    assert whole_bins(0.0, 0.1, 100) == 1
    assert whole_bins(10.0, 0.1, 100) == 100
    assert whole_bins(3.0, 0.1, 100) == 25  # 30 bins fit, 25 is the largest divisor of 100 that does
    assert whole_bins(60.0, 0.2, 50) == 50  # never past a record boundary
    assert whole_bins(0.1, 0.2, 50) == 1  # a span shorter than a bin: every bin


@pytest.mark.parametrize("at_s", [DIP_AT_S, DIP_AT_S + 0.05])
def test_coarse_run_matches_the_fine_run_without_noise(at_s):
    """Noise off: every tenant series of the coarse run is within 1e-6 (relative) of the fine run's,
    while at least 80% of its replica-bins are covered by coarse steps; also with the dip between two
    bin starts (a coarse step must not begin in the bin that applies it)."""
    m = light(sigma=0.0, uncertain=False)
    fine = simulate_fluid(nets.build(m, night(None, at_s=at_s), replicas=2, seed=1), noise=False)
    coarse = simulate_fluid(nets.build(m, night(10.0, at_s=at_s), replicas=2, seed=1), noise=False)
    assert coarse.info["coarse_share"] >= 0.8, coarse.info["coarse_share"]
    bins = fine.info["steps"]
    assert fine.info["updates"] - coarse.info["updates"] >= 0.75 * bins  # three quarters of the bins skipped
    for key, series in fine.series.items():
        if key[0] == "tenant":
            np.testing.assert_allclose(coarse.series[key], series, rtol=1e-6, atol=1e-9, err_msg=str(key))
    dip = ("tenant", "users", "errors")
    assert fine.series[dip].max() > 1.0, "the dip caused no errors: the comparison shows nothing"


def test_bins_around_a_change_run_fine():
    """No replica is in a coarse step in any bin from the dip's start to a few seconds after the load
    balancers have seen its end; the replicas are back in coarse steps by the end of the run."""
    net = nets.build(light(sigma=0.0, uncertain=False), night(10.0), replicas=2, seed=1)
    eng = FluidEngine(net, noise=False)
    eng.warm_up()
    coarse_at = []
    for n in range(int(net.duration_s / eng.dt)):
        eng.step(n * eng.dt, None)
        coarse_at.append(eng.coarse.copy())
    t = np.arange(len(coarse_at)) * eng.dt
    flags = np.array(coarse_at)
    around = (t >= DIP_AT_S - 1e-9) & (t < DIP_AT_S + DIP_S + net.lb_detect_s + 1.0)
    assert not flags[around].any()
    assert flags[-1].all() and flags[t < DIP_AT_S - 20.0].mean() > 0.9


def test_coarse_replicas_stay_independent():
    """Replicas with different dips leave and re-enter coarse steps at different times; the first 4 of
    8 replicas still hold the same state at every step as a run of 4 (noise and uncertain parameters on)."""
    frac = {"dist": "uniform", "low": 0.2, "high": 0.6}
    sc = night(10.0, duration_s=400.0, fraction=frac, at_s=100.0)
    few = FluidEngine(nets.build(light(), sc, replicas=4, seed=2), noise=True)
    many = FluidEngine(nets.build(light(), sc, replicas=8, seed=2), noise=True)
    few.warm_up()
    many.warm_up()
    mixed = 0
    for n in range(int(400.0 / few.dt)):
        few.step(n * few.dt, None)
        many.step(n * many.dt, None)
        mixed += 0 < many.coarse.sum() < many.coarse.size
        assert np.array_equal(few.coarse, many.coarse[:4]), n
        for name in ("q", "s", "link_out", "ou", "sojourn"):
            assert np.array_equal(getattr(few, name), getattr(many, name)[:, :4]), (n, name)
    assert mixed > 0, "no step mixed replicas in and out of coarse steps: the test shows nothing"


def test_paced_removal_keeps_replicas_independent():
    """A capacity removal paced by safeguards has as many steps as the largest draw needs; a replica
    whose own draw is done sooner must not see the rest as changes of its own: its change times, and
    so its coarse steps, are the same whether 4 or 16 replicas run."""
    m = light()
    m["services"]["back"]["capacity_safeguards"] = {"max_removal_per_minute": 0.3}
    removal = nets.fault("capacity_removal", "back", 100.0, fraction={"dist": "uniform", "low": 0.05, "high": 0.9})
    sc = nets.scenario(400.0, record_every_s=10.0, faults={"removal": removal})
    sc["max_dt"] = "10s"
    few, many = nets.build(m, sc, replicas=4, seed=3), nets.build(m, sc, replicas=16, seed=3)
    assert len(few.effects) < len(many.effects), "the largest draws need the same steps: the test shows nothing"
    own = few.replica_change_times()
    np.testing.assert_array_equal(own, many.replica_change_times()[:4, : own.shape[1]])  # NaN: no change
    a, b = simulate_fluid(few), simulate_fluid(many)
    for key, series in a.series.items():
        assert np.array_equal(series, b.series[key][:4], equal_nan=True), key


def crashed_till(max_dt_s: float | None):
    """till (10 x 4 workers, 10 ms: 4000 req/s) sheds what it cannot start within 1 s and runs on a fleet
    of 1000 point-of-sale hosts; a bad file crashes all of them at 10 minutes and staff repair 100 an
    hour from 21 minutes, so till is saturated (demand 2000 req/s above its capacity) for hours."""
    svc = nets.service(10, mean_s=10e-3, concurrency=4)
    svc["queue"] = {"max_wait": "1s"}
    svc["runs_on"] = "pos"
    m = nets.model({"till": svc}, {"shops": nets.tenant("till", 2000, timeout_s=30.0)})
    m["vendors"] = {"sensor": {}}
    m["fleets"] = {"pos": {"hosts": 1000, "agents": ["sensor"],
                           "repair": {"hosts_per_hour": 100, "starts_after": "10m"}}}
    sc = nets.scenario(3 * 3600.0, record_every_s=600.0, dt_s=6.0)
    if max_dt_s is not None:
        sc["max_dt"] = nets.seconds(max_dt_s)
    sc["faults"] = {"file": {"kind": "bad_artifact", "target": "vendor:sensor", "at": "10m", "duration": "1m"}}
    return simulate_fluid(nets.build(m, sc, seed=1), noise=False)


def test_a_saturated_shedding_front_end_takes_coarse_steps():
    """A front end that sheds (max_wait) and calls nothing is stationary while saturated (its queue is
    capped, its throughput is its capacity): a replica whose only saturated cell is such a front end
    takes coarse steps through hours of manual repair (CrowdStrike 2024: days of it). Its goodput never
    exceeds the fine run's and lags it by at most two record intervals (the capacity that staff restore
    during a coarse step serves from the next one); over these 3 hours it serves at least 85% as much."""
    fine, coarse = crashed_till(None), crashed_till(600.0)
    assert coarse.info["coarse_share"] >= 0.8, coarse.info["coarse_share"]
    key = ("tenant", "shops", "goodput")
    f, c = fine.series[key][0], coarse.series[key][0]
    assert f[3:].min() < 0.6 * f.max(), "till was never saturated"
    assert np.all(c <= f * 1.01 + 1.0)
    assert np.all(c[4:] >= f[2:-2] * 0.99 - 1.0)  # from the interval after the crash
    assert c.sum() >= 0.85 * f.sum()



def test_a_coarse_steps_retries_fall_due_spread_over_the_bins_after_it():
    """A steady 5% error share on ``back``: its callers retry all along, through coarse steps too. A coarse
    step's failures happened over its whole length, so their retries fall due spread over as many bins
    after it. The first fine bin after the last coarse step (the dip at 900 s is coming) then carries
    about what the next ones do; with the retries of a 10 s step in one slot it carried 3.5x as much
    (measured), the spike that set off 64 sub-steps a bin in the December 2021 replay."""
    sc = night(10.0)
    sc["faults"]["flaky"] = nets.fault("errors", "back", 0.0, None, fraction=0.05)
    eng = FluidEngine(nets.build(light(sigma=0.0, uncertain=False), sc, replicas=1, seed=1), noise=False)
    eng.warm_up()
    arrivals, coarse = [], []
    for n in range(int(895.0 / eng.dt)):
        eng.step(n * eng.dt, None)
        arrivals.append(eng.ledger["arrivals"])
        coarse.append(bool(eng.coarse[0]))
    first_fine = max(i for i, c in enumerate(coarse) if c) + 1
    assert 400 < first_fine * eng.dt < 895, first_fine * eng.dt  # coarse steps, then fine bins before the dip
    later = np.median(arrivals[first_fine + 1:first_fine + 20])
    assert arrivals[first_fine] == pytest.approx(later, rel=0.1), (arrivals[first_fine], later)
