"""What the request-level engine reads from a Network: call plans, link lookup, demand and change times.

Kept apart from the event loop (``des_replica``) so the hot path holds only plain Python lists and
floats, built once per run or per replica here.
"""

from __future__ import annotations

import math

import numpy as np

from .network import EFFECT_CAPACITY, Network, route_weights

ASYNC, SEQ, PAR = 0, 1, 2  # kinds of step in a cell's call plan


def call_plans(net: Network) -> list[list[tuple[int, tuple[tuple[int, int], ...]]]]:
    """Per cell, its service's calls in edge_order as steps ``(kind, ((edge, link), ...))``.

    Async calls are fired at their position; each sync sequential edge is one step; consecutive sync
    parallel edges form one step whose calls all run at once.
    """
    link_of = {(int(e), int(c)): i for i, (e, c) in enumerate(zip(net.link_edge, net.link_cell, strict=True))}
    plans = []
    for cell, svc in enumerate(net.cell_service):
        edges = [e for e in np.flatnonzero(net.edge_caller == svc)]
        edges.sort(key=lambda e: int(net.edge_order[e]))
        plan: list[tuple[int, tuple[tuple[int, int], ...]]] = []
        for e in edges:
            item = (int(e), link_of[(int(e), cell)])
            if not net.sync[e]:
                plan.append((ASYNC, (item,)))
            elif not net.parallel[e]:
                plan.append((SEQ, (item,)))
            elif plan and plan[-1][0] == PAR:
                plan[-1] = (PAR, plan[-1][1] + (item,))
            else:
                plan.append((PAR, (item,)))
        plans.append(plan)
    return plans


def tenant_entries(net: Network) -> list[list[tuple[int, int]]]:
    """Per tenant, its entry edges and their (caller-less) links."""
    link_of = {int(e): i for i, (e, c) in enumerate(zip(net.link_edge, net.link_cell, strict=True)) if c < 0}
    return [[(int(e), link_of[int(e)]) for e in np.flatnonzero(net.edge_tenant == t)]
            for t in range(len(net.tenants))]


def route_table(net: Network, healthy_share: np.ndarray, r: int) -> list[tuple[list[int], list[float]]]:
    """Per link, the callee cells and cumulative route weights for replica r (the shared routing rule)."""
    w = route_weights(net, healthy_share)[r]
    table: list[tuple[list[int], list[float]]] = [([], []) for _ in range(len(net.link_edge))]
    for p, link in enumerate(net.route_link):
        table[link][0].append(int(net.route_cell[p]))
        table[link][1].append(float(w[p]))
    out = []
    for cells, ws in table:
        tot = sum(ws)
        ws = [1.0] * len(cells) if tot <= 0 else ws
        tot = sum(ws)
        cum, acc = [], 0.0
        for x in ws:
            acc += x / tot
            cum.append(acc)
        if cum:
            cum[-1] = 1.0
        out.append((cells, cum))
    return out


def change_times(net: Network, r: int) -> list[float]:
    """Times in [0, duration) at which replica r's cells change (fault edges and restarts after startup)."""
    ts = {0.0}
    for e in net.effects:
        ts.add(e.start_s)
        ts.add(e.end_s)
        if e.kind == EFFECT_CAPACITY and math.isfinite(e.end_s):
            ts.update(float(x) for x in e.end_s + net.startup_time[r, e.cells])
    return sorted(t for t in ts if 0 <= t < net.duration_s)


def anchor_hour(net: Network) -> float:
    """Hours after midnight UTC at the anchor (the origin of the daily shape)."""
    a = net.anchor
    return a.hour + a.minute / 60 + a.second / 3600


def integrated_demand(net: Network) -> np.ndarray:
    """Requests per tenant over the run, float[R, T] (trapezoid on a grid finer than the hourly knots)."""
    n = max(2, int(net.duration_s / 60) + 2)
    ts = np.linspace(0.0, net.duration_s, n)
    rates = np.stack([net.demand_rps(t) for t in ts])  # (n, R, T)
    return np.trapezoid(rates, ts, axis=0) if hasattr(np, "trapezoid") else np.trapz(rates, ts, axis=0)


def visits_per_request(net: Network) -> np.ndarray:
    """Expected service visits caused by one call to each service, float[R, S]: V = 1 + A·V."""
    n_s = len(net.services)
    out = np.empty((net.replicas, n_s))
    calls = np.flatnonzero(net.edge_caller >= 0)
    for r in range(net.replicas):
        a = np.zeros((n_s, n_s))
        np.add.at(a, (net.edge_caller[calls], net.edge_callee[calls]), net.per_request[r, calls])
        try:
            v = np.linalg.solve(np.eye(n_s) - a, np.ones(n_s))
        except np.linalg.LinAlgError:
            v = np.full(n_s, np.inf)
        out[r] = np.where(v > 0, v, np.inf)
    return out
