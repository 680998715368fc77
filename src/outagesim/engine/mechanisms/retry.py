"""Retries: how many attempts fit, when each retry comes, and how long a caller is held by them.

Attempt k+1 follows a failed attempt k after a backoff b_k = min(cap, base·multiplier^(k-1)), jittered
(none: b; full: U(0, b); equal: U(b/2, b)). Attempts stop at ``max_attempts`` or when the next one
would start after the request's total ``deadline``; the fluid engine counts a failed attempt as lasting
its full timeout (the storm case), so backoff changes how many attempts are made, not only when. This
is the behaviour of AWS SDK "standard" retries and of gRPC retry policies with a deadline.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..network import JITTER_EQUAL, JITTER_FULL, Network


def backoff_s(net: Network, k: int) -> np.ndarray:
    """Nominal backoff after the k-th failed attempt (k >= 1), float[R, E]."""
    return np.minimum(net.backoff_cap, net.backoff_base * net.backoff_multiplier[None, :] ** (k - 1))


def mean_backoff_s(net: Network, k: int) -> np.ndarray:
    b = backoff_s(net, k)
    scale = np.where(net.jitter == JITTER_FULL, 0.5, np.where(net.jitter == JITTER_EQUAL, 0.75, 1.0))
    return b * scale[None, :]


def attempts_allowed(net: Network) -> np.ndarray:
    """Attempts each request may make on each edge, int[R, E]: max_attempts, cut by the deadline."""
    allowed = np.ones_like(net.timeout, dtype=np.int64)
    elapsed = np.zeros_like(net.timeout)
    for k in range(1, int(net.max_attempts.max(initial=1))):
        timeout = np.where(np.isfinite(net.timeout), net.timeout, 0.0)
        elapsed = elapsed + timeout + mean_backoff_s(net, k)
        ok = (k < net.max_attempts[None, :]) & (elapsed < net.deadline) & (allowed == k)
        allowed = np.where(ok, k + 1, allowed)
    return allowed


def slot_weights(net: Network, dt: float, n_slots: int) -> np.ndarray:
    """Share of the retries of attempt k+1 injected j steps after the failure, float[E, n_slots, K].

    Sub-step resolution: a point delay is split between the two neighbouring steps, a uniform jitter
    by the CDF at step boundaries. A retry is never injected in the step its attempt failed.
    """
    k_max = int(net.max_attempts.max(initial=1))
    edges = len(net.edge_callee)
    w = np.zeros((edges, n_slots, k_max))
    bounds = np.arange(n_slots) * dt  # slot j covers delays in ((j-1)dt, j dt]
    for k in range(1, k_max):
        b = backoff_s(net, k)[0]
        for e in range(edges):
            if k >= net.max_attempts[e]:
                continue
            if net.jitter[e] == JITTER_FULL:
                lo, hi = 0.0, b[e]
            elif net.jitter[e] == JITTER_EQUAL:
                lo, hi = b[e] / 2, b[e]
            else:
                lo = hi = b[e]
            if hi - lo > 1e-12:
                cdf = np.clip((bounds - lo) / (hi - lo), 0.0, 1.0)
                w[e, 1:, k] = np.diff(cdf)
            else:
                pos = max(hi / dt, 1.0)
                j = min(int(math.floor(pos)), n_slots - 2)
                frac = min(pos - j, 1.0)
                w[e, j, k] += 1 - frac
                w[e, j + 1, k] += frac
    return w


def delay_slots(net: Network, dt: float) -> int:
    """Length of the retry delay line in steps (longest backoff plus two)."""
    k_max = int(net.max_attempts.max(initial=1))
    longest = 0.0
    for k in range(1, k_max):
        longest = max(longest, float(np.max(backoff_s(net, k), initial=0.0)))
    return int(math.ceil(longest / dt)) + 3


@njit(cache=True)
def call_time(latency, p_fail, allowed, backoffs):
    """Expected time a caller spends on one call including retries: Σ_k p^k (ℓ + b_k).

    (L, R) arrays; ``backoffs[k - 1]`` is the mean backoff before attempt k + 1, float[K - 1, L, R].
    """
    total = latency.copy()
    for lk in range(latency.shape[0]):
        for r in range(latency.shape[1]):
            reach = 1.0
            lat = latency[lk, r]
            t = lat
            for k in range(backoffs.shape[0]):
                reach = reach * p_fail[lk, r] * (1.0 if allowed[lk, r] > k + 1 else 0.0)
                t += reach * (lat + backoffs[k, lk, r])
            total[lk, r] = t
    return total
