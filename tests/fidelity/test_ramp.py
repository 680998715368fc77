"""A ramp through ρ = 1 and back: the fluid queue against the request-level mean over replicas.

One M/M/8 station (60 s mean service) whose demand ramps 0.5 -> 1.2 -> 0.5 of capacity over hours
(the tenant's hourly shape, linearly interpolated). Tolerances (issue 3): integrated throughput within
1% and integrated number in system within 10% of the DES mean over 200 replicas. The first hour is
skipped: the DES starts empty, the fluid at its steady state.
"""

import numpy as np
import pytest

from outagesim.engine.des import simulate_des
from outagesim.engine.fluid import simulate_fluid
from tests.engine import nets

C, MEAN_S = 8, 60.0
RHO_BY_HOUR = [0.5, 0.5, 0.5, 0.85, 1.2, 1.2, 1.2, 0.85, 0.5, 0.5, 0.5, 0.5] + [0.5] * 12


def ramp_network(replicas: int):
    peak = max(RHO_BY_HOUR) * C / MEAN_S
    m = nets.mmc(C, 1.0, mean_s=MEAN_S, timeout_s=4 * 3600.0)
    m["tenants"]["users"]["demand"] = {"peak_rps": peak, "daily_shape": [r / max(RHO_BY_HOUR) for r in RHO_BY_HOUR]}
    sc = nets.scenario(12 * 3600.0, record_every_s=300.0, dt_s=5.0)
    return nets.build(m, sc, replicas=replicas, seed=11)


def test_ramp_through_saturation_matches_des():
    """Integrated throughput within 1% and integrated work in system within 10% of the DES mean."""
    fluid = simulate_fluid(ramp_network(1), noise=False)
    des = simulate_des(ramp_network(200), force=True)
    cell = nets.cell("station")
    skip = 12  # the first hour
    thr_f = fluid.get("cell", cell, "completed")[0, skip:].sum()
    thr_d = des.get("cell", cell, "completed")[:, skip:].mean(axis=0).sum()
    n_f = (fluid.get("cell", cell, "queue") + fluid.get("cell", cell, "in_service"))[0, skip:]
    n_d = (des.get("cell", cell, "queue") + des.get("cell", cell, "in_service"))[:, skip:].mean(axis=0)
    assert thr_f == pytest.approx(thr_d, rel=0.01)
    assert n_f.sum() == pytest.approx(n_d.sum(), rel=0.10)
    assert np.max(n_d) > 3 * np.min(n_d)  # the ramp really went through saturation
