"""What the compiled sweeps (:mod:`~outagesim.analysis.flow_kernel`) read and write: a FlowNet's arrays,
the mutable state, and the kernel's own numbering of cells, links and routes (cells by zone, so a zone's
or region's loss works on a few contiguous stretches of each array). Plain numpy, no numba: built once
per model, then handed to the kernel.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from .graph import _ranges


class NetArrays(NamedTuple):
    """The parts of a :class:`~outagesim.analysis.flow_net.FlowNet` the sweeps read, plus each cell's level."""

    cell_level: np.ndarray  # int[C] call-graph level of the cell's service
    cell_key: np.ndarray  # int[C] the cell's index in the FlowNet: a level's batch is taken in this order
    level_start: np.ndarray  # int[V + 1] the pending cells of level v sit at [level_start[v], ...)
    workers: np.ndarray
    own_s: np.ndarray
    cv: np.ndarray
    bounded: np.ndarray
    miss: np.ndarray
    link_start: np.ndarray
    link_cell: np.ndarray
    per_request: np.ndarray
    sync: np.ndarray
    hard: np.ndarray
    parallel: np.ndarray
    timeout_s: np.ndarray
    route_start: np.ndarray
    route_link: np.ndarray
    route_cell: np.ndarray
    route_local: np.ndarray
    in_start: np.ndarray
    in_route: np.ndarray
    in_link: np.ndarray  # route_link[in_route]: one random read less per inbound route
    in_caller: np.ndarray  # link_cell[in_link]


class State(NamedTuple):
    """The arrays of a ``Flow`` the sweeps read and write (the same objects: written in place)."""

    alive: np.ndarray
    lam: np.ndarray
    hold: np.ndarray
    soj: np.ndarray
    succ: np.ndarray
    step: np.ndarray
    trend: np.ndarray  # direction of the hold's last move x the ceiling of its step (Flow._damped)
    out: np.ndarray
    calls: np.ndarray
    fail: np.ndarray
    thin: np.ndarray
    w: np.ndarray
    lam_sum: np.ndarray  # float[C] the arrivals last summed over the cell's inbound routes (lam keeps them
    lam_stale: np.ndarray  # bool[C] ... only when they moved); stale: an inbound out or weight was written since
    call_time: np.ndarray  # float[L] the time on the call last summed over the link's routes (calls keeps it
    call_ok: np.ndarray  # float[L] ... only when it moved) and the success it sees there
    link_stale: np.ndarray  # bool[L] a route's weight or callee's sojourn, success or health was written since
    touched_cell: np.ndarray  # bool[C] written since the last restore
    touched_link: np.ndarray  # bool[L]


class Layout(NamedTuple):
    """The kernel's numbering of cells, links and routes: cells by zone (a zone's or region's loss then
    reads and writes a few contiguous stretches of each array, not cells spread over the whole model),
    each cell's links and each link's routes in the FlowNet's order. ``*_old[i]``: the FlowNet index of
    the kernel's i; ``*_new``: the inverse. ``net``: the FlowNet's arrays the kernel reads, renumbered,
    with each cell's inbound routes in the FlowNet's order (the order their sum is taken in)."""

    cell_old: np.ndarray
    cell_new: np.ndarray
    link_old: np.ndarray
    link_new: np.ndarray
    route_old: np.ndarray
    route_new: np.ndarray
    net: SimpleNamespace


def _inverse(p: np.ndarray) -> np.ndarray:
    inv = np.empty(len(p), np.int64)
    inv[p] = np.arange(len(p))
    return inv


def layout(net) -> Layout:
    """The kernel's numbering of ``net`` (a FlowNet); entry links keep their indices (they follow the calls)."""
    cell_old = np.argsort(net.cell_zone, kind="stable").astype(np.int64)
    ls, rs = net.link_start, net.route_start
    link_old = np.concatenate([_ranges(ls[cell_old], ls[cell_old + 1]),
                               np.arange(ls[-1], len(net.link_cell), dtype=np.int64)])
    route_old = _ranges(rs[link_old], rs[link_old + 1])
    cell_new, link_new, route_new = _inverse(cell_old), _inverse(link_old), _inverse(route_old)
    caller = net.link_cell[link_old]
    ins = net.in_start
    knet = SimpleNamespace(
        workers=net.workers[cell_old], own_s=net.own_s[cell_old], cv=net.cv[cell_old],
        bounded=net.bounded[cell_old], miss=net.miss[cell_old],
        link_start=np.concatenate([[0], np.cumsum(np.diff(ls)[cell_old])]).astype(np.int64),
        link_cell=np.where(caller >= 0, cell_new[np.maximum(caller, 0)], -1).astype(np.int64),
        per_request=net.per_request[link_old], sync=net.sync[link_old], hard=net.hard[link_old],
        parallel=net.parallel[link_old], timeout_s=net.timeout_s[link_old],
        route_start=np.concatenate([[0], np.cumsum(np.diff(rs)[link_old])]).astype(np.int64),
        route_link=link_new[net.route_link[route_old]], route_cell=cell_new[net.route_cell[route_old]],
        route_local=net.route_local[route_old],
        in_start=np.concatenate([[0], np.cumsum(np.diff(ins)[cell_old])]).astype(np.int64),
        in_route=route_new[net.in_route[_ranges(ins[cell_old], ins[cell_old + 1])]])
    return Layout(cell_old, cell_new, link_old, link_new, route_old, route_new, knet)


def net_arrays(net, cell_level: np.ndarray, cell_key: np.ndarray | None = None) -> NetArrays:
    """The kernel's view of ``net`` (a FlowNet, or a Layout's renumbered arrays with ``cell_key`` their cells'
    FlowNet indices)."""
    n_levels = int(cell_level.max(initial=-1)) + 1
    level_start = np.concatenate([[0], np.cumsum(np.bincount(cell_level, minlength=n_levels))]).astype(np.int64)
    key = np.arange(len(cell_level), dtype=np.int64) if cell_key is None else cell_key.astype(np.int64)
    return NetArrays(
        cell_level=cell_level.astype(np.int64), cell_key=key, level_start=level_start, workers=net.workers,
        own_s=net.own_s,
        cv=net.cv, bounded=net.bounded, miss=net.miss, link_start=net.link_start, link_cell=net.link_cell,
        per_request=net.per_request, sync=net.sync, hard=net.hard, parallel=net.parallel,
        timeout_s=net.timeout_s, route_start=net.route_start, route_link=net.route_link,
        route_cell=net.route_cell, route_local=net.route_local, in_start=net.in_start, in_route=net.in_route,
        in_link=net.route_link[net.in_route], in_caller=net.link_cell[net.route_link[net.in_route]])
