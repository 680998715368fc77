"""Lookups on the tabulated G⁻¹ of ``erlang.BusyTable``, compiled for the cell kernels.

``busy_fraction`` reads ρ = G⁻¹(x; c) (and its slope) off the table, ``mean_in_system`` inverts it for
G(ρ; c). Bilinear in c and v = s/(1+s), s = x/c, as the table is laid out.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def locate(knots, c):
    n = knots.shape[0]
    hi = np.searchsorted(knots, c)
    hi = min(max(hi, 1), n - 1)
    lo = hi - 1
    w = (c - knots[lo]) / (knots[hi] - knots[lo])
    return lo, min(max(w, 0.0), 1.0)


@njit(cache=True, inline="always")
def busy_on_row(rows, lo, wc, x, c):
    nv = rows.shape[1]
    s = x / c
    v = s / (1.0 + s)
    fj = v * (nv - 1)
    j = min(int(fj), nv - 2)
    wv = fj - j
    a0, a1 = rows[lo, j], rows[lo, j + 1]
    b0, b1 = rows[lo + 1, j], rows[lo + 1, j + 1]
    r0 = a0 + (a1 - a0) * wv
    r1 = b0 + (b1 - b0) * wv
    slope = ((a1 - a0) * (1 - wc) + (b1 - b0) * wc) * (nv - 1)
    return r0 + (r1 - r0) * wc, slope / (c * (1 + s) ** 2)


@njit(cache=True)
def busy_fraction(rows, knots, x, c):
    """ρ = G⁻¹(x; c) from the table and dρ/dx (bilinear in c and v = s/(1+s), s = x/c)."""
    lo, wc = locate(knots, c)
    return busy_on_row(rows, lo, wc, x, c)


@njit(cache=True)
def mean_in_system(rows, knots, rho, c):
    """G(ρ; c) by inverting the table (binary search on v), for the stationary queue length."""
    lo, wc = locate(knots, c)
    nv = rows.shape[1]
    a, b = 0, nv - 1
    while b - a > 1:
        mid = (a + b) // 2
        if rows[lo, mid] * (1 - wc) + rows[lo + 1, mid] * wc < rho:
            a = mid
        else:
            b = mid
    ra = rows[lo, a] * (1 - wc) + rows[lo + 1, a] * wc
    rb = rows[lo, b] * (1 - wc) + rows[lo + 1, b] * wc
    t = (rho - ra) / (rb - ra) if rb > ra else 0.0
    v = (a + min(max(t, 0.0), 1.0)) / (nv - 1)
    v = min(v, 1 - 1e-15)
    return c * v / (1 - v)
