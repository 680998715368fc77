"""Vulnerability: does a retry-storm equilibrium exist, and how much capacity loss tips the system into it.

A storm equilibrium exists at a service when its capacity is below its demand times the attempts that
reach it (every layer retrying, wasted work included). The **margin** is the smallest capacity loss held
for 60 s on that service that leaves the base case stuck (tenant goodput < 20% of demand 2 minutes after
the loss ends), found by bisection over 0-95% with the fluid engine (noise off, one replica). A margin below 10%
is *thin*: a run that shows no outage with a thin margin is not evidence of safety.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .engine.compile import compile_network
from .engine.fluid import simulate_fluid
from .model import Model, Scenario
from .model.scenario import CapacityLoss

THIN = 0.10
HOLD_S = 60.0
DEEPEST = 0.95  # the deepest loss probed: a total loss empties queues and fails fast, so it often recovers
SETTLE_S = 120.0


def _stuck(model: Model, base: Scenario, service: str, fraction: float, seed: int) -> bool:
    start = 30.0
    fault = CapacityLoss(kind="capacity_loss", target=service, at=f"{start:g}s", duration=f"{HOLD_S:g}s",
                         fraction=fraction)
    sc = base.model_copy(update={"faults": {"margin-probe": fault}, "duration": start + HOLD_S + SETTLE_S,
                                 "variants": {}})
    rec = simulate_fluid(compile_network(model, sc, replicas=1, seed=seed), noise=False)
    n = max(1, int(30.0 / rec.interval_s))
    for t in {k for (kind, k, _) in rec.series if kind == "tenant"}:
        good = rec.get("tenant", t, "goodput")[0, -n:].sum()
        demand = rec.get("tenant", t, "demand")[0, -n:].sum()
        if good < 0.2 * demand:
            return True
    return False


def storm_possible(model: Model, base: Scenario, seed: int = 0) -> dict[str, bool]:
    """Capacity < arrivals × attempts reaching the service (from a short fault-free fluid run)."""
    sc = base.model_copy(update={"faults": {}, "duration": 30.0, "variants": {}})
    net = compile_network(model, sc, replicas=1, seed=seed)
    rec = simulate_fluid(net, noise=False)
    amp = np.ones(len(net.services))
    # attempts compound along call paths: client attempts × each edge's attempts
    for _ in range(len(net.services)):
        for e in range(len(net.edge_callee)):
            caller = net.edge_caller[e]
            up = amp[caller] if caller >= 0 else 1.0
            amp[net.edge_callee[e]] = max(amp[net.edge_callee[e]], up * net.max_attempts[e])
    out = {}
    for i, svc in enumerate(net.services):
        cells = [c for c in net.cells if c.split("@")[0] == svc]
        done = sum(rec.get("cell", c, "completed")[0, -1] for c in cells)
        util = np.mean([rec.get("cell", c, "utilisation")[0, -1] for c in cells])
        arrivals = sum(rec.get("cell", c, "arrivals")[0, -1] for c in cells)
        capacity = done / max(util, 1e-9)
        out[svc] = bool(arrivals * amp[i] > capacity)
    return out


def tipping_margins(model: Model, scenario: Scenario, *, seed: int = 0, steps: int = 5,
                    progress: Callable[[str, float], None] | None = None) -> dict[str, dict]:
    """For each service: storm_possible, margin (fraction of capacity, None if a 95% loss recovers), thin,
    and the probe (hold_s, deepest).

    The search stops at a 95% loss, not 100%: a total loss rejects every request at once and loses the
    queued work, so the system restarts empty and often recovers where a deep partial loss does not.
    """
    possible = storm_possible(model, scenario, seed)
    probe = {"hold_s": HOLD_S, "deepest": DEEPEST}  # what the search tried, for whoever reports it
    result = {}
    for j, svc in enumerate(model.services):
        if progress is not None:
            progress("margins", j / len(model.services))
        if not possible[svc]:
            result[svc] = {"storm_possible": False, "margin": None, "thin": False, **probe}
            continue
        if not _stuck(model, scenario, svc, DEEPEST, seed):
            result[svc] = {"storm_possible": True, "margin": None, "thin": False, **probe}
            continue
        lo, hi = 0.0, DEEPEST
        for _ in range(steps):
            mid = 0.5 * (lo + hi)
            if _stuck(model, scenario, svc, mid, seed):
                hi = mid
            else:
                lo = mid
        result[svc] = {"storm_possible": True, "margin": hi, "thin": hi < THIN, **probe}
    return result
