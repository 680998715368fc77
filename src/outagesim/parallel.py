"""Replica ranges run in worker processes: replicas are independent, so a run splits exactly.

Replica k's draws and noise depend only on (seed, k), and the fluid engine chooses its sub-steps per
replica, so replicas [a, b) in one process and [b, c) in another give the same numbers, bit for bit, as
one process running [a, c) (tested). The calling process runs the first range and reports progress;
the others run in a process pool started with ``spawn`` (nothing shared with the caller).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from .engine.compile import compile_network
from .engine.des import refuse_if_too_costly, simulate_des
from .engine.fluid import simulate_fluid
from .engine.network import Network
from .model import Model, Scenario
from .record import RunRecord, concat_replicas

# Below this many replica x cell x step updates a second process (a few seconds to start and import)
# costs more than it saves.
AUTO_MIN_WORK = 5e7


def auto_workers(net: Network) -> int:
    """Processes for a run left to choose: every core for a big run, one for a small one."""
    steps = net.duration_s / max(net.dt_s, 1e-9)
    work = net.replicas * len(net.cells) * steps
    if work < AUTO_MIN_WORK:
        return 1
    return max(1, min(os.cpu_count() or 1, net.replicas))


def replica_ranges(replicas: int, workers: int) -> list[tuple[int, int]]:
    """(first replica, count) per process, as even as possible, in replica order."""
    workers = max(1, min(workers, replicas))
    base, extra = divmod(replicas, workers)
    out, first = [], 0
    for i in range(workers):
        n = base + (1 if i < extra else 0)
        out.append((first, n))
        first += n
    return out


def run_range(model: Model, scenario: Scenario, first: int, count: int, seed: int, engine: str, noise: bool,
              progress: Callable[[float], None] | None = None) -> RunRecord:
    """Compile replicas [first, first + count) and run them (the request-level cost was checked by the caller)."""
    net = compile_network(model, scenario, replicas=count, seed=seed, first_replica=first)
    return _run_here(net, engine, noise, progress)


def _run_here(net: Network, engine: str, noise: bool, progress: Callable[[float], None] | None) -> RunRecord:
    if engine == "fluid":
        return simulate_fluid(net, noise=noise, progress=progress)
    return simulate_des(net, force=True, progress=progress)


def run_replicas(model: Model, scenario: Scenario, net: Network, *, engine: str, noise: bool = True,
                 force: bool = False, workers: int | None = None,
                 progress: Callable[[float], None] | None = None) -> RunRecord:
    """Every replica of ``net`` (compiled from model and scenario), over ``workers`` processes (None: auto)."""
    if engine == "des":
        refuse_if_too_costly(net, force=force)
    n = auto_workers(net) if workers is None else workers
    parts = replica_ranges(net.replicas, n)
    if len(parts) == 1:
        rec = _run_here(net, engine, noise, progress)
        rec.info["workers"] = 1
        return rec
    start = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(parts) - 1, mp_context=ctx) as pool:
        futures = [pool.submit(run_range, model, scenario, first, count, net.seed, engine, noise)
                   for first, count in parts[1:]]
        head = run_range(model, scenario, *parts[0], net.seed, engine, noise, progress)
        records = [head, *(f.result() for f in futures)]
    rec = concat_replicas(records)
    rec.info["wall_s"] = time.perf_counter() - start
    rec.info["workers"] = len(parts)
    return rec
