"""Engine speed benchmark (issue 3, "Benchmark"); not a timed test.

    .venv/bin/python bench/engine_speed.py           # the full run, about 6-10 minutes on 2 cores
    .venv/bin/python bench/engine_speed.py --quick   # everything shrunk, a smoke run (< 1 minute)

(a) Time to answer a 100-replica Monte Carlo of a realistic cloud case (bench/models.py ``cloud_case``:
    20 services in 4 layers over 3 zones, two tenants, 5000 req/s at entry, 1 s call timeouts, 3 attempts,
    utilisation 0.4-0.7 at base, 30 simulated minutes with zone z1 down for 2 minutes at 10 min), fluid
    vs request-level (DES). The fluid time is measured for 100 replicas in full at the default dt (shortest
    timeout / 5 = 0.2 s): compile + warm-up + run + recording. The DES time is extrapolated from one
    replica over 5 simulated minutes of the same system without the fault (x6 for 30 minutes, x100
    replicas).
(b) Replica.cell steps per second of the fluid engine for 1000 services (``sparse_case``: sparse random
    layered call graph, one zone, ~1.5 calls per service) x 100 replicas at dt = 1 s with noise on, timeouts
    5-30 s (32 age bins) and 5-10 s (12 age bins); a few simulated minutes are measured (the rate is per
    step, so it holds for the 1-hour horizon), then a few more steps run under cProfile (top 15 by tottime).

Wall time is time.perf_counter; CPU time (time.process_time) is printed beside it, because other jobs
may share the two cores: wall/CPU well above 1 means the figure was slowed by contention.
The numba JIT cache is warmed first with a tiny fluid run, so no figure includes compilation.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt_mod
import io
import os
import platform
import pstats
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from models import cloud_case, sparse_case, visits_per_request, with_mechanisms  # noqa: E402

from outagesim.engine.compile import compile_network  # noqa: E402
from outagesim.engine.des import estimate_des_cost, simulate_des  # noqa: E402
from outagesim.engine.fluid import FluidEngine, simulate_fluid  # noqa: E402
from outagesim.engine.fluid_record import Recorder  # noqa: E402
from outagesim.model import Model, Scenario  # noqa: E402


class Clock:
    """Wall (perf_counter) and CPU (process_time) seconds of a with-block."""

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0


def build(pair, *, replicas: int, seed: int = 0):
    model, scen = pair
    return compile_network(Model.model_validate(model), Scenario.model_validate(scen),
                           replicas=replicas, seed=seed)


def fmt_s(x: float) -> str:
    if x >= 3600:
        return f"{x:,.0f} s ({x / 3600:.1f} h)"
    return f"{x:,.2f} s"


def warm_jit() -> None:
    with Clock() as c:
        simulate_fluid(build(cloud_case(duration_s=20.0, loss_at_s=5.0, loss_s=5.0), replicas=2))
    print(f"numba JIT cache warmed with a tiny fluid run (2 replicas, 20 s): {c.wall:.2f} s wall")


# ---------------------------------------------------------------------------------------------- (a)
COARSE_MAX_DT_S = 10.0  # the record interval: the longest coarse step a run recording every 10 s can take

def part_a(quick: bool) -> dict:
    replicas, minutes = (4, 2.0) if quick else (100, 30.0)
    des_minutes = 0.25 if quick else 5.0
    print("\n(a) 100-replica Monte Carlo of a realistic cloud case: fluid vs request-level (DES)")
    pair = cloud_case(duration_s=minutes * 60, loss_at_s=(60.0 if quick else 600.0), loss_s=120.0)
    model = pair[0]
    n_calls = sum(len(s["calls"]) for s in model["services"].values())
    print(f"    model: {len(model['services'])} services, {n_calls} calls, 3 zones, 2 tenants, "
          f"{sum(t['demand']['peak_rps'] for t in model['tenants'].values()):.0f} req/s at entry, "
          f"{visits_per_request(model):.2f} service visits per request (one attempt per call)")
    with Clock() as c:
        net = build(pair, replicas=replicas)
        rec = simulate_fluid(net, noise=True)
    fluid_cpu = c.cpu * (100 / replicas) * (30.0 / minutes)
    info = rec.info
    print(f"    fluid: {replicas} replicas x {minutes:g} min, {len(net.cells)} cells, "
          f"dt = {info['dt_s']:g} s "
          f"(default), {info['bins']} age bins, {info['steps']} steps + warm-up; "
          f"{fmt_s(c.wall)} wall ({c.cpu:.1f} s CPU), of which engine {info['wall_s']:.2f} s")
    fluid_wall = c.wall * (100 / replicas) * (30.0 / minutes)
    if quick:
        print(f"    fluid scaled to 100 replicas x 30 min (--quick): {fmt_s(fluid_wall)}")
    gp = sum(v for k, v in rec.series.items() if k[0] == "tenant" and k[2] == "goodput")
    dm = sum(v for k, v in rec.series.items() if k[0] == "tenant" and k[2] == "demand")
    print(f"    (fluid outcome: goodput / demand over the run, median replica = "
          f"{np.median(gp.sum(axis=1) / dm.sum(axis=1)):.4f})")

    des_pair = cloud_case(duration_s=des_minutes * 60, loss_at_s=None)
    des_net = build(des_pair, replicas=1)
    with Clock() as c:
        drec = simulate_des(des_net, force=True)
    visits = drec.info["visits"]
    us_visit = c.wall / max(visits, 1) * 1e6
    des_wall = c.wall * (30.0 / des_minutes) * 100
    des_cpu = c.cpu * (30.0 / des_minutes) * 100
    full_est_visits, _ = estimate_des_cost(build(cloud_case(), replicas=100))
    print(f"    DES: 1 replica x {des_minutes:g} min (no fault): {visits:,} visits in {fmt_s(c.wall)} wall "
          f"({c.cpu:.1f} s CPU) = {us_visit:.1f} us of wall per visit "
          f"({c.cpu / max(visits, 1) * 1e6:.1f} us CPU)")
    print(f"    DES extrapolated to 100 replicas x 30 min: x{30.0 / des_minutes:g} x 100 = {fmt_s(des_wall)} "
          f"(the engine's own estimate: {full_est_visits:,.0f} visits, "
          f"{full_est_visits * us_visit * 1e-6:,.0f} s at the measured cost per visit)")
    ratio = des_wall / fluid_wall
    print(f"    => fluid {fmt_s(fluid_wall)} vs DES {fmt_s(des_wall)}: ratio {ratio:,.0f}x "
          f"(target >= 1000x); on CPU time {des_cpu / fluid_cpu:,.0f}x"
          f"{'' if not quick else '  [--quick: scaled, not a measurement]'}")

    coarse_pair = cloud_case(duration_s=minutes * 60, loss_at_s=(60.0 if quick else 600.0), loss_s=120.0,
                             max_dt_s=COARSE_MAX_DT_S)
    with Clock() as c:
        crec = simulate_fluid(build(coarse_pair, replicas=replicas), noise=True)
    coarse_wall = c.wall * (100 / replicas) * (30.0 / minutes)
    cgp = sum(v for k, v in crec.series.items() if k[0] == "tenant" and k[2] == "goodput")
    cdm = sum(v for k, v in crec.series.items() if k[0] == "tenant" and k[2] == "demand")
    print(f"    fluid with coarse steps while quasi-stationary (max_dt = {COARSE_MAX_DT_S:g} s): "
          f"{fmt_s(c.wall)} wall ({c.cpu:.1f} s CPU), {100 * crec.info['coarse_share']:.0f}% of replica-bins "
          f"in coarse steps, goodput / demand median {np.median(cgp.sum(axis=1) / cdm.sum(axis=1)):.4f}")
    print(f"    => with coarse steps: ratio {des_wall / coarse_wall:,.0f}x")
    return {"fluid_s": fluid_wall, "des_s": des_wall, "ratio": ratio, "us_per_visit": us_visit,
            "bins": info["bins"], "dt": info["dt_s"], "coarse_ratio": des_wall / coarse_wall}


# ---------------------------------------------------------------------------------------------- (b)
def step_rate(pair, *, replicas: int, label: str, profile_steps: int = 0) -> dict:
    with Clock() as cc:
        net = build(pair, replicas=replicas)
        eng = FluidEngine(net, noise=True)
    n_cells = len(net.cells)
    with Clock() as cw:
        eng.warm_up()
    n_rec = int(np.ceil(net.duration_s / net.record_every_s - 1e-9))
    rec = Recorder(eng, n_rec)
    steps = n_rec * eng.steps_per_record
    with Clock() as cs:
        for n in range(steps):
            eng.step(n * eng.dt, rec)
            if (n + 1) % eng.steps_per_record == 0:
                rec.close_interval()
        rec.finish(0.0)
    rate = replicas * n_cells * steps / cs.wall
    dtype = eng.q.dtype
    print(f"    {label}: {n_cells} cells, {len(eng.q)} flows, {len(eng.su.levels)} levels, "
          f"{eng.su.n_bins} age bins, "
          f"{replicas} replicas, dt = {eng.dt:g} s, state {dtype}")
    print(f"        compile+setup {cc.wall:.2f} s, warm-up {cw.wall:.2f} s; {steps} recorded steps in "
          f"{cs.wall:.2f} s wall ({cs.cpu:.2f} s CPU) = {cs.wall / steps * 1e3:.1f} ms/step")
    cpu_rate = replicas * n_cells * steps / cs.cpu
    print(f"        => {rate:.3g} replica.cell steps/s (CPU-based {cpu_rate:.3g}); "
          f"1 h at dt = 1 s would take ~{3600 / eng.dt * cs.wall / steps:,.0f} s")
    out = {"rate": rate, "bins": eng.su.n_bins, "ms_step": cs.wall / steps * 1e3, "cpu_ms_step": cs.cpu / steps * 1e3,
           "dtype": str(dtype)}
    if profile_steps:
        out["profile"] = profile(eng, steps, profile_steps)
    return out


def profile(eng: FluidEngine, start: int, n: int) -> str:
    """cProfile n more steps of ``eng`` (numba dispatchers show as their Python functions)."""
    pr = cProfile.Profile()
    pr.enable()
    for i in range(start, start + n):
        eng.step(i * eng.dt, None)
    pr.disable()
    buf = io.StringIO()
    pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(15)
    text = buf.getvalue()
    body = text[text.find("   ncalls"):] if "   ncalls" in text else text
    head = [ln for ln in text.splitlines() if "function calls" in ln]
    print(f"    cProfile of {n} steps (32-bin case, no recording), top 15 by tottime:")
    print("      " + (head[0].strip() if head else ""))
    for ln in body.rstrip().splitlines():
        print("      " + ln)
    return body


def part_b(quick: bool) -> dict:
    n_services, replicas, minutes = (100, 10, 0.5) if quick else (1000, 100, 2.0)
    prof_steps = 3 if quick else 10
    print(f"\n(b) fluid step rate: {n_services} services, sparse random layered call graph (~1.5 calls per "
          f"service), one zone, {replicas} replicas, dt = 1 s, noise on; "
          f"{minutes:g} simulated minutes measured")
    res = {}
    res["30s"] = step_rate(sparse_case(n_services, duration_s=minutes * 60, timeout_range_s=(5.0, 30.0)),
                           replicas=replicas, label="timeouts 5-30 s", profile_steps=prof_steps)
    res["10s"] = step_rate(sparse_case(n_services, duration_s=minutes * 60, timeout_range_s=(5.0, 10.0)),
                           replicas=replicas, label="timeouts 5-10 s")
    print(f"    => {res['10s']['rate']:.3g} replica.cell steps/s with {res['10s']['bins']} bins, "
          f"{res['30s']['rate']:.3g} with {res['30s']['bins']} bins (target >= 1e7); "
          f"state arrays are {res['30s']['dtype']}")
    return res


# ---------------------------------------------------------------------------------------------- (c)
def part_c(quick: bool) -> dict:
    """Cost per step with every mechanism on, against the same system without them (issue 4: <= 2x)."""
    n_services, replicas, minutes = (100, 10, 0.5) if quick else (1000, 100, 2.0)
    print(f"\n(c) all mechanisms on: the (b) system ({n_services} services, timeouts 5-10 s), {replicas} replicas, "
          f"with and without budgets, breakers, shedding, caches, LIFO, monitors and operators, health checks, "
          f"autoscalers, DNS records, a fleet and active-active failover")
    plain = sparse_case(n_services, duration_s=minutes * 60, timeout_range_s=(5.0, 10.0))
    base = step_rate(plain, replicas=replicas, label="mechanisms off")
    full = step_rate(with_mechanisms(plain), replicas=replicas, label="mechanisms on")
    ratio = full["ms_step"] / base["ms_step"]
    cpu_ratio = full["cpu_ms_step"] / base["cpu_ms_step"]
    print(f"    => cost per step with every mechanism on: {ratio:.2f}x the plain system's wall time per step, "
          f"{cpu_ratio:.2f}x its CPU time (target <= 2x)")
    return {"ratio": ratio, "cpu_ratio": cpu_ratio, "off_ms": base["ms_step"], "on_ms": full["ms_step"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shrink everything for a smoke run (< 1 min)")
    ap.add_argument("--only", choices=("a", "b", "c"), help="run one part only")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    import numba
    print(f"outagesim engine benchmark, {dt_mod.datetime.now().isoformat(timespec='seconds')}, "
          f"{platform.node()} ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}), "
          f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}"
          f"{', --quick' if args.quick else ''}")
    t0 = time.perf_counter()
    warm_jit()
    if args.only in (None, "a"):
        part_a(args.quick)
    if args.only in (None, "b"):
        part_b(args.quick)
    if args.only in (None, "c"):
        part_c(args.quick)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s wall; load average now {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
