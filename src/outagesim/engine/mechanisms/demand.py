"""Tenant demand: the daily curve times slow noise, plus arrival-count noise per step.

Slow noise is an Ornstein–Uhlenbeck process on log-rate with standard deviation ``sigma`` and
correlation time ``tau`` (exact discretisation, so any dt is right). Count noise is the normal
approximation of Poisson counts, N(λdt, λdt): right whatever dt and rate are, and it is what lets a
replica near a tipping point tip by chance, as real traffic bursts do.
"""

from __future__ import annotations

import numpy as np


def ou_step(x: np.ndarray, z: np.ndarray, sigma: np.ndarray, tau: np.ndarray, dt: float) -> np.ndarray:
    """Advance log-rate noise x by dt (stationary sd sigma, correlation time tau)."""
    a = np.exp(-dt / np.maximum(tau, 1e-9))
    return x * a + sigma * np.sqrt(1 - a * a) * z


def arrivals(rate: np.ndarray, ou: np.ndarray, sigma: np.ndarray, z: np.ndarray | None, dt: float):
    """Requests arriving in one step, mean-corrected so noise does not change mean demand."""
    mean = rate * np.exp(ou - 0.5 * sigma * sigma) * dt
    if z is None:
        return mean
    return np.maximum(mean + np.sqrt(mean) * z, 0.0)
