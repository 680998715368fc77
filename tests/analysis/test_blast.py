"""Static blast radius: the engine's routing rule mirrored on the Model, redundancy, hard and soft
dependencies, the shop's single points of failure, concentration, and errors for unknown components."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import outagesim
from outagesim.analysis.blast import blast_radius, concentration, single_points_of_failure
from outagesim.analysis.components import resolve
from outagesim.analysis.flow import Flow
from outagesim.analysis.flow_net import flow_net
from outagesim.engine.compile import compile_network
from outagesim.engine.network import route_weights
from outagesim.errors import UnknownComponent
from outagesim.model import Model

from .random_models import failure_scenario, random_model

SHOP = Path(__file__).parents[2] / "examples" / "shop" / "model.yaml"


def _engine_routes(model: Model, lost: np.ndarray) -> dict[tuple[int, int, int], float]:
    """(caller cell or -1 - tenant, callee service, callee cell) -> weight, as the engine routes it."""
    net = compile_network(model, failure_scenario("zone_down", next(iter(model.services))))
    healthy = np.ones((1, len(net.cells)))
    healthy[0, lost] = 0.0
    w = route_weights(net, healthy)[0]
    out = {}
    for p, (lk, cell) in enumerate(zip(net.route_link, net.route_cell, strict=True)):
        e = net.link_edge[lk]
        caller = int(net.link_cell[lk]) if net.link_cell[lk] >= 0 else -1 - int(net.edge_tenant[e])
        out[(caller, int(net.edge_callee[e]), int(cell))] = float(w[p])
    return out


def _static_routes(model: Model, lost: np.ndarray) -> dict[tuple[int, int, int], float]:
    """The same map from the static analysis' arrays, after losing the cells ``lost``."""
    net = flow_net(model)
    flow = Flow(net)
    flow.alive[lost] = 0.0
    flow._reweigh(np.arange(len(net.link_cell)))
    callee = net.cell_service[net.route_cell]
    out = {}
    for p, lk in enumerate(net.route_link):
        caller = int(net.link_cell[lk]) if net.link_cell[lk] >= 0 else -1 - int(net.link_tenant[lk])
        out[(caller, int(callee[p]), int(net.route_cell[p]))] = float(flow.w[p])
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_candidate_cells_and_weights_match_the_engine(seed):
    """Every call reaches the same callee cells with the same weights as in the engine, before and after a loss."""
    model = random_model(seed)
    net = flow_net(model)
    for lost in (np.zeros(0, np.int64), resolve(net, net.zones[0]).cells, resolve(net, net.regions[-1]).cells):
        engine, static = _engine_routes(model, lost), _static_routes(model, lost)
        assert engine.keys() == static.keys()
        assert max(abs(engine[k] - static[k]) for k in engine) < 1e-12


def _three_zone_model(rho: float, *, soft: bool = False, lifo: bool = False) -> Model:
    """api in three zones at utilisation ``rho`` calling db in three zones (hard, or soft)."""
    return Model.model_validate(_three_zones(rho, soft=soft, lifo=lifo))


def _three_zones(rho: float, *, soft: bool = False, lifo: bool = False) -> dict:
    zones = {"a": {}, "b": {}, "c": {}}
    workers = 300 * 0.05 / 3 / rho  # 300 req/s over three zones, hold 50 ms (api 30 ms + db 20 ms)
    return ({
        "providers": {"cloud": {"regions": {"r1": {"zones": zones}}}},
        "services": {
            "api": {"instances": dict.fromkeys(zones, 1), "concurrency": workers,
                    "service_time": {"mean": "30ms"}, "queue": {"discipline": "lifo" if lifo else "fifo"},
                    "calls": {"db": {"timeout": "1s", "required": "soft" if soft else "hard"}}},
            "db": {"instances": dict.fromkeys(zones, 1), "concurrency": 100, "service_time": {"mean": "20ms"}}},
        "tenants": {"web": {"entry": "api", "demand": {"peak_rps": 300}, "users_per_rps": 10}}})


def test_a_service_in_three_zones_survives_one_and_not_two_at_low_utilisation():
    """At utilisation 0.3 a three-zone service carries its peak on two zones (0.45) but not on one (0.9 + waits x3)."""
    model = _three_zone_model(0.3)
    assert blast_radius(model, "a").tenants_down == ()
    spof = {b.component: b for b in single_points_of_failure(model)}
    assert spof["cloud/r1/a"].tenants_down == ()
    assert spof["db"].tenants_down == ("web",) and spof["db"].users_down == pytest.approx(3000)


def test_losing_a_zone_overloads_the_survivors_at_high_utilisation():
    """At utilisation 0.7 the two surviving zones run at 1.05: an unbounded FIFO queue collapses, LIFO serves 1/1.05."""
    fifo = blast_radius(_three_zone_model(0.7), "a")
    assert fifo.tenants_down == ("web",) and fifo.tenant_served["web"] == 0.0
    lifo = blast_radius(_three_zone_model(0.7, lifo=True), "a")
    assert lifo.tenants_down == ()
    assert 0.9 < lifo.tenant_served["web"] < 1.0


def test_a_soft_dependency_degrades_and_a_hard_one_takes_down():
    """Losing db takes api's tenant down when the call is hard and leaves it fully served when it is soft."""
    assert blast_radius(_three_zone_model(0.3), "db").tenants_down == ("web",)
    soft = blast_radius(_three_zone_model(0.3, soft=True), "db")
    assert soft.tenants_down == () and soft.tenant_served["web"] == 1.0
    assert soft.services_down == ("db",)


def test_a_tenant_is_down_when_its_entries_lose_half_its_demand():
    """A tenant entering at two services is down when the lost one carried at least half its demand."""
    base = _three_zones(0.3)
    base["services"]["search"] = {"instances": {"a": 1}, "concurrency": 50, "service_time": {"mean": "10ms"}}
    for share, down in ((0.6, ("web",)), (0.4, ())):
        base["tenants"]["web"]["entry"] = {"api": 1 - share, "search": share}
        radius = blast_radius(Model.model_validate(base), "search")
        assert radius.tenants_down == down
        assert radius.tenant_served["web"] == pytest.approx(1 - share)


def test_shop_ranking_puts_the_region_and_hard_dependencies_first_and_the_checkout_path_last():
    """In the shop the provider and region (everything), then every hard dependency the frontend calls on
    most requests (catalog and its database on all, cart on 60%), then each zone (the other carries the
    peak at 0.80-0.92 on paper, but queueing waits push the frontend past saturation, as model.yaml says)
    take the shoppers down. The checkout path (checkout, payment, orders-db) is called on 10% of requests:
    its loss fails that 10%, which is not down; cart-cache (soft) takes nothing down."""
    ranking = single_points_of_failure(outagesim.load_model(SHOP))
    names = [b.component for b in ranking]
    assert names[:2] == ["aws", "aws/us-east-1"]
    assert set(names[2:6]) == {"frontend", "catalog", "catalog-db", "cart"}
    assert set(names[6:8]) == {"aws/us-east-1/use1-az1", "aws/us-east-1/use1-az2"}
    assert all(b.tenants_down == ("shoppers",) for b in ranking[:8])
    assert set(names[8:]) == {"checkout", "payment", "orders-db", "cart-cache"}
    assert all(b.tenants_down == () for b in ranking[8:])
    assert ranking[0].users_down == pytest.approx(400 * 50)
    # losing the catalog database takes its callers down, and nothing on the checkout path
    assert set(next(b for b in ranking if b.component == "catalog-db").services_down) == {
        "catalog-db", "catalog", "frontend"}


def test_concentration_shares_and_hhi():
    """Demand entering two regions 3:1 has region shares 0.75/0.25 and HHI 0.625; one provider has HHI 1."""
    zones = {"r1": {"zones": {"a": {}}}, "r2": {"zones": {"b": {}}}}
    model = Model.model_validate({
        "providers": {"cloud": {"regions": zones}},
        "services": {"api": {"instances": {"a": 3, "b": 1}, "service_time": {"mean": "10ms"}}},
        "tenants": {"t": {"entry": "api", "demand": {"peak_rps": 10}}}})
    c = concentration(model)
    assert c.by_region == pytest.approx({"cloud/r1": 0.75, "cloud/r2": 0.25})
    assert c.hhi_region == pytest.approx(0.625) and c.hhi_provider == pytest.approx(1.0)
    assert c.tenant_hhi_region["t"] == pytest.approx(0.625)


@pytest.mark.parametrize(("name", "needle"), [
    ("chekout", "did you mean 'checkout'"), ("aws/us-east-2", "did you mean 'aws/us-east-1'"),
    ("use1-az3", "did you mean 'use1-az"), ("checkout@use1-az9", "no zone 'use1-az9'"),
    ("chekout@use1-az1", "did you mean 'checkout'"),
])
def test_unknown_component_names_what_was_expected_and_suggests(name, needle):
    """An unknown component raises UnknownComponent naming what was expected, what was found, and a suggestion."""
    with pytest.raises(UnknownComponent) as info:
        blast_radius(outagesim.load_model(SHOP), name)
    assert "expected" in str(info.value) and needle in str(info.value)


def test_zones_and_cells_resolve_by_bare_or_qualified_name():
    """A zone is found by its bare name when unique, and a cell by service@zone in either spelling."""
    model = outagesim.load_model(SHOP)
    assert blast_radius(model, "use1-az1").component == "aws/us-east-1/use1-az1"
    cell = blast_radius(model, "cart@use1-az2")
    assert cell.component == "cart@aws/us-east-1/use1-az2" and cell.kind == "cell"
    assert blast_radius(model, "cart@aws/us-east-1/use1-az2").component == cell.component


def test_reference_internet_model_ranks_the_region_then_s3_first():
    """On the reference internet model (as the s3-2017 replay loads it): the provider, then us-east-1
    (every tenant but the one served from another region), then S3's index and its GET front end, whose
    loss takes down every tenant that keeps its data in S3 in us-east-1 and not the retailer whose
    storefront does not use S3; after them, each tenant's own front end takes only that tenant."""
    from outagesim.library import replay_paths

    ranking = single_points_of_failure(outagesim.load_model(replay_paths("s3-2017").model))
    names = [b.component for b in ranking]
    assert names[:2] == ["aws", "aws/us-east-1"]
    assert set(names[2:4]) == {"s3-index", "s3-get"}
    s3 = next(b for b in ranking if b.component == "s3-index")
    assert {"express", "lululemon", "one-kings-lane", "trello"} <= set(s3.tenants_down)
    assert "amazon-retail" not in s3.tenants_down and "disney-store" not in s3.tenants_down
    assert all(len(b.tenants_down) <= 1 for b in ranking[4:])


def test_fleets_and_vendors_are_components():
    """A vendor's loss takes every fleet running its agent and what runs there: the warehouse (whose
    pickers' terminals run the sensor) goes down with vendor:sensor and fleet:terminals; the shop, on
    cloud servers without the agent, does not."""
    model = Model.model_validate({
        "providers": {"cloud": {"regions": {"r1": {"zones": {"a": {}}}}}},
        "services": {"picking": {"instances": {"a": 4}, "service_time": {"mean": "10ms"}, "runs_on": "terminals"},
                     "shop": {"instances": {"a": 4}, "service_time": {"mean": "10ms"}}},
        "tenants": {"warehouse": {"entry": "picking", "demand": {"peak_rps": 10}},
                    "buyers": {"entry": "shop", "demand": {"peak_rps": 10}}},
        "vendors": {"sensor": {}},
        "fleets": {"terminals": {"hosts": 500, "agents": ["sensor"]}}})
    for name in ("vendor:sensor", "fleet:terminals"):
        b = blast_radius(model, name)
        assert b.tenants_down == ("warehouse",) and b.services_down == ("picking",), name
    ranked = {b.component: b.tenants_down for b in single_points_of_failure(model)}
    assert ranked["vendor:sensor"] == ("warehouse",) and ranked["fleet:terminals"] == ("warehouse",)
    with pytest.raises(UnknownComponent, match="vendor:sensor"):
        blast_radius(model, "vendor:sensr")
