"""M/M/c formulas for fractional c, and the tabulated inverse G⁻¹ the fluid queue needs.

G(ρ; c) = cρ + C(c, cρ)·ρ/(1-ρ) is the stationary mean number in an M/M/c at load ρ (Erlang C, with
the continuous Erlang B of Jagerman for fractional c: B(c, a) = a^c e^-a / Γ(c+1, a)). The fluid-flow
approximation (Tipper & Sundareshan 1990; Wang, Chen & Li 1996) serves at rate c·μ·G⁻¹(x), so its
stationary state is exactly Erlang C, and it stays continuous through ρ = 1.

G⁻¹ is tabulated per c-knot on v = s/(1+s), s = x/c ∈ [0, ∞) → v ∈ [0, 1), and interpolated
bilinearly in (c, v). Integer c up to 128 (and quarters below 32) are knots, so integer pools are exact
up to the v-grid error
(< 1e-6 in ρ at the grid used); rows are computed lazily, only for the knots a model touches.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaincc, gammaln

_NV = 4097
_V_GRID = np.linspace(0.0, 1.0, _NV)
_C_KNOTS = np.unique(np.concatenate([
    [1e-3, 0.01, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    np.arange(1, 32, 0.25),
    np.arange(32, 129, dtype=float),
    128.0 * 1.02 ** np.arange(1, 560),  # up to ~8e6 workers
]))


def erlang_c(c, a):
    """Probability of waiting in an M/M/c with offered load a = λ/μ (c may be fractional)."""
    c = np.asarray(c, float)
    a = np.asarray(a, float)
    log_b = c * np.log(np.maximum(a, 1e-300)) - a - (
        np.log(np.maximum(gammaincc(c + 1, a), 1e-300)) + gammaln(c + 1))
    b = np.exp(np.minimum(log_b, 0.0))
    rho = a / np.maximum(c, 1e-300)
    out = b / np.maximum(1 - rho * (1 - b), 1e-300)
    return np.where(rho >= 1, 1.0, np.clip(out, 0.0, 1.0))


def mean_in_system(rho, c):
    """G(ρ; c): stationary mean number in system of an M/M/c at utilisation ρ < 1."""
    rho = np.minimum(np.asarray(rho, float), 1 - 1e-13)
    return c * rho + erlang_c(c, c * rho) * rho / (1 - rho)


def mean_wait(lam, mu, c):
    """Erlang C mean wait in queue, W_q = C(c, λ/μ) / (cμ − λ)."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def wait_exceeds(t, lam, mu, c):
    """P(W_q > t) = C(c, λ/μ)·exp(−(cμ − λ)t) for an M/M/c below saturation."""
    return erlang_c(c, lam / mu) * np.exp(-(c * mu - lam) * t)


class BusyTable:
    """G⁻¹ by table, row per c-knot; ``erlang_table.busy_fraction`` interpolates it."""

    def __init__(self) -> None:
        self._rows = np.full((len(_C_KNOTS), _NV), np.nan)
        self._done = np.zeros(len(_C_KNOTS), bool)
        self.knots = _C_KNOTS

    @property
    def rows(self) -> np.ndarray:
        """The table, one row per c-knot (NaN where not computed yet: call ``ensure`` first)."""
        return self._rows

    def _row(self, k: int) -> None:
        c = _C_KNOTS[k]
        rho = 1 - np.geomspace(1, 1e-12, 30000)
        x = mean_in_system(rho, c)
        s = x / c
        v = s / (1 + s)
        v, idx = np.unique(v, return_index=True)
        self._rows[k] = np.interp(_V_GRID, v, rho[idx])
        self._rows[k, -1] = 1.0
        self._done[k] = True

    def ensure(self, c: np.ndarray) -> None:
        """Compute the rows bracketing every c in the array (call when capacities change)."""
        c = np.asarray(c, float)
        c = c[c > 0]
        if c.size == 0:
            return
        hi = np.clip(np.searchsorted(_C_KNOTS, c), 1, len(_C_KNOTS) - 1)
        if self._done[hi - 1].all() and self._done[hi].all():  # the usual case: nothing new (no sort)
            return
        hi = np.clip(np.searchsorted(_C_KNOTS, np.unique(c)), 1, len(_C_KNOTS) - 1)
        for k in np.unique(np.concatenate([hi - 1, hi])):
            if not self._done[k]:
                self._row(int(k))
