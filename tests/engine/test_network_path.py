"""A shared network link (issue 4, "network paths"): congestion hits everything on it, and retries on it
can turn a surge into congestion collapse (the internal-network storm of Dec 2021).

The link is a service of kind network (4 devices x 10 concurrent transfers of 5 ms: 8,000 transfers/s)
that api (the main network's users, 2,000 req/s, 200 ms call timeout) and internal clients (3,000 req/s,
200 ms timeout) both go through. Automation multiplies the internal clients' demand by 2.5 for two
minutes from 60 s: 9,500 transfers/s wanted, so the link's queue grows past every timeout.
"""

from __future__ import annotations

import pytest

from outagesim.engine.fluid import simulate_fluid
from tests.engine import nets


def shares_at_the_end(attempts: int) -> tuple[float, float]:
    """Users' and internal clients' goodput as shares of demand over the last 3 minutes of 10."""
    link = nets.service(4, mean_s=5e-3, concurrency=10) | {"kind": "network"}
    m = nets.model({"api": nets.service(8, mean_s=5e-3, concurrency=16, calls={"link": nets.call(0.2)}),
                    "link": link},
                   {"users": nets.tenant("api", 2000, timeout_s=1.0),
                    "internal": nets.tenant("link", 3000, timeout_s=0.2, attempts=attempts)})
    sc = nets.scenario(600.0, record_every_s=10.0, dt_s=0.04)
    sc["faults"] = {"surge": {"kind": "demand_surge", "target": "tenant:internal", "factor": 2.5, "at": "60s",
                              "duration": "2m"}}
    rec = simulate_fluid(nets.build(m, sc, seed=2), noise=False)

    def share(tenant: str) -> float:
        good, demand = rec.get("tenant", tenant, "goodput")[0], rec.get("tenant", tenant, "demand")[0]
        return float(good[-18:].sum() / demand[-18:].sum())

    return share("users"), share("internal")


@pytest.mark.parametrize("attempts, collapsed", [(1, False), (4, True)])
def test_retries_on_a_shared_link_turn_a_surge_into_congestion_collapse(attempts, collapsed):
    """Without retries the link drains once the surge ends and both users and internal clients are
    served (> 95%); when internal clients retry up to 4 times, the link stays congested after the surge
    and neither gets through (< 5%): the users of the main network fail for a surge that was not theirs."""
    users, internal = shares_at_the_end(attempts)
    if collapsed:
        assert users < 0.05 and internal < 0.05, (users, internal)
    else:
        assert users > 0.95 and internal > 0.95, (users, internal)
