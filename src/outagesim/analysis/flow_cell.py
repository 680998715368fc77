"""What one cell does at steady state, in the static flow (``flow.Flow``): the share of its arrivals it
serves in time and its queue's mean wait. ``flow_kernel`` has the same formulas for one cell at a time."""

from __future__ import annotations

import numpy as np


def own_ok(lam: np.ndarray, mu: np.ndarray, bounded: np.ndarray) -> np.ndarray:
    """Share of a cell's arrivals served in time: all while λ ≤ μ; when overloaded μ/λ if the cell bounds
    its waiting, else none (congestion collapse); none without capacity."""
    safe = np.where(lam > 0, lam, 1.0)
    share = np.where(bounded, np.minimum(1.0, mu / safe), (lam <= mu).astype(float))
    return np.where(lam > 0, share, (mu > 0).astype(float))


def mean_wait(lam: np.ndarray, hold: np.ndarray, servers: np.ndarray, cv: np.ndarray) -> np.ndarray:
    """Stationary mean wait in queue of an M/G/c cell (inf at or above saturation).

    Sakasegawa's approximation W ≈ hold · ρ^(√(2(c+1)) − 1) / (c (1 − ρ)), ρ = λ · hold / c, scaled by
    the Allen–Cunneen factor (1 + cv²) / 2 (Sakasegawa 1977; Hopp & Spearman, Factory Physics, 8.4);
    smooth in fractional c, as the engine's queue is.
    """
    c = np.maximum(servers, 1e-12)
    rho = lam * hold / c
    base = np.clip(rho, 0.0, 1.0 - 1e-12)
    w = 0.5 * (1.0 + cv * cv) * hold * base ** (np.sqrt(2.0 * (c + 1.0)) - 1.0) / (c * (1.0 - base))
    return np.where(rho < 1.0, w, np.inf)
