"""Fluid vs request-level on a transient: a 5-service sync chain whose last service loses capacity.

Parameters (chosen so the request-level engine recovers 1-5 minutes after the loss ends):
5 services s0 -> s4, each one sync hard call to the next (call timeout 1 s, one attempt), 10 ms own
work (cv 1), FIFO, pools sized for utilisation 0.7 with hold time included: [72, 58, 44, 29, 15].
1000 req/s at s0; the client has a 10 s timeout and 3 attempts with a 5 s backoff (no jitter) within
a 12 s total deadline, so a timed-out request is not retried (10 s + 5 s > 12 s) and the storm after
the loss is not self-sustaining (1000 req/s of stale work < 1330 req/s of capacity): the stale
FIFO backlog at s0 drains and the system recovers. s4 loses 10 of its 15 workers from t = 60 s for
120 s; the run ends at 600 s. Recovery = goodput >= 95% of demand for 60 s (``analysis.windows``).

Measured (2026-11-23): the request-level engine recovers 150 s after the loss ends, goodput 58.4% of
demand, errors 41.6%; the fluid engine recovers after 145 s, goodput 59.0%, errors 41.0%. Before the
fluid queue had its finite-source part (``mechanisms/finite_source``) it recovered after 255 s with
goodput 40.9%: a callee of a saturated sync caller sees a closed loop of the caller's workers, not
Poisson arrivals, and the open M/M/c content made the saturated chain drain 9% slower.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from outagesim.analysis.windows import recovery_time
from outagesim.engine.des import simulate_des
from outagesim.engine.fluid import simulate_fluid
from tests.engine import nets
from tests.fidelity.chains import sized_workers

AT, FOR, AFTER, INTERVAL = 60.0, 120.0, 420.0, 5.0


@lru_cache(maxsize=2)
def outcome(engine: str) -> tuple[float, float, float | None]:
    """(goodput share, error share, recovery seconds after the loss) of one run."""
    workers = sized_workers(5, 1000.0, 0.01, 0.7)
    model = nets.chain(5, rps=1000.0, mean_s=0.01, workers=workers, client_timeout_s=10.0, call_timeout_s=1.0,
                       client_retry={"attempts": 3, "base_s": 5.0, "jitter": "none", "deadline_s": 12.0})
    lost = (workers[-1] - 5) / workers[-1]  # 5 workers left: an integer in both engines
    sc = nets.scenario(AT + FOR + AFTER, record_every_s=INTERVAL,
                       faults={"loss": nets.fault("capacity_loss", "s4", AT, FOR, fraction=lost)})
    net = nets.build(model, sc, replicas=1, seed=1)
    rec = simulate_des(net, force=True) if engine == "des" else simulate_fluid(net, noise=False)
    good = rec.get("tenant", "users", "goodput")[0]
    demand = rec.get("tenant", "users", "demand")[0]
    errors = rec.get("tenant", "users", "errors")[0]
    total = float(np.sum(demand))
    return float(good.sum()) / total, float(errors.sum()) / total, recovery_time(good, demand, INTERVAL, AT + FOR)


@pytest.mark.slow
def test_request_level_recovers_within_one_to_five_minutes():
    """The parameters do what the test needs: the request-level engine recovers 1-5 min after the loss."""
    _, _, recovery = outcome("des")
    assert recovery is not None and 60.0 <= recovery <= 300.0, recovery


@pytest.mark.slow
def test_fluid_matches_request_level_on_the_transient():
    """Goodput within 10%, errors within 15% (or 1% of demand), recovery within 15% or 10 s of the DES."""
    good_d, err_d, rec_d = outcome("des")
    good_f, err_f, rec_f = outcome("fluid")
    assert abs(good_f - good_d) <= 0.10 * good_d
    assert abs(err_f - err_d) <= max(0.15 * err_d, 0.01)
    assert rec_d is not None and rec_f is not None
    assert abs(rec_f - rec_d) <= max(0.15 * rec_d, 10.0)
