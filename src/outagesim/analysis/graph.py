"""The model as a graph: places, services, cells, tenants and the calls between services.

Two views. :func:`system_graph` is a networkx graph of everything, for inspection and export (a
reviewer's picture of what depends on what). :func:`service_levels` is the call graph's depth in its
strongly-connected-component condensation, callers first: the order in which load flows down and
failures flow up, computed with scipy.sparse because the static analyses run it on 100,000 services.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..model import Model
from ..model.names import qualified_zones, resolve_zone
from ..model.quantities import central


def tenant_node(name: str) -> str:
    """The node name of a tenant (tenants share the namespace of services, so they are prefixed)."""
    return f"tenant:{name}"


def system_graph(model: Model) -> nx.DiGraph:
    """Every component as a node (``kind``: provider, region, zone, service, cell, tenant) and edges.

    Edges carry ``relation``: ``contains`` (provider -> region -> zone), ``hosts`` (zone -> cell),
    ``runs`` (service -> cell), ``calls`` (service -> service, with ``required`` hard|soft, ``mode``
    sync|async, ``per_request``, ``parallel``) and ``enters`` (tenant -> entry service, with ``share``).
    Names are the qualified names of DESIGN.md; cells use the qualified zone.
    """
    g = nx.DiGraph()
    for p, prov in model.providers.items():
        g.add_node(p, kind="provider")
        for r, reg in prov.regions.items():
            region = f"{p}/{r}"
            g.add_node(region, kind="region")
            g.add_edge(p, region, relation="contains")
            for z in reg.zones:
                g.add_node(f"{region}/{z}", kind="zone")
                g.add_edge(region, f"{region}/{z}", relation="contains")
    for s, svc in model.services.items():
        g.add_node(s, kind="service", service_kind=svc.kind)
        for zname, count in svc.instances.items():
            zone = resolve_zone(model, zname)
            cell = f"{s}@{zone}"
            g.add_node(cell, kind="cell", service=s, zone=zone, instances=central(count),
                       workers=central(count) * central(svc.concurrency))
            g.add_edge(zone, cell, relation="hosts")
            g.add_edge(s, cell, relation="runs")
    for s, svc in model.services.items():
        for callee, call in svc.calls.items():
            g.add_edge(s, callee, relation="calls", required=call.required, mode=call.mode,
                       per_request=central(call.per_request), parallel=call.parallel)
    for t, ten in model.tenants.items():
        g.add_node(tenant_node(t), kind="tenant", peak_rps=central(ten.demand.peak_rps))
        total = sum(ten.entry.values())
        for entry, share in ten.entry.items():
            g.add_edge(tenant_node(t), entry, relation="enters", share=share / total)
    return g


def call_graph(model: Model) -> nx.DiGraph:
    """The services and their calls only (the ``calls`` edges of :func:`system_graph`)."""
    g = system_graph(model)
    keep = [(u, v) for u, v, rel in g.edges(data="relation") if rel == "calls"]
    out = nx.DiGraph()
    out.add_nodes_from((s, g.nodes[s]) for s in model.services)
    out.add_edges_from((u, v, g.edges[u, v]) for u, v in keep)
    return out


def service_levels(n_services: int, caller: np.ndarray, callee: np.ndarray) -> np.ndarray:
    """Depth of each service in the SCC condensation of the call graph (0 = called by nobody).

    Services of one strongly connected component share a level; a call inside it (a cycle through
    async or soft calls) is a back edge. Kahn's algorithm, one frontier of components at a time.
    """
    if n_services == 0:
        return np.zeros(0, np.int64)
    adj = coo_matrix((np.ones(len(caller)), (caller, callee)), shape=(n_services, n_services)).tocsr()
    n_comp, comp = connected_components(adj, directed=True, connection="strong")
    cu, cv = comp[caller], comp[callee]
    keep = cu != cv
    cu, cv = cu[keep], cv[keep]
    pairs = np.unique(cu * n_comp + cv)
    cu, cv = pairs // n_comp, pairs % n_comp
    order = np.argsort(cu, kind="stable")
    cu, cv = cu[order], cv[order]
    start = np.searchsorted(cu, np.arange(n_comp + 1))
    indeg = np.bincount(cv, minlength=n_comp)
    depth = np.zeros(n_comp, np.int64)
    frontier = np.flatnonzero(indeg == 0)
    level = 0
    while frontier.size:
        depth[frontier] = level
        lo, hi = start[frontier], start[frontier + 1]
        succ = cv[_ranges(lo, hi)]
        np.subtract.at(indeg, succ, 1)
        frontier = np.unique(succ[indeg[succ] == 0])
        level += 1
    return depth[comp]


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(lo[i], hi[i])`` for every i, without a Python loop."""
    n = hi - lo
    total = int(n.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    keep = n > 0
    lo, n = lo[keep], n[keep]
    steps = np.ones(total, np.int64)
    heads = np.concatenate([[0], np.cumsum(n)[:-1]])
    steps[heads] = lo - np.concatenate([[0], (lo + n - 1)[:-1]])
    steps[0] = lo[0]
    return np.cumsum(steps)


def zone_index(model: Model) -> tuple[list[str], np.ndarray, list[str], np.ndarray, list[str]]:
    """(zones, zone -> region index, regions, region -> provider index, providers), all qualified."""
    zones = qualified_zones(model)
    regions = list(dict.fromkeys(z.rsplit("/", 1)[0] for z in zones))
    providers = list(model.providers)
    r_ix = {r: i for i, r in enumerate(regions)}
    p_ix = {p: i for i, p in enumerate(providers)}
    zone_region = np.array([r_ix[z.rsplit("/", 1)[0]] for z in zones], np.int64)
    region_provider = np.array([p_ix[r.split("/", 1)[0]] for r in regions], np.int64)
    return zones, zone_region, regions, region_provider, providers
