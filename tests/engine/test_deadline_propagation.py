"""Deadline propagation: a callee's calls inherit what is left of its caller's time, in both engines.

``front`` calls ``back`` with a 4 s timeout and 3 attempts; the users give up after 1 s. From t = 20 s
``back`` takes 5 s more per request (its work is deterministic, so every attempt times out). Without
propagation, ``front`` keeps each request for 3 × 4 s after its user left and all 200 of its workers are
held by abandoned work; with it, ``front``'s call times out when the user's second is up, with no retry
(the deadline has passed), and about 100 workers (100 req/s × 1 s) are busy. The fluid engine's static
budget (1 s minus front's own work) agrees with the request-level engine's per-request deadlines:
front's busy workers within 10%, back's attempts per front request within 3% (about 10,000 requests;
front's queue is short, which is where the static budget is exact).
"""

from __future__ import annotations

import numpy as np
import pytest

from outagesim.engine.des import simulate_des
from outagesim.engine.fluid import simulate_fluid
from outagesim.engine.mechanisms.deadline import propagated_limits
from outagesim.record import RunRecord
from tests.engine import nets

FRONT_WORKERS = 200
STEADY = slice(3, None)  # records from 36 s: the slow-down has settled
# Records last one hold of an abandoned request (3 x 4 s): without propagation the request-level engine's
# front requests move in lock-step batches (back's work is deterministic), one batch per record.
RECORD_S = 12.0


def slow_back(propagate: bool) -> tuple[dict, dict]:
    front = nets.service(4, mean_s=0.01, concurrency=50, calls={"back": nets.call(4.0, attempts=3)})
    front["propagate_deadline"] = propagate
    m = nets.model({"front": front, "back": nets.service(10, mean_s=0.02, cv=0.0, concurrency=100)},
                   {"users": nets.tenant("front", 100.0, timeout_s=1.0)})
    sc = nets.scenario(144.0, record_every_s=RECORD_S,
                       faults={"slow": nets.fault("latency", "back", 20.0, added_s=5.0)})
    return m, sc


def run(engine: str, propagate: bool) -> RunRecord:
    net = nets.build(*slow_back(propagate), seed=3)
    return simulate_fluid(net, noise=False) if engine == "fluid" else simulate_des(net, force=True)


def busy_front(rec: RunRecord) -> float:
    return float(rec.get("cell", nets.cell("front"), "in_service")[0, STEADY].mean())


def attempts_per_request(rec: RunRecord) -> float:
    back = rec.get("cell", nets.cell("back"), "arrivals")[0, STEADY].sum()
    front = rec.get("cell", nets.cell("front"), "completed")[0, STEADY].sum()
    return float(back / front)


@pytest.mark.parametrize("engine", ["fluid", "des"])
def test_abandoned_work_holds_every_worker_without_propagation(engine):
    rec = run(engine, False)
    assert busy_front(rec) > 0.95 * FRONT_WORKERS
    assert attempts_per_request(rec) == pytest.approx(3.0, rel=0.05)


def test_propagation_frees_the_callers_workers_in_both_engines():
    fluid, des = run("fluid", True), run("des", True)
    for rec in (fluid, des):
        assert busy_front(rec) < 0.6 * FRONT_WORKERS
        assert attempts_per_request(rec) == pytest.approx(1.0, rel=0.03)
    assert busy_front(fluid) == pytest.approx(busy_front(des), rel=0.10)


def test_budgets_go_down_the_call_graph():
    """users (1 s) -> a -> b -> c, with a second caller x (3 s) of b: b takes the most patient caller's
    time; each propagating hop takes off its own work; a service that does not propagate keeps its own."""
    def svc(mean_s, calls, propagate=True):
        out = nets.service(1, mean_s=mean_s, calls=calls)
        out["propagate_deadline"] = propagate
        return out

    m = nets.model({"a": svc(0.1, {"b": nets.call(5.0, attempts=2, deadline_s=8.0)}),
                    "x": svc(0.2, {"b": nets.call(3.0)}, propagate=False),
                    "b": svc(0.3, {"c": nets.call(5.0), "d": nets.call(None, mode="async")}),
                    "c": svc(0.01, {}),
                    "d": svc(0.01, {})},
                   {"users": nets.tenant("a", 1.0, timeout_s=1.0), "other": nets.tenant("x", 1.0, timeout_s=9.0)})
    net = nets.build(m, nets.scenario(10.0))
    timeout, deadline = propagated_limits(net)
    edge = {(net.services[c] if c >= 0 else "users", net.services[e]): i
            for i, (c, e) in enumerate(zip(net.edge_caller, net.edge_callee, strict=True))}
    assert timeout[0, edge["a", "b"]] == pytest.approx(0.9)  # 1 s - a's 0.1 s
    assert deadline[0, edge["a", "b"]] == pytest.approx(0.9)
    assert timeout[0, edge["x", "b"]] == pytest.approx(3.0)  # x does not propagate
    assert timeout[0, edge["b", "c"]] == pytest.approx(2.7)  # the longer caller (x, 3 s) - b's 0.3 s
    assert np.isinf(timeout[0, edge["b", "d"]])  # async calls have no deadline to inherit
