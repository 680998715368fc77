"""Index arrays the fluid engine derives from a Network: flows, propagation levels, segment maps.

A **flow** is the work one edge puts on one callee cell: (edge, callee cell). Flows of a cell share its
workers; each flow keeps its own age bins because each edge has its own timeout. Cells are processed
level by level in topological order of the service graph's strongly-connected-component condensation,
so load propagates through the whole call graph within one step; a call into the same or an earlier
level (only possible around a cycle) is injected on the next step.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from .network import Network


@dataclass(frozen=True)
class Level:
    cells: slice  # cells of this level (cells are renumbered so levels are contiguous)
    flows: slice  # flows into those cells, grouped by cell
    routes: np.ndarray  # routes whose callee cell is in this level
    links: np.ndarray  # links whose callee service is in this level (their output is consumed here)


@dataclass(frozen=True)
class Layout:
    cell_order: np.ndarray  # engine cell i = network cell cell_order[i]
    flow_edge: np.ndarray  # int[F]
    flow_cell: np.ndarray  # int[F] engine cell index
    flow_start: np.ndarray  # int[C] first flow of each engine cell (flows grouped by cell)
    route_flow: np.ndarray  # int[P] flow a route feeds
    route_cell: np.ndarray  # int[P] engine cell of the route
    link_cell: np.ndarray  # int[L] engine caller cell, -1 for entries
    levels: tuple[Level, ...]


def service_levels(net: Network) -> np.ndarray:
    """Level of each service: its depth in the SCC condensation of the call graph (callers first)."""
    g = nx.DiGraph()
    g.add_nodes_from(range(len(net.services)))
    for caller, callee in zip(net.edge_caller, net.edge_callee, strict=True):
        if caller >= 0:
            g.add_edge(int(caller), int(callee))
    cond = nx.condensation(g)
    depth = {}
    for comp in nx.topological_sort(cond):
        preds = list(cond.predecessors(comp))
        depth[comp] = 1 + max((depth[p] for p in preds), default=-1)
    return np.array([depth[cond.graph["mapping"][s]] for s in range(len(net.services))], np.int64)


def build_layout(net: Network) -> Layout:
    svc_level = service_levels(net)
    cell_level = svc_level[net.cell_service]
    cell_order = np.argsort(cell_level, kind="stable")
    new_of = np.empty_like(cell_order)
    new_of[cell_order] = np.arange(len(cell_order))

    route_cell = new_of[net.route_cell]
    route_edge = net.link_edge[net.route_link]
    pairs = sorted({(int(c), int(e)) for c, e in zip(route_cell, route_edge, strict=True)})
    flow_cell = np.array([c for c, _ in pairs], np.int64)
    flow_edge = np.array([e for _, e in pairs], np.int64)
    flow_ix = {p: i for i, p in enumerate(pairs)}
    route_flow = np.array([flow_ix[(int(c), int(e))] for c, e in zip(route_cell, route_edge, strict=True)],
                          np.int64)
    n_cells = len(net.cells)
    flow_start = np.searchsorted(flow_cell, np.arange(n_cells))
    link_cell = np.where(net.link_cell >= 0, new_of[np.maximum(net.link_cell, 0)], -1)
    link_target_level = svc_level[net.edge_callee[net.link_edge]]

    levels = []
    sorted_levels = cell_level[cell_order]
    for lv in np.unique(sorted_levels):
        cells = np.flatnonzero(sorted_levels == lv)
        c0, c1 = int(cells[0]), int(cells[-1]) + 1
        f0 = int(flow_start[c0])
        f1 = int(flow_start[c1]) if c1 < n_cells else len(flow_cell)
        routes = np.flatnonzero((route_cell >= c0) & (route_cell < c1))
        links = np.flatnonzero(link_target_level == lv)
        levels.append(Level(slice(c0, c1), slice(f0, f1), routes, links))
    return Layout(cell_order, flow_edge, flow_cell, flow_start, route_flow, route_cell, link_cell,
                  tuple(levels))
