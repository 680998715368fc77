"""Which waiting work a cell's free workers take: FIFO, LIFO and drop-expired on age-binned backlogs.

Waiting work is kept per flow in age bins (age = time since the caller sent the attempt). Each step a
cell takes ``tau`` from its waiting work:

1. **Bypass**: a share 1 − C(c, ρ) of this step's arrivals finds a free worker at once (ρ from the
   arrival rate; none in overload). With step 2 this reproduces the M/M/c wait, P(W > t) = C·e^{-(cμ-λ)t}.
2. **Stationary part** (share φ = min(1, Lq(ρ)/queue) of the rest) is taken in proportion across bins:
   it stands for the random fluctuation queue, whose wait is exponential whatever the discipline.
3. **Excess backlog** (the rest) is taken in order: oldest first (FIFO) or newest first (LIFO). This is
   where disciplines differ: FIFO drains stale work first, which in a retry storm has already expired
   upstream (the work is wasted); LIFO serves fresh work.
4. **drop_expired**: expired work (older than its caller's timeout) that the take reaches is discarded
   at no capacity cost; with FIFO that is all of it whenever a worker frees up.

Why: a prototype showed that without the ordered excess there is no difference between FIFO and LIFO
in a storm, and that LIFO applied to the stationary queue starves old work even below saturation.
"""

from __future__ import annotations

import numpy as np


def take_from_queue(
    q: np.ndarray,  # (F, R, B) waiting work by flow and age
    cell_sum,  # callable (F, R, X) -> (C, R, X): sum over each cell's flows
    flow_cell: np.ndarray,  # (F,) local cell index of each flow
    tau: np.ndarray,  # (C, R) amount to take
    bypass: np.ndarray,  # (C, R) amount that may come from age bin 0 first
    phi: np.ndarray,  # (C, R) stationary share of the remainder
    lifo: np.ndarray,  # (C,) bool
    drop: np.ndarray,  # (C,) bool
    expired: np.ndarray,  # (F, R, B) bool: older than the flow's timeout
) -> tuple[np.ndarray, np.ndarray]:
    """Return (taken, dropped), both (F, R, B); neither exceeds q."""
    eps = 1e-300
    taken = np.zeros_like(q)
    # 1. bypass from bin 0
    q0 = cell_sum(q[:, :, :1])[:, :, 0]
    b = np.minimum(np.minimum(tau, bypass), q0)
    f0 = np.where(q0 > 0, b / np.maximum(q0, eps), 0.0)
    taken[:, :, 0] = q[:, :, 0] * f0[flow_cell]
    rest = q - taken
    tau1 = np.maximum(tau - b, 0.0)
    dropc = drop[flow_cell][:, None, None]
    live = np.where(dropc & expired, 0.0, rest)
    stale = rest - live  # expired work in drop-expired cells (never served)
    # 2. stationary part, in proportion
    prop = phi * tau1
    live_tot = cell_sum(live).sum(axis=2)
    fp = np.minimum(np.where(live_tot > 0, prop / np.maximum(live_tot, eps), 0.0), 1.0)
    take_p = live * fp[flow_cell][:, :, None]
    dropped = stale * fp[flow_cell][:, :, None]
    live = live - take_p
    stale = stale - dropped
    taken += take_p
    # 3. excess backlog, in order (oldest first unless LIFO); reached expired work is dropped
    ordered = np.maximum(tau1 - np.minimum(prop, live_tot), 0.0)
    if np.any(ordered > 0):
        live_c = cell_sum(live)  # (C, R, B)
        stale_c = cell_sum(stale)
        lifo_c = lifo[:, None, None]
        live_o = np.where(lifo_c, live_c, live_c[:, :, ::-1])  # service order
        before = np.cumsum(live_o, axis=2) - live_o
        take_o = np.clip(ordered[:, :, None] - before, 0.0, live_o)
        reached = (ordered[:, :, None] > before) & (ordered[:, :, None] > 0)
        take_c = np.where(lifo_c, take_o, take_o[:, :, ::-1])
        reach_c = np.where(lifo_c, reached, reached[:, :, ::-1])
        frac = np.where(live_c > 0, take_c / np.maximum(live_c, eps), 0.0)
        t_o = live * frac[flow_cell]
        taken += t_o
        dfrac = np.where(reach_c & (stale_c > 0), 1.0, 0.0)
        dropped += stale * dfrac[flow_cell]
    return np.minimum(taken, q), dropped
