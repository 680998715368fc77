"""Chains of services sized so utilisation, hold time and downstream waits included, is as asked."""

from __future__ import annotations

import math

from outagesim.engine.mechanisms.erlang import mean_wait
from tests.engine import nets


def sized_workers(n: int, rps: float, own_s: float, utilisation: float) -> list[int]:
    """Workers per service, bottom up: hold = own work + the sojourn (Erlang C wait + hold) below."""
    workers: list[int] = []
    below = 0.0
    for _ in range(n):
        hold = own_s + below
        c = math.ceil(rps * hold / utilisation)
        below = hold + float(mean_wait(rps, 1.0 / hold, c))
        workers.insert(0, c)
    return workers


def sized_chain(n: int, rps: float, own_s: float, utilisation: float = 0.7, **kw) -> dict:
    """``nets.chain`` with workers from :func:`sized_workers`."""
    return nets.chain(n, rps=rps, mean_s=own_s, workers=sized_workers(n, rps, own_s, utilisation), **kw)
