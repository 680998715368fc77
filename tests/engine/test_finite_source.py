"""The finite-source queue against a brute-force machine-repair law, and its step's conservation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from outagesim.engine.mechanisms.erlang import BusyTable
from outagesim.engine.mechanisms.finite_source import closed_moments, solve_blended_cell
from outagesim.engine.mechanisms.queue_step import solve_cell


def brute_force(tokens: int, c: int, r: float) -> tuple[float, float, float]:
    """Mean content, mean busy, P(n >= c) of the machine-repair law summed over every state."""
    log_p = [0.0]
    for n in range(tokens):
        log_p.append(log_p[-1] + math.log((tokens - n) * r) - math.log(min(n + 1, c)))
    p = np.exp(np.array(log_p) - max(log_p))
    p /= p.sum()
    n = np.arange(tokens + 1)
    return float(p @ n), float(p @ np.minimum(n, c)), float(p[c:].sum())


@pytest.mark.parametrize("tokens, c, r", [(72, 58, 0.3), (72, 58, 3.0), (29, 15, 1.0), (10, 20, 0.5),
                                          (1, 1, 0.2), (500, 40, 0.08), (200, 150, 50.0)])
def test_moments_match_the_whole_sum_within_1e_9(tokens, c, r):
    got = closed_moments(float(tokens), float(c), math.log(r))
    np.testing.assert_allclose(got, brute_force(tokens, c, r), rtol=1e-9, atol=1e-12)


def test_content_never_exceeds_the_tokens_and_busy_never_the_workers():
    for lr in np.linspace(-20, 20, 41):
        m, b, p = closed_moments(29.0, 15.0, lr)
        assert 0.0 <= b <= min(m, 15.0) + 1e-12 and m <= 29.0 + 1e-12 and 0.0 <= p <= 1.0


@pytest.fixture(scope="module")
def table():
    t = BusyTable()
    t.ensure(np.array([15.0, 58.0]))
    return t


@pytest.mark.parametrize("closed", [0.0, 0.4, 1.0])
@pytest.mark.parametrize("x", [0.5, 12.0, 25.0, 40.0])
def test_blended_step_conserves_work(table, closed, x):
    """Work left + completions = work before, to rounding; busy within the pool."""
    k = 0.3
    y, busy, lq, p = solve_blended_cell(x, 15.0, k, 1.0, 29.0, closed, table.rows, table.knots)
    assert y + k * busy == pytest.approx(x, rel=1e-12)
    assert 0.0 <= busy <= 15.0 and lq >= 0.0 and 0.0 <= p <= 1.0


def test_open_blend_agrees_with_the_open_step_within_1e_5(table):
    """With no closed share the blended solve is the plain M/M/c step (different root finder)."""
    for x in (1.0, 10.0, 14.0, 20.0, 60.0):
        y0, b0 = solve_cell(x, 58.0, 0.2, 1.0, table.rows, table.knots)
        y1, b1, _, _ = solve_blended_cell(x, 58.0, 0.2, 1.0, 72.0, 0.0, table.rows, table.knots)
        assert b1 == pytest.approx(b0, rel=1e-5)


def test_closed_loop_keeps_more_workers_busy_than_the_open_queue(table):
    """At the same content, a closed loop of 29 tokens keeps 15 workers busier than Poisson arrivals."""
    x = 16.0
    _, b_open = solve_cell(x, 15.0, 0.0, 1.0, table.rows, table.knots)
    _, b_closed, _, _ = solve_blended_cell(x, 15.0, 0.0, 1.0, 29.0, 1.0, table.rows, table.knots)
    assert b_closed > b_open + 0.5
