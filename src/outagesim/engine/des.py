"""Request-level reference engine (SimPy): every request, attempt and worker, one independent run per replica.

It is slow and exact, the yardstick for the fluid engine and for Erlang C. Semantics (the fluid engine
implements the same; where they differ it is said here):

Randomness
    Replica r draws everything from ``random.Random`` seeded by ``SeedSequence(net.seed,
    spawn_key=(r, 0xDE5))``, so replica r does not depend on how many replicas run. Demand noise
    (``noise_sigma``, the OU process on log-rate) is **ignored**: arrivals are Poisson at
    ``demand_rps(t)`` exactly (by thinning, bounded per hour of the piecewise-linear daily shape).
Start state
    An empty system (the fluid engine starts from the fault-free steady state): compare after a warm-up.
Users
    Each user request picks one entry edge of its tenant by ``per_request`` share and runs the client
    attempt loop of that edge on the entry link.
Attempt loop (clients and workers alike)
    Attempt k goes to a callee cell drawn by ``route_weights`` on the caller's link, with the load
    balancer's view of healthy share = ``capacity_factor(t - lb_detect_s)``. It fails on timeout
    (``timeout[r, e]`` after it was sent; the callee keeps working on it, calls included: wasted work),
    on an error response, or on rejection. After failure k the caller waits
    b = min(cap, base * multiplier**(k-1)), jittered (none; full: U(0, b); equal: b/2 + U(0, b/2)); it
    stops at ``max_attempts`` or when the next attempt would *start* after ``t0 + deadline`` (t0 = first
    attempt). A service with ``propagate_deadline`` gives its sync calls its own attempt's expiry T: an
    attempt sent at t times out after min(timeout, T - t), none is sent at or after T, and no retry starts
    after T (see ``mechanisms/deadline.py``). Sync calls hold the caller's worker for the whole loop; async
    calls run their loop detached (retries included) and never affect the caller. If the caller's worker is
    lost, its loops stop.
Cell
    Workers c = round_half_up(instances * capacity_factor * concurrency), updated at every change time
    (fault edges, and restored instances after ``startup_time``). An arrival is rejected when c = 0, or
    when all workers are busy and waiting + 1 > queue_limit * healthy instances. Queue FIFO or LIFO
    (pure LIFO: the fluid's "LIFO above the stationary queue" has no request-level counterpart);
    ``drop_expired`` discards, when it would start service and at no capacity cost, a waiting request
    whose caller has already timed out. When capacity drops from f to f' < f, a random share 1 - f'/f of
    the requests in service and of those waiting fails at once as errors (all of them when f' = 0).
Service
    Own work ~ gamma(mean = service_time_mean + added_latency(t at start), cv = service_time_cv);
    cv = 1 exponential, cv = 0 deterministic. Then the calls in ``edge_order``: floor(per_request) +
    Bernoulli(fraction) calls per edge; a sequential sync edge's calls run one after another;
    consecutive parallel sync edges form one group whose calls all start together and which ends when
    all have finished; async calls are fired at their position. A hard sync call that finally fails
    aborts the remaining calls (in a parallel group, once the group has finished) and the response is
    an error; a soft one marks the response degraded (still a success; counted in ``info['degraded']``).
    Then the response is an error with probability ``error_fraction(t)``; the worker is freed when the
    response is sent.
Metrics (``record.py`` names; interval means over ``record_every_s`` on [0, duration))
    Each attempt at a cell ends, for its caller, in exactly one of goodput (success in time), errors
    (error response, rejection or loss to a capacity drop, in time) or timeouts (counted when the caller
    gives up), so arrivals = goodput + errors + timeouts + the change in attempts pending. ``completed``
    counts worker responses, late ones (wasted work) included; latencies are of those responses.
    Levels (queue, in_service, healthy_instances) are exact time averages; utilisation is
    mean in_service / mean workers. Tenant goodput and errors are counted when the request finally ends.
``info``
    engine="des", wall_s, visits (attempts arriving at cells), dropped (drop_expired), killed (lost to
    capacity drops), degraded, and ``waits`` when ``record_waits``: per replica, per cell name, a pair of
    float arrays (arrival times, waits in queue) in order of service start.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..errors import RunRefused
from ..record import CELL_METRICS, TENANT_METRICS, Event, RunRecord
from .des_inputs import integrated_demand, visits_per_request
from .des_replica import ReplicaRun
from .network import EFFECT_CAPACITY, EFFECT_DEMAND, EFFECT_ERRORS, EFFECT_LATENCY, Network

# Wall time per service visit, measured on this 2-core machine (Python 3.11, SimPy 4.1.2) with
# tests/engine/nets.py systems: 6.4-7.7 us of CPU per visit (M/M/1 and M/M/8 at rho 0.8; 5-service sync
# chain at 1000 req/s with and without retries and a capacity dip; two zones at 2000 req/s), 9.6-11.8 us
# of wall time with the other core busy. Set near the contended figure, so estimates err on refusing.
US_PER_VISIT = 10.0

_EFFECT_KIND = {EFFECT_CAPACITY: "capacity", EFFECT_LATENCY: "latency", EFFECT_ERRORS: "errors"}


def estimate_des_cost(net: Network) -> tuple[float, float]:
    """(service visits, wall seconds) a request-level run would take, before running it.

    Visits = sum over replicas and tenants of integrated demand x entry share x expected visits per call
    of the entry service (per_request propagated down the call graph, one attempt per call).
    """
    demand = integrated_demand(net)  # (R, T)
    per_call = visits_per_request(net)  # (R, S)
    visits = 0.0
    for e in np.flatnonzero(net.edge_tenant >= 0):
        t, s = net.edge_tenant[e], net.edge_callee[e]
        visits += float(np.sum(demand[:, t] * net.per_request[:, e] * per_call[:, s]))
    return visits, visits * US_PER_VISIT * 1e-6


def refuse_if_too_costly(net: Network, *, force: bool = False, max_wall_s: float = 600) -> float:
    """RunRefused if a request-level run of ``net`` would take over max_wall_s (unless force); the visits."""
    visits_est, wall_est = estimate_des_cost(net)
    if wall_est > max_wall_s and not force:
        raise RunRefused(
            f"the request-level engine would simulate about {visits_est:,.0f} service visits, "
            f"an estimated {wall_est:,.0f} s of wall time (limit {max_wall_s:,.0f} s); "
            "use --force (force=True) to run it anyway, or fewer replicas, a shorter scenario or less demand"
        )
    return visits_est


def simulate_des(
    net: Network,
    *,
    force: bool = False,
    progress: Callable[[float], None] | None = None,
    max_wall_s: float = 600,
    record_waits: bool = False,
) -> RunRecord:
    """Run every replica at request level; RunRefused if the estimate exceeds max_wall_s and not force."""
    if any(e.kind == EFFECT_DEMAND for e in net.effects):
        raise RunRefused("the request-level engine does not model demand surges; run this scenario with "
                         "--engine fluid")
    if net.controls is not None:
        raise RunRefused("the request-level engine does not model controllers (monitors, operators, health "
                         "checks, DNS records, fleets) or scripted actions; run this model with --engine fluid")
    visits_est = refuse_if_too_costly(net, force=force, max_wall_s=max_wall_s)
    start = time.perf_counter()
    n_rep = net.replicas
    runs = []
    for r in range(n_rep):
        run = ReplicaRun(net, r, record_waits=record_waits)

        def report(frac: float, r: int = r) -> None:
            """Progress of this replica as a share of the whole run."""
            if progress is not None:
                progress((r + frac) / n_rep)

        run.run(report)
        runs.append(run)
    wall = time.perf_counter() - start

    n = runs[0].recorder.n
    series: dict[tuple[str, str, str], np.ndarray] = {}
    for i, name in enumerate(net.tenants):
        for m in TENANT_METRICS:
            series[("tenant", name, m)] = np.stack([run.recorder.ten_out[m][i] for run in runs])
    for i, name in enumerate(net.cells):
        for m in CELL_METRICS:
            series[("cell", name, m)] = np.stack([run.recorder.cell_out[m][i] for run in runs])
    info: dict = {
        "engine": "des",
        "wall_s": wall,
        "visits": int(sum(run.visits for run in runs)),
        "visits_estimated": visits_est,
        "dropped": int(sum(run.dropped for run in runs)),
        "killed": int(sum(run.killed for run in runs)),
        "degraded": int(sum(run.degraded for run in runs)),
    }
    if record_waits:
        info["waits"] = [
            {name: (np.frombuffer(x.wait_t), np.frombuffer(x.waits)) for name, x in zip(net.cells, run.cells,
                                                                                         strict=True)}
            for run in runs
        ]
    return RunRecord(
        engine="des",
        t_s=np.arange(n) * net.record_every_s,
        interval_s=net.record_every_s,
        series=series,
        events=sorted(_fault_events(net) + list(net.notes) + [e for run in runs for e in run.links.events],
                      key=lambda e: (e.t_s, e.replica)),
        info=info,
    )


def _fault_events(net: Network) -> list[Event]:
    """fault_start / fault_end for each effect that starts (ends) within the run."""
    out = []
    for e in net.effects:
        kind = _EFFECT_KIND.get(e.kind, str(e.kind))
        if 0 <= e.start_s < net.duration_s:
            out.append(Event(e.start_s, "fault_start", e.name, kind))
        if 0 <= e.end_s < net.duration_s:
            out.append(Event(e.end_s, "fault_end", e.name, kind))
    return sorted(out, key=lambda ev: ev.t_s)
