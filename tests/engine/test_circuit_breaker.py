"""Circuit breakers, in both engines: fail fast while the callee fails, probe, close when it is back.

``front`` (8 workers, 5 ms) calls ``back`` (soft, 500 ms timeout, one attempt) for every request;
``back`` gets 2 s slower from 20 s to 80 s. Without a breaker each front request holds a worker for
the whole timeout, so front serves about 16 of its 100 req/s and users time out. With a breaker the
calls to back fail at once and front answers degraded: goodput stays near demand. Tolerances are
stated per assertion; the request-level engine runs one replica (Poisson counts, about 6,000 requests
in the slow period).
"""

from __future__ import annotations

import pytest

from outagesim.engine.des import simulate_des
from outagesim.engine.fluid import simulate_fluid
from outagesim.record import RunRecord
from tests.engine import nets

SLOW_AT, SLOW_S, INTERVAL = 20.0, 60.0, 5.0
BREAKER = {"error_threshold": 0.5, "window": "5s", "min_requests": 20, "open_time": "10s", "half_open_probes": 5}


def run(engine: str, breaker: dict | None) -> RunRecord:
    call = nets.call(0.5, required="soft")
    if breaker is not None:
        call["circuit_breaker"] = breaker
    m = nets.model({"front": nets.service(8, mean_s=5e-3, calls={"back": call}),
                    "back": nets.service(4, mean_s=5e-3)},
                   {"users": nets.tenant("front", 100.0, timeout_s=2.0)})
    sc = nets.scenario(120.0, record_every_s=INTERVAL,
                       faults={"slow": nets.fault("latency", "back", SLOW_AT, SLOW_S, added_s=2.0)})
    net = nets.build(m, sc, replicas=1, seed=5)
    return simulate_fluid(net, noise=False) if engine == "fluid" else simulate_des(net, force=True)


def slow_share(rec: RunRecord) -> float:
    """Goodput over demand from 10 s into the slow period to its end."""
    good = rec.get("tenant", "users", "goodput")[0]
    demand = rec.get("tenant", "users", "demand")[0]
    k0, k1 = int((SLOW_AT + 10.0) / INTERVAL), int((SLOW_AT + SLOW_S) / INTERVAL)
    return float(good[k0:k1].sum() / demand[k0:k1].sum())


@pytest.mark.parametrize("engine", ["fluid", "des"])
def test_breaker_keeps_front_serving_while_back_is_slow(engine):
    """Without a breaker under 35% of demand is served in the slow period; with one, over 90%."""
    assert slow_share(run(engine, None)) < 0.35
    assert slow_share(run(engine, BREAKER)) > 0.9


def breaker_moves(rec: RunRecord) -> list[tuple[float, str]]:
    link = f"{nets.cell('front')} -> back"
    return [(e.t_s, e.kind) for e in rec.events if e.entity == link]


@pytest.mark.parametrize("engine", ["fluid", "des"])
def test_breaker_opens_probes_and_closes(engine):
    """Opens once the window's failures outweigh its (decaying) successes: within 12 s of the slowdown,
    as f >= n/2 with a 5 s window and 16 failures/s predicts (about 8-10 s); half-opens every open_time
    and reopens while back is slow; closes at the first probe after the slowdown ends."""
    moves = breaker_moves(run(engine, BREAKER))
    kinds = [k for _, k in moves]
    opened = [t for t, k in moves if k == "breaker_open"]
    assert SLOW_AT < opened[0] < SLOW_AT + 12.0
    assert kinds.count("breaker_half_open") >= 5  # one per 10 s of the rest of the slowdown, and the last
    closed = [t for t, k in moves if k == "breaker_closed"]
    assert len(closed) == 1 and SLOW_AT + SLOW_S <= closed[0] <= SLOW_AT + SLOW_S + 10.0 + 2.0
    assert kinds[-1] == "breaker_closed"


def test_engines_agree_on_the_breaker_timeline():
    """The same sequence of breaker states in both engines, each move within 1 s (measured: 0.5 s)."""
    fluid, des = breaker_moves(run("fluid", BREAKER)), breaker_moves(run("des", BREAKER))
    assert [k for _, k in fluid] == [k for _, k in des]
    assert max(abs(a - b) for (a, _), (b, _) in zip(fluid, des, strict=True)) <= 1.0


@pytest.mark.parametrize("engine", ["fluid", "des"])
def test_breakers_sharing_a_callee_cell_all_close(engine):
    """front in two zones calls back, which runs in z1 only: both links' breakers feed one flow into
    back@z1. Each opens during the slowdown and closes after it (in the fluid engine a half-open link
    whose probes' answers were credited to the other link decides one timeout after its last probe)."""
    call = nets.call(0.5, required="soft")
    call["circuit_breaker"] = BREAKER
    m = nets.model({"front": nets.service({"z1": 8, "z2": 5}, mean_s=5e-3, calls={"back": call}),
                    "back": nets.service({"z1": 4}, mean_s=5e-3)},
                   {"users": nets.tenant("front", 100.0, timeout_s=2.0)}, zones=("z1", "z2"))
    sc = nets.scenario(150.0, record_every_s=INTERVAL,
                       faults={"slow": nets.fault("latency", "back", SLOW_AT, SLOW_S, added_s=2.0)})
    net = nets.build(m, sc, seed=5)
    rec = simulate_fluid(net, noise=False) if engine == "fluid" else simulate_des(net, force=True)
    for zone in ("z1", "z2"):
        moves = [e.kind for e in rec.events if e.entity == f"{nets.cell('front', zone)} -> back"]
        assert "breaker_open" in moves and moves[-1] == "breaker_closed", (zone, moves)
    back = rec.get("cell", nets.cell("back"), "arrivals")[0]
    assert back[-4:].mean() == pytest.approx(100.0, rel=0.1)  # all of front's calls reach back again
