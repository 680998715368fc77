"""Model -> the arrays the static analyses read: cells, call links and their routes, tenants.

The same structure the engine compiles, rebuilt here from the Model (analysis never imports the engine):

- a **cell** per (service, zone it has instances in), with its workers (instances x concurrency, central
  values of uncertain numbers), own service time and cache miss share;
- a **link** per (caller cell, call) and per (tenant, entry service); links are grouped by caller cell
  in call order (entry links last);
- a **route** per (link, candidate callee cell), by the engine's candidate rule (engine/compile.py): a
  call from a cell may reach the callee's cells in the caller's region, or every cell of the callee when
  it has none there; a tenant's entry reaches every cell of the entry service. ``route_local`` marks the
  callee cell in the caller's own zone, which routing prefers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model import Model
from ..model.names import zone_aliases
from ..model.quantities import central
from .graph import _ranges, service_levels, zone_index


@dataclass(frozen=True)
class FlowNet:
    """The static structure of a model, as flat arrays (names only as labels)."""

    zones: list[str]
    zone_region: np.ndarray  # int[Z]
    regions: list[str]
    region_provider: np.ndarray  # int[G]
    providers: list[str]
    services: list[str]
    service_level: np.ndarray  # int[S] depth in the call graph's SCC condensation
    tenants: list[str]
    peak_rps: np.ndarray  # float[T]
    users_per_rps: np.ndarray  # float[T]
    # cells, grouped by service: service s owns cells svc_start[s]:svc_start[s + 1]
    svc_start: np.ndarray  # int[S + 1]
    cell_service: np.ndarray  # int[C]
    cell_zone: np.ndarray  # int[C]
    workers: np.ndarray  # float[C]
    own_s: np.ndarray  # float[C] own service time
    cv: np.ndarray  # float[C] coefficient of variation of the own service time
    bounded: np.ndarray  # bool[C] waiting bounded (queue limit, shedding) or LIFO: overload does not collapse
    miss: np.ndarray  # float[C] share of requests that make the calls (1 - cache hit ratio)
    # links: cell c's calls are links link_start[c]:link_start[c + 1]; entry links follow, caller -1
    link_start: np.ndarray  # int[C + 1]
    link_cell: np.ndarray  # int[L] caller cell, -1 for an entry
    link_tenant: np.ndarray  # int[L] tenant of an entry link, -1 for a call
    per_request: np.ndarray  # float[L] calls per caller request (entry: share of the tenant's demand)
    sync: np.ndarray  # bool[L]
    hard: np.ndarray  # bool[L]
    parallel: np.ndarray  # bool[L]
    timeout_s: np.ndarray  # float[L] a caller waits at most this long per attempt (inf: async or none)
    # routes: link l's are route_start[l]:route_start[l + 1]
    route_start: np.ndarray  # int[L + 1]
    route_link: np.ndarray  # int[P]
    route_cell: np.ndarray  # int[P]
    route_local: np.ndarray  # bool[P]
    # routes into each cell: in_route[in_start[c]:in_start[c + 1]]
    in_start: np.ndarray  # int[C + 1]
    in_route: np.ndarray  # int[P]
    # fleets and vendors: the services that run on each fleet, the fleets that run each vendor's agent
    fleet_services: dict[str, tuple[int, ...]] = field(default_factory=dict)
    vendor_fleets: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def cell_region(self) -> np.ndarray:
        return self.zone_region[self.cell_zone]

    def cell_name(self, c: int) -> str:
        return f"{self.services[self.cell_service[c]]}@{self.zones[self.cell_zone[c]]}"


def flow_net(model: Model) -> FlowNet:
    """Build the arrays of :class:`FlowNet` from a validated model."""
    zones, zone_region, regions, region_provider, providers = zone_index(model)
    z_ix = {z: i for i, z in enumerate(zones)}
    alias = {a: z_ix[q] for a, q in zone_aliases(model).items()}
    services = list(model.services)
    s_ix = {s: i for i, s in enumerate(services)}

    cell_zone, workers, own, cv, bounded, miss, counts = [], [], [], [], [], [], []
    caller, callee, per_req, sync, hard, par, timeout = [], [], [], [], [], [], []
    for s, svc in model.services.items():
        conc = central(svc.concurrency)
        counts.append(len(svc.instances))
        for zname, n in svc.instances.items():
            cell_zone.append(alias[zname])
            workers.append(central(n) * conc)
        own.append(central(svc.service_time.mean))
        cv.append(central(svc.service_time.cv))
        q = svc.queue
        bounded.append(q.limit is not None or q.max_wait is not None or q.discipline == "lifo")
        miss.append(1.0 - svc.cache.hit_ratio if svc.cache else 1.0)
        for target, call in svc.calls.items():
            caller.append(s_ix[s])
            callee.append(s_ix[target])
            per_req.append(central(call.per_request))
            sync.append(call.mode == "sync")
            hard.append(call.required == "hard")
            par.append(call.parallel)
            timeout.append(central(call.timeout) if call.timeout is not None and call.mode == "sync" else np.inf)
    n_svc = len(services)
    svc_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    cell_service = np.repeat(np.arange(n_svc), counts)
    cell_zone_a = np.array(cell_zone, np.int64)
    n_cells = len(cell_zone_a)
    e_caller, e_callee = np.array(caller, np.int64), np.array(callee, np.int64)
    levels = service_levels(n_svc, e_caller, e_callee)

    # call links: every cell of the caller x each of the caller's calls (edges are in caller, call order)
    e_first = np.searchsorted(e_caller, np.arange(n_svc + 1))  # edges of service s: e_first[s]:e_first[s+1]
    n_calls = np.diff(e_first)
    calls_per_cell = n_calls[cell_service]
    link_cell = np.repeat(np.arange(n_cells), calls_per_cell)
    link_edge = _ranges(e_first[cell_service], e_first[cell_service] + calls_per_cell)
    link_start = np.concatenate([[0], np.cumsum(calls_per_cell)]).astype(np.int64)

    tenants = list(model.tenants)
    t_link, t_callee, t_share, t_timeout = [], [], [], []
    for t_i, ten in enumerate(model.tenants.values()):
        total = sum(ten.entry.values())
        for entry, share in ten.entry.items():
            t_link.append(t_i)
            t_callee.append(s_ix[entry])
            t_share.append(share / total)
            t_timeout.append(central(ten.client.timeout))
    n_call_links = len(link_cell)
    link_cell = np.concatenate([link_cell, np.full(len(t_link), -1, np.int64)])
    link_tenant = np.concatenate([np.full(n_call_links, -1, np.int64), np.array(t_link, np.int64)])
    link_callee = np.concatenate([e_callee[link_edge], np.array(t_callee, np.int64)])

    def per_link(values: list, dtype: type, entry_value) -> np.ndarray:
        a = np.array(values, dtype)[link_edge] if values else np.zeros(0, dtype)
        return np.concatenate([a, np.full(len(t_link), entry_value, dtype)])

    per_request = per_link(per_req, float, 0.0)
    per_request[n_call_links:] = t_share
    timeout_s = per_link(timeout, float, 0.0)
    timeout_s[n_call_links:] = t_timeout
    route_start, route_link, route_cell = _routes(link_cell, link_callee, cell_service, cell_zone_a,
                                                  zone_region, len(regions))
    route_local = (link_cell[route_link] >= 0) & (cell_zone_a[route_cell] == cell_zone_a[np.maximum(
        link_cell[route_link], 0)])
    in_route = np.argsort(route_cell, kind="stable")
    in_start = np.searchsorted(route_cell[in_route], np.arange(n_cells + 1))
    return FlowNet(
        zones=zones, zone_region=zone_region, regions=regions, region_provider=region_provider,
        providers=providers, services=services, service_level=levels, tenants=tenants,
        peak_rps=np.array([central(t.demand.peak_rps) for t in model.tenants.values()], float),
        users_per_rps=np.array([t.users_per_rps for t in model.tenants.values()], float),
        svc_start=svc_start, cell_service=cell_service, cell_zone=cell_zone_a,
        workers=np.array(workers, float), own_s=np.array(own, float)[cell_service],
        cv=np.array(cv, float)[cell_service], bounded=np.array(bounded, bool)[cell_service],
        miss=np.array(miss, float)[cell_service], link_start=link_start, link_cell=link_cell,
        link_tenant=link_tenant, per_request=per_request, sync=per_link(sync, bool, True),
        hard=per_link(hard, bool, True), parallel=per_link(par, bool, False), timeout_s=timeout_s,
        route_start=route_start,
        route_link=route_link, route_cell=route_cell, route_local=route_local, in_start=in_start,
        in_route=in_route,
        fleet_services={f: tuple(i for i, svc in enumerate(model.services.values()) if svc.runs_on == f)
                        for f in model.fleets},
        vendor_fleets={v: tuple(f for f, fl in model.fleets.items() if v in fl.agents) for v in model.vendors},
    )


def _routes(link_cell, link_callee, cell_service, cell_zone, zone_region, n_regions):
    """Candidate callee cells per link, by the engine's rule: same region as the caller, else all.

    Cells sorted by (service, region) make both candidate sets contiguous ranges, found by binary search,
    so no link is expanded over cells it cannot reach.
    """
    n_cells = len(cell_service)
    key = cell_service * n_regions + zone_region[cell_zone]
    by_key = np.argsort(key, kind="stable")
    sorted_key = key[by_key]
    svc_lo = np.searchsorted(sorted_key, link_callee * n_regions, "left")
    svc_hi = np.searchsorted(sorted_key, (link_callee + 1) * n_regions, "left")
    caller_region = np.where(link_cell >= 0, zone_region[cell_zone[np.maximum(link_cell, 0)]], -1)
    want = link_callee * n_regions + caller_region
    lo = np.searchsorted(sorted_key, want, "left")
    hi = np.searchsorted(sorted_key, want, "right")
    none_there = (hi == lo) | (link_cell < 0)
    lo = np.where(none_there, svc_lo, lo)
    hi = np.where(none_there, svc_hi, hi)
    counts = hi - lo
    route_link = np.repeat(np.arange(len(link_cell)), counts)
    route_cell = by_key[_ranges(lo, hi)] if n_cells else np.zeros(0, np.int64)
    route_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return route_start, route_link, route_cell.astype(np.int64)
