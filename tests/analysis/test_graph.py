"""The model as a graph: what depends on what, and the call graph's levels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import outagesim
from outagesim.analysis.graph import call_graph, service_levels, system_graph

SHOP = Path(__file__).parents[2] / "examples" / "shop" / "model.yaml"


def test_system_graph_holds_every_component_with_its_kind():
    """Every provider, region, zone, service, cell and tenant of the shop is a node of the right kind."""
    g = system_graph(outagesim.load_model(SHOP))
    kinds = {k: sorted(n for n, d in g.nodes(data="kind") if d == k) for k in
             ("provider", "region", "zone", "service", "cell", "tenant")}
    assert kinds["provider"] == ["aws"]
    assert kinds["region"] == ["aws/us-east-1"]
    assert kinds["zone"] == ["aws/us-east-1/use1-az1", "aws/us-east-1/use1-az2"]
    assert len(kinds["service"]) == 8 and len(kinds["cell"]) == 16
    assert kinds["tenant"] == ["tenant:shoppers"]
    assert g.edges["aws/us-east-1/use1-az1", "cart@aws/us-east-1/use1-az1"]["relation"] == "hosts"


def test_call_edges_carry_hard_soft_sync_async_and_per_request():
    """A call edge says whether it is hard or soft, sync or async, and how many calls a request makes."""
    g = call_graph(outagesim.load_model(SHOP))
    assert g.edges["cart", "cart-cache"]["required"] == "soft"
    assert g.edges["checkout", "orders-db"] == {"relation": "calls", "required": "hard", "mode": "sync",
                                                "per_request": 2.0, "parallel": False}
    assert set(g.successors("frontend")) == {"catalog", "cart", "checkout"}


def test_service_levels_put_a_cycle_on_one_level_below_its_callers():
    """Services of one strongly connected component share a level, one below the deepest caller."""
    # 0 -> 1 -> 2 -> 1 (a cycle through 1 and 2), 2 -> 3, 0 -> 3
    caller = np.array([0, 1, 2, 2, 0])
    callee = np.array([1, 2, 1, 3, 3])
    assert service_levels(4, caller, callee).tolist() == [0, 1, 1, 2]
