"""The fluid engine's stationary queue is Erlang C: mean wait and the wait tail P(W > T).

Tolerance 1% (issue 3). The tail's only error is the time step: survival per step is (1 − θdt) rather
than e^{−θdt}, a relative error ≈ θ²·T·dt/2, so dt is chosen as 0.002/θ (error < 0.3% at θT ≤ 3).
"""

import numpy as np
import pytest

from outagesim.engine.fluid import FluidEngine
from outagesim.engine.mechanisms.erlang import erlang_c, mean_in_system, mean_wait, wait_exceeds
from tests.engine import nets


def stationary_engine(c: int, rho: float, mean_s: float = 1.0):
    lam = rho * c / mean_s
    theta = c / mean_s - lam
    dt = min(0.002 / theta, 0.02 * mean_s)
    horizon = 4.0 / theta  # the tail is checked up to θT = 3
    net = nets.build(nets.mmc(c, rho, mean_s=mean_s, timeout_s=horizon),
                     nets.scenario(10 * dt, dt_s=dt, record_every_s=10 * dt))
    eng = FluidEngine(net, noise=False)
    # Start from the stationary amount of work (not its age profile, which is what is tested): the
    # total relaxes slowly near saturation, the ages within a few 1/θ.
    busy = rho * c
    eng.s[0, :, 0] = busy
    eng.q[0, :, 0] = float(mean_in_system(rho, c)) - busy
    for _ in range(int((horizon + 8.0 / theta) / dt)):
        eng.step(0.0, None, faults=False, noisy=False)
    return eng, lam, 1.0 / mean_s, dt, theta


@pytest.mark.parametrize("c, rho", [(1, 0.5), (1, 0.8), (8, 0.8), (8, 0.95)])
def test_fluid_wait_matches_erlang_c(c, rho):
    """Mean wait (Little) and P(W > T) at θT = 0.5, 1, 2, 3 are within 1% of Erlang C."""
    eng, lam, mu, dt, theta = stationary_engine(c, rho)
    waiting = eng.q[0, 0]  # bin a: work that has waited a steps and is still waiting
    assert waiting.sum() / lam == pytest.approx(float(mean_wait(lam, mu, c)), rel=0.01)
    for theta_t in (0.5, 1.0, 2.0, 3.0):
        t = theta_t / theta
        a = int(round(t / dt))
        fluid = waiting[a] / (lam * dt)
        assert fluid == pytest.approx(float(wait_exceeds(a * dt, lam, mu, c)), rel=0.01), theta_t


def test_erlang_c_fractional_c_is_continuous():
    """The continuous Erlang C used for fractional capacity meets the integer values smoothly."""
    a = 6.4
    assert erlang_c(8.0, a) == pytest.approx(erlang_c(8.0 + 1e-9, a), rel=1e-6)
    vals = erlang_c(np.linspace(7, 9, 41), a)
    assert np.all(np.diff(vals) < 0)
