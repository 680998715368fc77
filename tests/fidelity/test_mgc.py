"""Hold times that are less (or more) variable than exponential: the fluid's M/G/c wait.

The fluid queue scales the M/M/c queue by Allen–Cunneen's (1 + cv²)/2. That is an approximation, exact
for c = 1 (Pollaczek–Khinchine) and within a few percent for moderate c and ρ; the tolerance against
the request-level engine is 10% of the mean wait (mean over 4 replicas of 2 h at 1 s service).
"""

import pytest

from outagesim.engine.des import simulate_des
from outagesim.engine.fluid import simulate_fluid
from tests.engine import nets


def network(c: int, rho: float, cv: float, replicas: int):
    m = nets.model({"station": nets.service(c, mean_s=1.0, cv=cv)},
                   {"users": nets.tenant("station", rho * c, timeout_s=3600.0)})
    return nets.build(m, nets.scenario(7200.0, record_every_s=600.0, dt_s=1.0), replicas=replicas, seed=8)


def mean_wait(rec, lam: float) -> float:
    skip = 1  # the request-level run starts empty
    return float(rec.get("cell", nets.cell("station"), "queue")[:, skip:].mean() / lam)


@pytest.mark.parametrize("c, rho, cv", [(1, 0.8, 0.5), (4, 0.8, 0.5), (4, 0.8, 1.5)])
def test_fluid_mgc_wait_matches_request_level(c, rho, cv):
    """The fluid mean wait with a non-exponential service time is within 10% of the DES's."""
    fluid = mean_wait(simulate_fluid(network(c, rho, cv, 1), noise=False), rho * c)
    des = mean_wait(simulate_des(network(c, rho, cv, 4), force=True), rho * c)
    assert fluid == pytest.approx(des, rel=0.10)
