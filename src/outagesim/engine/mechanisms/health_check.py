"""A load balancer's health checker: takes targets that fail their probes out of service.

In Oct 2025 the NLB health checks failed for healthy targets whose network state had not propagated,
and the checker removed them, taking healthy capacity out ("velocity control" to limit removals was the
announced fix). A probe fails when the target fails or when a service on its probe path fails; the
share of targets that look unhealthy follows the probe failures with the checker's lag (unhealthy_after
or healthy_after probes). Probes fail independently: a target whose probes fail with probability p is
taken out once ``unhealthy_after`` fail in a row, so the share that looks unhealthy follows p^n (a few
failed requests in normal traffic take nothing out; a probe path that is down takes everything).
Fail-open: if more than ``fail_open`` of a service's targets look unhealthy,
the checker keeps them all (it trusts the targets over itself). ``max_removal_per_s`` limits how fast
it removes; reinstating is not limited.
"""

from __future__ import annotations

import numpy as np

NEGLIGIBLE = 1e-4  # a share of targets this small is no target at all (and would change capacity every step)


def probe_failure(target_failed: np.ndarray, path_failed: list[np.ndarray]) -> np.ndarray:
    """Share of probes failing per target cell, float[k, R]: the target's own failure or any path service's."""
    ok = 1.0 - target_failed
    for f in path_failed:  # float[R]: that service's failed share
        ok = ok * (1.0 - f[None, :])
    return 1.0 - ok


def health_step(looks_bad: np.ndarray, removed: np.ndarray, probe_failed: np.ndarray, weight: np.ndarray,
                dt: float, *, down_lag_s: float, up_lag_s: float, fail_open: float,
                max_removal_per_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One step of width dt for one checker's target cells, all float[k, R].

    Returns (looks_bad, removed, failed_open [R], rate_limited [R]); ``weight`` is each cell's share of the
    service's instances (for the fail-open share).
    """
    lag = np.where(probe_failed > looks_bad, down_lag_s, up_lag_s)
    looks_bad = looks_bad + (probe_failed - looks_bad) * (1.0 - np.exp(-dt / lag))
    bad_share = (looks_bad * weight).sum(axis=0)
    failed_open = bad_share > fail_open
    want = np.where(failed_open[None, :] | (looks_bad < NEGLIGIBLE), 0.0, looks_bad)
    limit = removed + max_removal_per_s * dt
    limited = (want > limit + 1e-9).any(axis=0)
    return looks_bad, np.minimum(want, limit), failed_open, limited
