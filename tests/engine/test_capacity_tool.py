"""The capacity tool: a requested removal, cut and paced by the target service's safeguards.

The S3 outage of 2017 began with a removal far larger than intended, and its announced fix was a tool
that removes capacity slowly and never below a subsystem's minimum. Here an M/M/8 station at half load
is asked to lose 80% of its instances: without safeguards it is overloaded, with ``min_share: 0.6`` it
keeps 60% and serves everything.
"""

from __future__ import annotations

import numpy as np
import pytest

from outagesim.engine.des import simulate_des
from outagesim.engine.fluid import simulate_fluid
from outagesim.engine.mechanisms.capacity_tool import STEP_S, removal_steps
from tests.engine import nets

AT_S = 20.0


def station(safeguards: dict | None, fraction: float = 0.8):
    svc = nets.service(8, mean_s=0.01)
    if safeguards is not None:
        svc["capacity_safeguards"] = safeguards
    m = nets.model({"station": svc}, {"users": nets.tenant("station", 400.0, timeout_s=1.0)})
    typo = nets.fault("capacity_removal", "station", AT_S, fraction=fraction)
    return nets.build(m, nets.scenario(120.0, record_every_s=5.0, faults={"typo": typo}), seed=1)


def test_removal_steps_cut_and_pace_the_request():
    req = np.array([0.8])
    [(t, mag)] = removal_steps(req, 0.0, np.inf, 5.0, np.inf)
    assert t == 5.0 and mag[0] == pytest.approx(0.8)
    [(_, mag)] = removal_steps(req, 0.6, np.inf, 5.0, np.inf)
    assert mag[0] == pytest.approx(0.4)  # cut to 1 - min_share
    steps = removal_steps(req, 0.0, 0.1 / 60.0, 0.0, np.inf)  # 10% a minute: 1/60 per 10 s step
    up = np.cumprod([1.0 - m[0] for _, m in steps])
    assert [t for t, _ in steps] == [i * STEP_S for i in range(48)]
    np.testing.assert_allclose(up, 1.0 - np.minimum(0.8, (np.arange(48) + 1) * 0.1 / 6), rtol=1e-12)


def test_network_sees_the_guarded_removal():
    """Capacity factor of the station: 0.2 without safeguards, 0.6 with min_share 0.6, and with a rate
    of 20% a minute 0.8 one minute in (six 10 s steps of 1/30)."""
    assert station(None).capacity_factor(AT_S + 1.0)[0, 0] == pytest.approx(0.2)
    assert station({"min_share": 0.6}).capacity_factor(AT_S + 1.0)[0, 0] == pytest.approx(0.6)
    paced = station({"max_removal_per_minute": 0.2})
    assert paced.capacity_factor(AT_S + 59.0)[0, 0] == pytest.approx(0.8)
    assert paced.capacity_factor(AT_S + 1.0)[0, 0] == pytest.approx(1.0 - 0.2 / 6)


def test_safeguard_changes_the_outcome():
    """Without safeguards the station keeps 160 of 400 req/s of capacity: under half the demand is
    served after the removal. With min_share 0.6 it keeps 480 and serves over 98%."""
    def served(net):
        rec = simulate_fluid(net, noise=False)
        good, demand = rec.get("tenant", "users", "goodput")[0], rec.get("tenant", "users", "demand")[0]
        k = int((AT_S + 30.0) / 5.0)
        return good[k:].sum() / demand[k:].sum()

    assert served(station(None)) < 0.5
    assert served(station({"min_share": 0.6})) > 0.98


@pytest.mark.parametrize("engine", ["fluid", "des"])
def test_the_cut_is_logged(engine):
    """A request cut by min_share leaves a capacity_tool_limited event in both engines' logs."""
    net = station({"min_share": 0.6})
    rec = simulate_fluid(net, noise=False) if engine == "fluid" else simulate_des(net, force=True)
    [cut] = [e for e in rec.events if e.kind == "capacity_tool_limited"]
    assert (cut.t_s, cut.entity, cut.replica) == (AT_S, "station", 0)
    assert "removed 40% of the 80% requested" in cut.detail
