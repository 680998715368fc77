"""Replay speed (issue 5, "Benchmark"): each bundled replay's base case with 20 replicas, target < 30 s
on 2 cores. Not a timed test.

    .venv/bin/python bench/replays.py [--replicas N] [--workers W]

Prints, per replay, the wall and CPU time of ``simulate`` (compile, warm-up, run and recording; the numba
JIT cache is warmed first with the smallest run, so no figure includes compilation). This machine's speed
drifts by more than 10% within a day, so a reference run (the first replay, one replica, one process) is
timed before and after: figures from different runs compare through it.
"""

from __future__ import annotations

import argparse
import os
import time

import outagesim
from outagesim.library import list_replays, replay_paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicas", type=int, default=20)
    ap.add_argument("--workers", type=int, default=None, help="processes (default: outagesim's choice)")
    args = ap.parse_args(argv)
    print(f"replay speed, {args.replicas} replicas, base case only; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    replays = list_replays()
    warm = replay_paths(replays[0].name)
    model, scenario = outagesim.load(warm.model, warm.scenario)
    outagesim.simulate(model, scenario, replicas=1, seed=0)
    before = _reference(model, scenario)
    print(f"  reference: {replays[0].name}, 1 replica, 1 process: {before:.2f} s")
    for r in replays:
        p = replay_paths(r.name)
        model, scenario = outagesim.load(p.model, p.scenario)
        w0, c0 = time.perf_counter(), time.process_time()
        outagesim.simulate(model, scenario, replicas=args.replicas, seed=0, workers=args.workers)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        verdict = "ok" if wall < 30 else "over the 30 s target"
        print(f"  {r.name:<18} {wall:6.1f} s wall ({cpu:6.1f} s CPU in this process)  {verdict}")
    model, scenario = outagesim.load(warm.model, warm.scenario)
    print(f"  reference again: {_reference(model, scenario):.2f} s (before: {before:.2f} s)")
    return 0


def _reference(model, scenario) -> float:
    """Wall time of one replica of the warm-up replay in this process: the machine's speed now."""
    w0 = time.perf_counter()
    outagesim.simulate(model, scenario, replicas=1, seed=0, workers=1)
    return time.perf_counter() - w0


if __name__ == "__main__":
    raise SystemExit(main())
