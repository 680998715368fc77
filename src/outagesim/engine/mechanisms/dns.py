"""DNS records with TTL: resolution fails for a client once its cached answer expires.

In Oct 2025 DynamoDB's DNS automation left the regional endpoint's record empty; clients failed as their
caches expired, and after the record was restored, clients kept failing until their cached (empty)
answers expired. Cached answers are taken to expire uniformly over the TTL.
"""

from __future__ import annotations

import numpy as np


def unresolved_share(t: float, windows, ttl_s: float, negative_ttl_s: float) -> float:
    """Share of clients that cannot resolve the record at t; ``windows`` are (name, emptied, restored)."""
    out = 0.0
    for _, t0, t1 in windows:
        if t < t0:
            continue
        at_restore = min(1.0, (min(t, t1) - t0) / ttl_s)
        f = at_restore if t < t1 else at_restore * max(0.0, 1.0 - (t - t1) / negative_ttl_s)
        out = max(out, f)
    return float(np.clip(out, 0.0, 1.0))
