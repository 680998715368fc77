"""The open fluid queue's step: one backward-Euler update of an M/G/c cell's work on the tabulated G⁻¹.

Kept apart from the cell kernel, which decides what the step's completions and starts mean for the
age-binned backlog; this module only says how much work is left and how many workers are busy.
``finite_source.solve_blended_cell`` is its closed-loop counterpart.
"""

from __future__ import annotations

from numba import njit

from .erlang_table import busy_on_row, locate


@njit(cache=True)
def solve_cell(x, c, k_per_server, kq, rows, knots):
    """Backward-Euler fluid step for an M/G/c; returns (work left y, busy workers).

    The stationary content is G_k(ρ) = cρ + kq·(G(ρ) − cρ), with Allen–Cunneen's kq = (1 + cv²)/2 for
    the hold time's squared coefficient of variation (kq = 1 is M/M/c). With z = G(ρ) the step
    y + c·μdt·ρ = x becomes kq·z + ((1 − kq)c + c·μdt)·G⁻¹(z) = x: monotone in z, solved by safeguarded
    Newton on the table; completions c·μdt·ρ leave exactly (conservation).
    """
    if c <= 1e-9:
        return x, 0.0
    k = k_per_server * c
    a = (1.0 - kq) * c + k
    lo_row, wc = locate(knots, c)  # the c-row is the same for every iteration
    lo = 0.0
    hi = (x + max(-a, 0.0)) / kq
    z = min(max(x / (kq + a / c), lo), hi)
    for _ in range(60):
        rho, drho = busy_on_row(rows, lo_row, wc, z, c)
        f = kq * z + a * rho - x
        if f < 0:
            lo = z
        elif f > 0:
            hi = z
        else:
            break
        z_new = z - f / (kq + a * drho)
        if not (lo < z_new < hi):
            z_new = 0.5 * (lo + hi)
        if abs(z_new - z) <= 1e-13 * (1.0 + abs(z)):
            z = z_new
            break
        z = z_new
    rho, _ = busy_on_row(rows, lo_row, wc, z, c)
    return max(x - k * rho, 0.0), c * rho
