"""The compiled helpers of a cell update's inputs: a link's estimates and the hold time's spread."""

from __future__ import annotations

import numpy as np

from outagesim.engine.mechanisms.calls import hold_spread
from outagesim.engine.mechanisms.link_kernel import link_estimates


def test_link_estimates_are_zero_before_any_outcome_and_shares_stay_between_0_and_1():
    """Link 0 has seen nothing yet; link 1 averages 0.2 s an attempt, 30% failing, 10% finally failing;
    link 2's averages have drifted past 1 and below 0 (exponential averages of noisy counts can)."""
    st_lat = np.array([[0.0], [0.4], [1.0]])
    st_lat_n = np.array([[0.0], [2.0], [4.0]])
    st_fail = np.array([[0.0], [0.6], [2.5]])
    st_done = np.array([[0.0], [2.0], [2.0]])
    st_final = np.array([[0.0], [0.2], [-0.1]])
    st_end = np.array([[0.0], [2.0], [2.0]])
    lat, p_fail, final = link_estimates(st_lat, st_lat_n, st_fail, st_done, st_final, st_end)
    np.testing.assert_array_equal(lat[:, 0], [0.0, 0.2, 0.25])
    np.testing.assert_allclose(p_fail[:, 0], [0.0, 0.3, 1.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(final[:, 0], [0.0, 0.1, 0.0], rtol=0, atol=1e-15)


def _chain(per_request: float, thin: float, callee_var: float, hold: float):
    """Cell 0 calls cell 1 (link 0, sync, sequential) through one route of weight 1; link 1 enters cell 0."""
    own_var = np.array([[0.01], [0.0]])
    weights = np.array([[1.0], [1.0]])  # route 0: link 0 -> cell 1; route 1: link 1 -> cell 0
    soj_var = np.array([[0.5], [callee_var]])
    return hold_spread(own_var, weights, soj_var, np.array([1, 0]), np.array([0, 1]), np.array([[per_request], [1.0]]),
                       np.array([[thin], [1.0]]), np.array([0, -1]), np.array([True, True]), np.array([False, False]),
                       np.array([[hold], [0.1]]))


def test_hold_spread_adds_the_callees_sojourn_variance_for_each_call_a_request_makes():
    """Two calls a request, half of them reached: the caller's hold varies by its own 0.01 s² plus
    2 x 0.5 x the callee's 0.04 s²; kq = (1 + variance / hold²) / 2 (Allen–Cunneen)."""
    hold_var, kq = _chain(per_request=2.0, thin=0.5, callee_var=0.04, hold=0.5)
    assert hold_var[0, 0] == np.float64(0.01) + 2.0 * 0.5 * 0.04
    assert kq[0, 0] == 0.5 * (1.0 + hold_var[0, 0] / 0.25)
    assert hold_var[1, 0] == 0.0 and kq[1, 0] == 0.5  # the callee makes no calls: exponential own work


def test_hold_spread_caps_kq_at_5():
    """A hold whose variance is 100 times its square would give kq = 50.5; the factor is capped at 5."""
    _, kq = _chain(per_request=1.0, thin=1.0, callee_var=100.0 * 0.25, hold=0.5)
    assert kq[0, 0] == 5.0
