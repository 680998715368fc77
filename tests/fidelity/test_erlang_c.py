"""The request-level engine against Erlang C: mean wait in queue of a single M/M/c station at steady state."""

from __future__ import annotations

import pytest

from outagesim.engine.des import simulate_des
from tests.engine import nets
from tests.fidelity.queueing import batch_means, mmc_mean_wait

MEAN_S = 1e-3  # service time; time is scaled so the run length is set by the number of customers
WARMUP = 0.05  # share of the run discarded (the engine starts empty)


def des_mean_wait(c: int, rho: float, customers: int, seed: int = 1) -> tuple[float, float, float]:
    """(DES mean wait, batch-means 95% half-width, Erlang C mean wait) for an M/M/c at load rho."""
    lam = rho * c / MEAN_S
    duration = customers / lam
    net = nets.build(nets.mmc(c, rho, mean_s=MEAN_S), nets.scenario(duration, record_every_s=duration / 4),
                     seed=seed)
    rec = simulate_des(net, record_waits=True, force=True)
    arrived, waits = rec.info["waits"][0][nets.cell("station")]
    mean, half = batch_means(waits[arrived >= WARMUP * duration], batches=30)
    return mean, half, mmc_mean_wait(c, lam, 1 / MEAN_S)


def check(c: int, rho: float, customers: int) -> None:
    mean, half, formula = des_mean_wait(c, rho, customers)
    assert half <= 0.05 * formula, f"CI half-width {half / formula:.1%} of the formula"
    assert mean == pytest.approx(formula, rel=0.05)


@pytest.mark.parametrize(("c", "rho", "customers"), [(1, 0.5, 400_000), (1, 0.8, 1_200_000),
                                                     (8, 0.8, 1_200_000)])
def test_mean_wait_matches_erlang_c(c: int, rho: float, customers: int):
    """The M/M/c mean wait is within 5% of Erlang C, with a batch-means 95% half-width within 5% of it."""
    check(c, rho, customers)


@pytest.mark.slow
@pytest.mark.parametrize(("c", "rho", "customers"), [(64, 0.9, 10_000_000), (8, 0.95, 10_000_000)])
def test_mean_wait_matches_erlang_c_heavy_load(c: int, rho: float, customers: int):
    """Near saturation and with many servers the mean wait is still within 5% of Erlang C (±5% CI)."""
    check(c, rho, customers)
