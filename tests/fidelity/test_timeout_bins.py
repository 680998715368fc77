"""Timeouts measured in age bins: the share of responses that arrive in time, against the exact value.

A station with far more workers than it needs (no waiting) and an exponential service time of mean 20 s;
its tenant's client waits 5 s for one attempt. A response is in time with probability 1 − e^(−5/20) =
0.221 exactly; the request-level engine agrees. The fluid engine counts a response in time when it
leaves an age bin below the timeout's, so what it measures depends on how many bins the timeout spans.

Measured in-time shares (fluid, noise off; exact 0.221):

| dt | bins in the timeout | in time | before 2026-12-07 |
|---|---|---|---|
| 0.25 s | 20 | 0.216 | 0.213 |
| 0.5 s | 10 | 0.211 | 0.204 |
| 1 s (the default, timeout / 5) | 5 | 0.201 | 0.186 |
| 2 s | 2.5, rounded up to 3 | 0.221 | 0.190 (rounded to the nearest, 2: 0.100) |
| 2.5 s | 2 | 0.170 | 0.125 |

The work of a bin arrives spread over it, and what is still out when the timeout's last bin ends is
counted as timed out then, so a response is cut off at (bins − ½) × dt on average: half a bin early
when the timeout is a whole number of bins, on it at 2.5 bins rounded up to 3. Before, a step gave
all its completions to the work already in service, so work was never answered in the bin it arrived
in and the cut-off fell a whole bin early, at (bins − 1) × dt (the last column). A hold shorter than a
bin is the other way round (answered within its arrival bin, cut off up to a bin late); with the
default dt such a hold is under a fifth of the timeout and almost never late, so it is not tested here.
"""

from __future__ import annotations

import math

import pytest

from outagesim.engine.des import simulate_des
from outagesim.engine.fluid import simulate_fluid
from tests.engine import nets

TIMEOUT_S, MEAN_S, RPS, DURATION_S = 5.0, 20.0, 10.0, 900.0
EXACT = 1.0 - math.exp(-TIMEOUT_S / MEAN_S)
SETTLED = 30  # record intervals (10 s) skipped while the station fills


def in_time_share(engine: str, dt_s: float | None = None, replicas: int = 1) -> float:
    m = nets.model({"station": nets.service(int(RPS * MEAN_S * 20), mean_s=MEAN_S, cv=1.0)},
                   {"users": nets.tenant("station", RPS, timeout_s=TIMEOUT_S)})
    net = nets.build(m, nets.scenario(DURATION_S, dt_s=dt_s), replicas=replicas)
    rec = simulate_fluid(net, noise=False) if engine == "fluid" else simulate_des(net, force=True)
    good = rec.get("tenant", "users", "goodput")[:, SETTLED:].sum()
    return float(good / rec.get("tenant", "users", "demand")[:, SETTLED:].sum())


def test_the_request_level_engine_gets_the_exact_share():
    """Reference: 4 replicas, about 6,000 requests each after the first 5 minutes, within 5% of
    1 − e^(−T/mean)."""
    assert in_time_share("des", replicas=4) == pytest.approx(EXACT, rel=0.05)


@pytest.mark.parametrize("dt_s", [1.0, 2.0])
def test_the_share_is_within_a_tenth_whether_or_not_the_timeout_is_whole_bins(dt_s: float):
    """At dt = 1 s (5 bins) and 2 s (2.5 bins, rounded up to 3) the fluid share is within 10% of the
    exact one. Both failed before: with every completion given to work already in service, the share
    was 16% short at 1 s; rounded to the nearest whole number of bins, 2.5 became 2 and it was 55%
    short at 2 s."""
    assert in_time_share("fluid", dt_s) == pytest.approx(EXACT, rel=0.10)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="a whole-bin timeout cuts responses off half a bin early (module docstring)")
def test_at_the_default_bin_width_the_share_is_within_five_percent():
    """Not yet: at dt = timeout / 5 the cut-off falls at 4.5 s, and the fluid share is 9% short."""
    assert in_time_share("fluid") == pytest.approx(EXACT, rel=0.05)
