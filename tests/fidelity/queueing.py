"""Textbook queueing formulas the engines are checked against (Erlang C for M/M/c) and batch means."""

from __future__ import annotations

import numpy as np
from scipy import stats


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a = lambda/mu < c.

    Via Erlang B, B = pmf(c; a) / cdf(c; a) for a Poisson(a) variable, and C = B / (1 - (a/c)(1 - B))
    (Kleinrock, Queueing Systems vol. 1, 1975, eq. 3.40-3.42); stable for large c.
    """
    if not 0 <= a < c:
        raise ValueError(f"offered load must be in [0, c), found a={a}, c={c}")
    b = stats.poisson.pmf(c, a) / stats.poisson.cdf(c, a)
    return float(b / (1 - (a / c) * (1 - b)))


def mmc_mean_wait(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of an M/M/c: W_q = C(c, a) / (c*mu - lambda), a = lambda/mu."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def batch_means(x: np.ndarray, batches: int = 30, level: float = 0.95) -> tuple[float, float]:
    """Mean of a correlated sequence and the half-width of its confidence interval by batch means.

    Splits x into ``batches`` contiguous batches (the remainder is dropped) and treats the batch means as
    independent: half-width = t_{(1+level)/2, B-1} * sd(batch means) / sqrt(B) (Law, Simulation Modeling
    and Analysis, 5th ed., section 9.5.3).
    """
    n = len(x) // batches
    if n < 2:
        raise ValueError(f"need at least {2 * batches} observations, found {len(x)}")
    means = np.asarray(x[: n * batches], float).reshape(batches, n).mean(axis=1)
    half = stats.t.ppf((1 + level) / 2, batches - 1) * means.std(ddof=1) / np.sqrt(batches)
    return float(means.mean()), float(half)
