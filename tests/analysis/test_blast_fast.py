"""The fast SPOF ranking (compiled sweeps, analysis/flow_kernel.py) against the straightforward evaluation
(the numpy sweeps of analysis/flow.py), one component at a time, on small random models: the same numbers,
not merely the same verdicts, since the kernel performs the numpy sweeps' operations in the same order."""

from __future__ import annotations

import os

import numpy as np
import pytest

from outagesim.analysis import blast, flow
from outagesim.analysis.blast import StaticBlast, single_points_of_failure
from outagesim.analysis.components import components
from outagesim.analysis.flow import _CELL, _LINK

from .random_models import random_model

KINDS = ("zone", "region", "provider", "service", "cell")
MEMO = ("lam_sum", "lam_stale", "call_time", "call_ok", "link_stale")  # the kernel's own bookkeeping


def _rank(radii):
    return sorted(radii, key=lambda b: (-len(b.tenants_down), -b.users_down, -len(b.services_down), b.kind,
                                        b.component))


@pytest.mark.parametrize("seed, utilisation", [(1, (0.3, 0.9)), (2, (0.3, 0.9)), (3, (0.3, 0.9)),
                                               (4, (0.6, 0.95)), (5, (0.6, 0.95)), (6, (0.8, 0.98))])
def test_fast_ranking_equals_the_per_component_numpy_evaluation(seed, utilisation):
    """Every zone, region, provider, service and cell lost in turn: the compiled ranking gives exactly the
    tenants, services, users and served shares of the numpy sweeps, and the same base state. High
    utilisations put survivors near saturation, where the damped rounds run longest."""
    model = random_model(seed, utilisation=utilisation)
    fast, slow = StaticBlast(model, compiled=True), StaticBlast(model, compiled=False)
    for name in (*_CELL, *_LINK, "w"):
        if name not in MEMO:
            np.testing.assert_array_equal(fast.flow.base[name], slow.flow.base[name], err_msg=name)
    reference = _rank([slow.loss(c) for c in components(slow.net, KINDS)])
    ranking = single_points_of_failure(model, KINDS, static=fast)
    assert [b.component for b in ranking] == [b.component for b in reference]
    for got, want in zip(ranking, reference, strict=True):
        assert got == want, got.component  # tenant_served compared float for float


def test_fast_losses_restore_the_base_exactly():
    """After a loss (and the kernel's memory of its sums) is put back, evaluating the components again, in
    reverse order, gives the same answers: nothing of one loss leaks into the next."""
    model = random_model(7, utilisation=(0.6, 0.95))
    static = StaticBlast(model, compiled=True)
    comps = components(static.net, KINDS)
    first = {c.name: static.loss(c) for c in comps}
    again = {c.name: static.loss(c) for c in reversed(comps)}
    assert again == first
    for name in (*_CELL, *_LINK, "w"):
        np.testing.assert_array_equal(getattr(static.flow, name), static.flow.base[name], err_msg=name)
        # the kernel's own copy, in its numbering (cells by zone), is back at its base too
        np.testing.assert_array_equal(getattr(static.flow._kernel_state, name),
                                      getattr(static.flow._base_state, name), err_msg=name)
    assert not static.flow._kernel_state.touched_cell.any() and not static.flow._kernel_state.touched_link.any()


def test_the_kernel_numbers_cells_by_zone_keeping_every_order_that_makes_floats():
    """flow_arrays.layout: cells by zone; each cell's links, each link's routes and each cell's inbound
    routes in the FlowNet's order (mapped); entry links keep their indices."""
    from outagesim.analysis.flow_arrays import layout

    net = StaticBlast(random_model(3), compiled=False).net
    lay = layout(net)
    k = lay.net
    assert np.all(np.diff(net.cell_zone[lay.cell_old]) >= 0)
    for i, c in enumerate(lay.cell_old):
        links = np.arange(k.link_start[i], k.link_start[i + 1])
        assert list(lay.link_old[links]) == list(range(net.link_start[c], net.link_start[c + 1]))
        assert list(lay.route_old[k.in_route[k.in_start[i]:k.in_start[i + 1]]]) == \
            list(net.in_route[net.in_start[c]:net.in_start[c + 1]])
    for lk in range(len(net.link_cell)):
        routes = np.arange(k.route_start[lay.link_new[lk]], k.route_start[lay.link_new[lk] + 1])
        assert list(lay.route_old[routes]) == list(range(net.route_start[lk], net.route_start[lk + 1]))
        assert list(lay.cell_old[k.route_cell[routes]]) == list(net.route_cell[net.route_start[lk]:
                                                                             net.route_start[lk + 1]])
    entry = np.flatnonzero(net.link_cell < 0)
    assert list(lay.link_new[entry]) == list(entry)


@pytest.mark.parametrize("compiled", [True, False])
def test_a_loss_gives_the_same_answer_first_or_after_others(monkeypatch, compiled):
    """Every loss starts from the same base state: when the base does not settle within its rounds (here
    forced with a round cap of 1), the cells it leaves moving are not settled by whichever loss runs first,
    so a component's answer does not depend on the order (or, with workers, the split) of evaluation."""
    monkeypatch.setattr(flow, "MAX_ROUNDS", 1)
    model = random_model(4, utilisation=(0.6, 0.95))
    comps = components(StaticBlast(model, compiled=compiled).net, KINDS)
    in_order, reversed_ = StaticBlast(model, compiled=compiled), StaticBlast(model, compiled=compiled)
    assert in_order.flow.base_unsettled > 0  # the case this test is about
    forward = [in_order.loss(c) for c in comps]
    backward = [reversed_.loss(c) for c in reversed(comps)][::-1]
    assert forward == backward


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_give_the_same_ranking_float_for_float(workers):
    """The ranking over forked workers is the one process's ranking: the same components in the same order,
    each with the same tenants, services, users and served shares (dataclass equality compares floats
    exactly)."""
    model = random_model(5, utilisation=(0.6, 0.95))
    static = StaticBlast(model, compiled=True)
    one = single_points_of_failure(model, KINDS, static=static)
    assert single_points_of_failure(model, KINDS, static=static, workers=workers) == one


class _WhoRuns:
    """A stand-in for StaticBlast whose 'loss' says which process evaluated it."""

    def loss(self, c):
        return c, os.getpid()


def test_workers_take_interleaved_shares_merged_in_order(monkeypatch):
    """Worker k of n takes components k, k + n, ... (this process the first share); the answers come back in
    the components' order. Without fork, one process does all."""
    got = blast._losses(_WhoRuns(), list(range(7)), 3)
    assert [c for c, _ in got] == list(range(7))
    pids = [p for _, p in got]
    assert pids[0::3] == [os.getpid()] * 3
    assert os.getpid() not in pids[1::3] + pids[2::3] and len(set(pids[1::3])) == 1 and len(set(pids[2::3])) == 1
    monkeypatch.setattr(blast.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert [p for _, p in blast._losses(_WhoRuns(), list(range(7)), 3)] == [os.getpid()] * 7


def test_auto_workers_two_on_a_compiled_size_model_one_below(monkeypatch):
    """The CLI's default: one process below COMPILED_FROM cells (a ranking there takes well under a second),
    else two, never more than the usable cores."""
    class Net:
        def __init__(self, n):
            self.cell_zone = np.zeros(n, np.int64)

    class Static:
        def __init__(self, n):
            self.net = Net(n)

    assert blast.auto_workers(Static(flow.COMPILED_FROM - 1)) == 1
    monkeypatch.setattr(blast.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)
    assert blast.auto_workers(Static(flow.COMPILED_FROM)) == 2
    monkeypatch.setattr(blast.os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert blast.auto_workers(Static(flow.COMPILED_FROM)) == 1
