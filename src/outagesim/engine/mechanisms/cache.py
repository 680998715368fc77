"""Caches in front of a service's calls: a hit answers without any of them.

A cell's warmth w in [0, 1] scales its hit ratio: a share ``hit_ratio x w`` of its requests hit. Warmth
is what a cold start loses and what sustains a metastable failure: instances restored after a loss
come back empty, so the cell's misses, and the load on what it calls, multiply (by 10 for a 90% hit
ratio); and the cache fills only from misses whose calls succeed, so a backing service overloaded by
those misses keeps the cache cold. Both engines use these functions.
"""

from __future__ import annotations

import numpy as np


def miss_share(hit_ratio, warmth):
    """Share of requests that miss the cache and make the cell's calls."""
    return 1.0 - hit_ratio * warmth


def warm(warmth, h, calls_ok, warmup_s):
    """Warmth after ``h`` seconds in which a share ``calls_ok`` of the misses' calls succeeded.

    Exponential approach to full with time constant ``warmup_s`` at full success, slower as misses fail.
    """
    return 1.0 - (1.0 - warmth) * np.exp(-h * calls_ok / warmup_s)


def restore(warmth, healthy_before, healthy_after):
    """Warmth once restored instances (cold) join the healthy ones; unchanged when capacity falls."""
    grew = healthy_after > healthy_before
    return np.where(grew, warmth * healthy_before / np.where(grew, healthy_after, 1.0), warmth)
