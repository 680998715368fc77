"""Static arrays of the fluid engine: the Network re-laid in engine order, per flow, link and level.

Kept apart from the step loop so fluid.py reads as the order of mechanisms, not as bookkeeping.
Arrays are (entity, replica[, bin][, attempt]) so each level's cells and flows are contiguous views.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .layout import Layout, build_layout
from .mechanisms.breaker import BreakerParams
from .mechanisms.retry import attempts_allowed, delay_slots, mean_backoff_s, slot_weights
from .network import Network


@dataclass
class LevelMaps:
    cells: slice
    flows: slice
    routes: np.ndarray  # global route indices
    links: np.ndarray  # links consumed at this level
    child_links: np.ndarray  # links whose caller cell is in this level
    breaker_links: np.ndarray  # links consumed at this level that have a circuit breaker
    cell_f0: np.ndarray  # first local flow of each cell of the level
    cell_f1: np.ndarray  # one past its last local flow


@dataclass
class Setup:
    net: Network
    layout: Layout
    dt: float
    n_bins: int
    n_slots: int
    k_max: int
    # cells (C, R)
    instances: np.ndarray
    concurrency: np.ndarray
    own_s: np.ndarray
    cv: np.ndarray
    queue_limit: np.ndarray  # (C, 1)
    lifo: np.ndarray
    drop: np.ndarray
    max_wait: np.ndarray  # (C, 1) load shedding's wait target (inf = none)
    cache_hit: np.ndarray  # (C, 1) cache hit ratio when warm (0: no cache)
    cache_warmup: np.ndarray  # (C, 1) s
    shedding: bool  # any cell sheds
    # flows
    flow_timeout_bins: np.ndarray  # (F, R) int
    flow_last_weight: np.ndarray  # (F, R) share of the last live bin's answers in time (timeout_bins)
    flow_timeout_s: np.ndarray  # (F, R)
    in_time: np.ndarray  # (F, R, B) bool: younger than the flow's timeout (always, for async)
    flow_finite: np.ndarray  # (F,) bool: the flow has a timeout (sync)
    # links
    link_edge: np.ndarray
    link_tenant: np.ndarray  # tenant of entry links, -1 otherwise
    link_order: np.ndarray
    link_sync: np.ndarray
    link_hard: np.ndarray
    link_parallel: np.ndarray
    link_per_request: np.ndarray  # (L, R)
    closed_loop: np.ndarray  # (L,) bool: sync call from a service (its caller's workers wait on it)
    link_fan_out: np.ndarray  # (L, R) calls one caller worker can have open at once on the link
    link_allowed: np.ndarray  # (L, R) attempts allowed
    link_backoffs: np.ndarray  # (K - 1, L, R) mean backoff before attempt k+1
    link_slots: np.ndarray  # (L, M, K) delay-line weights by new attempt index
    link_budget_ratio: np.ndarray  # (L,) retry tokens per first try (0: no budget)
    link_budget_cap: np.ndarray  # (L, R) tokens a link's bucket holds (Network.link_budget_cap)
    breakers: BreakerParams
    route_link: np.ndarray
    route_flow: np.ndarray
    levels: list[LevelMaps]
    entry_links: np.ndarray


def timeout_bins(bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Age bins a timeout of ``bins`` bin widths spans, and the share of its last bin's answers in time.

    The work of a bin arrives spread over it, and work that starts in a step is answered in it at half
    the rate of work in service all step (``cell_kernel``), so on average an attempt is exposed for
    half its first bin, then whole bins, then a share ``w`` of its last bin L, whose answers count as
    in time in that share and the rest as timed out: ½ + (L − 1) + w = ``bins`` with
    L = ⌈bins − ½⌉ and w = bins − L + ½ in (0, 1]. A timeout of at most half a bin (L = 0) spans one bin,
    answered in full: there only holds shorter than a bin answer at all. A whole number of bins thus
    gets one more, half counted (5 s in 1 s bins: 6, the last answering half in time); 2.5 bins gets 3.
    Rounding 2.5 to the nearest whole number (2) once made a 5 s timeout act like a 2 s one
    (tests/fidelity/test_timeout_bins.py).
    """
    last = np.where(bins > 0.5 + 1e-9, np.ceil(bins - 0.5 - 1e-9), 0.0)
    weight = np.where(last >= 1, np.minimum(bins - last + 0.5, 1.0), 1.0)
    return (last + 1).astype(np.int64), weight


def build_setup(net: Network, dt: float, spread_bins: int = 1) -> Setup:
    """The engine's static arrays at bin width ``dt``. The retry delay line is ``spread_bins - 1`` slots
    longer than the longest backoff needs, so the retries of an update spanning that many bins (a coarse
    step) can fall due spread over as many bins as their failures were (``link_kernel.resolve``)."""
    lay = build_layout(net)
    order = lay.cell_order

    def cells(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a[:, order].T)

    timeout = net.timeout[:, lay.flow_edge].T  # (F, R)
    finite = np.isfinite(timeout)
    bins_needed, last_weight = timeout_bins(np.where(finite, timeout / dt, 0.0))
    n_bins = int(bins_needed.max(initial=1)) + 2
    t_bins = np.where(finite, bins_needed, n_bins - 1)
    ages = np.arange(n_bins)[None, None, :]
    expired = (ages >= t_bins[:, :, None]) & finite[:, :, None]
    k_max = int(net.max_attempts.max(initial=1))
    n_slots = delay_slots(net, dt) + max(spread_bins, 1) - 1
    link_edge = net.link_edge
    per_edge_slots = slot_weights(net, dt, n_slots)  # (E, M, K)

    breakers = BreakerParams.of_links(net.breaker, link_edge)
    levels = []
    for lv in lay.levels:
        fl = lay.flow_cell[lv.flows] - lv.cells.start
        n_c = lv.cells.stop - lv.cells.start
        child = np.flatnonzero((lay.link_cell >= lv.cells.start) & (lay.link_cell < lv.cells.stop))
        levels.append(LevelMaps(
            cells=lv.cells, flows=lv.flows, routes=lv.routes,
            links=lv.links, child_links=child, breaker_links=lv.links[breakers.on[lv.links]],
            cell_f0=np.searchsorted(fl, np.arange(n_c), side="left").astype(np.int64),
            cell_f1=np.searchsorted(fl, np.arange(n_c), side="right").astype(np.int64)))

    caller = net.edge_caller[link_edge]
    return Setup(
        net=net, layout=lay, dt=dt, n_bins=n_bins, n_slots=n_slots, k_max=k_max,
        instances=cells(net.instances), concurrency=cells(net.concurrency),
        own_s=cells(net.service_time_mean), cv=cells(net.service_time_cv),
        queue_limit=net.queue_limit[order][:, None], lifo=net.lifo[order], drop=net.drop_expired[order],
        max_wait=net.max_wait[order][:, None], shedding=bool(np.isfinite(net.max_wait).any()),
        cache_hit=net.cache[order, 0][:, None], cache_warmup=net.cache[order, 1][:, None],
        flow_timeout_bins=t_bins, flow_last_weight=last_weight,  # 1 without a timeout (0 bins in)
        flow_timeout_s=np.where(finite, timeout, math.inf),
        in_time=~expired, flow_finite=finite.all(axis=1),
        link_edge=link_edge, link_tenant=np.where(caller < 0, net.edge_tenant[link_edge], -1),
        link_order=net.edge_order[link_edge], link_sync=net.sync[link_edge], link_hard=net.hard[link_edge],
        link_parallel=net.parallel[link_edge],
        link_per_request=np.ascontiguousarray(net.per_request[:, link_edge].T),
        closed_loop=net.sync[link_edge] & (caller >= 0),
        link_fan_out=np.where(net.parallel[link_edge][:, None],
                              np.maximum(np.ascontiguousarray(net.per_request[:, link_edge].T), 1.0), 1.0),
        link_allowed=np.ascontiguousarray(attempts_allowed(net)[:, link_edge].T),
        link_backoffs=np.array([mean_backoff_s(net, k)[:, link_edge].T for k in range(1, k_max)]).reshape(
            k_max - 1, len(link_edge), net.replicas),
        link_slots=per_edge_slots[link_edge],
        link_budget_ratio=net.budget_ratio[link_edge],
        link_budget_cap=np.ascontiguousarray(net.link_budget_cap().T),
        breakers=breakers,
        route_link=net.route_link, route_flow=lay.route_flow,
        levels=levels, entry_links=np.flatnonzero(caller < 0),
    )
