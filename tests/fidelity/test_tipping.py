"""The tipping boundary: both engines put the loss × duration boundary of a retry storm in the same place.

Base case, near the boundary: a 2-service sync chain ``s0 -> s1`` (20 req/s, 0.6 s own work each, pools
sized for utilisation 0.6 with hold time: 41 and 20 workers), client timeout 5 s, 3 attempts with 50 ms
backoff, call timeout 10 s, FIFO. Trigger: a capacity loss on ``s1`` at t = 60 s (the request-level engine
starts empty), of 10-85% (steps of 15%: every loss leaves a whole number of the 20 workers, so the
request-level engine's rounding of workers matches the fluid's continuous capacity) for 10 s to 10 min.

A replica is **stuck** when its tenant goodput over the last minute before 10 minutes after the trigger
ends, [end + 540 s, end + 600 s), is below 20% of demand; a cell is stuck when most replicas (more than
half) are. Request-level 10 replicas (fast grid: 5), fluid 20 replicas with noise on (a deterministic
fluid cannot tip by chance). A cell is **next to the boundary** when one of its 4-neighbours in the grid
has a different request-level verdict.

Rules (issue): the engines agree on at least 30 of the 36 cells (fast 3 × 3 grid around the boundary,
where most cells are boundary cells: at least 7 of 9), every disagreement is next to the boundary, and
the margin of ``tipping_margins`` (fluid, 60 s loss) lies within one grid step (15%) of the request-level
boundary at 60 s, placed where the share of stuck replicas crosses one half (linear between losses).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from outagesim.engine.des import simulate_des
from outagesim.engine.fluid import simulate_fluid
from outagesim.margins import tipping_margins
from outagesim.model import Model, Scenario
from tests.engine import nets
from tests.fidelity.chains import sized_chain

AT, AFTER, INTERVAL, LAST = 60.0, 600.0, 5.0, 60.0
LOSSES = (0.10, 0.25, 0.40, 0.55, 0.70, 0.85)
DURATIONS = (10.0, 25.0, 60.0, 150.0, 300.0, 600.0)
STEP = 0.15
FAST_LOSSES, FAST_DURATIONS = LOSSES[2:5], DURATIONS[1:4]
FLUID_REPLICAS, DES_REPLICAS, DES_REPLICAS_FAST = 20, 10, 5


def base_model() -> dict:
    return sized_chain(2, 20.0, 0.6, utilisation=0.6, client_timeout_s=5.0, call_timeout_s=10.0,
                       client_retry={"attempts": 3, "base_s": 0.05})


@functools.cache
def stuck_share(engine: str, loss: float, duration_s: float, replicas: int) -> float:
    """Share of replicas whose goodput over the last minute is below 20% of demand."""
    sc = nets.scenario(AT + duration_s + AFTER, record_every_s=INTERVAL,
                       faults={"loss": nets.fault("capacity_loss", "s1", AT, duration_s, fraction=loss)})
    net = nets.build(base_model(), sc, replicas=replicas, seed=11)
    rec = simulate_fluid(net, noise=True) if engine == "fluid" else simulate_des(net, force=True)
    k = int((AT + duration_s + AFTER - LAST) / INTERVAL)
    good = rec.get("tenant", "users", "goodput")[:, k:].sum(axis=1)
    demand = rec.get("tenant", "users", "demand")[:, k:].sum(axis=1)
    return float(np.mean(good < 0.2 * demand))


def grid(engine: str, losses, durations, replicas: int) -> np.ndarray:
    """Stuck share per cell, rows = durations, columns = losses."""
    return np.array([[stuck_share(engine, f, d, replicas) for f in losses] for d in durations])


def table(des: np.ndarray, fluid: np.ndarray, losses, durations) -> str:
    head = "duration \\ loss " + " ".join(f"{f:>10.0%}" for f in losses)
    rows = [f"{d:>14g}s " + " ".join(f"{a:4.1f}/{b:4.2f}{'*' if (a > 0.5) != (b > 0.5) else ' '}"
                                      for a, b in zip(r_des, r_fl, strict=True))
            for d, r_des, r_fl in zip(durations, des, fluid, strict=True)]
    return "stuck share request-level/fluid, * = verdicts differ\n" + "\n".join([head, *rows])


def check_grid(losses, durations, des_replicas: int, min_agree: int) -> None:
    des = grid("des", losses, durations, des_replicas)
    fluid = grid("fluid", losses, durations, FLUID_REPLICAS)
    stuck_des, stuck_fluid = des > 0.5, fluid > 0.5
    info = table(des, fluid, losses, durations)
    assert stuck_des.any() and not stuck_des.all(), f"the boundary does not cross the grid\n{info}"
    differ = stuck_des != stuck_fluid
    assert differ.size - differ.sum() >= min_agree, f"{differ.sum()} cells disagree\n{info}"
    n_d, n_f = stuck_des.shape
    for i, j in zip(*np.nonzero(differ), strict=True):
        near = [(i + a, j + b) for a, b in ((-1, 0), (1, 0), (0, -1), (0, 1)) if 0 <= i + a < n_d and 0 <= j + b < n_f]
        assert any(stuck_des[c] != stuck_des[i, j] for c in near), (
            f"{durations[i]:g} s × {losses[j]:.0%} disagrees away from the boundary\n{info}")


def des_boundary_at_60s(losses, replicas: int) -> float:
    """The loss where the share of stuck request-level replicas crosses one half, for a 60 s loss."""
    share = np.array([stuck_share("des", f, 60.0, replicas) for f in losses])
    for j in range(len(losses) - 1):
        if share[j] <= 0.5 < share[j + 1]:
            return losses[j] + (0.5 - share[j]) / (share[j + 1] - share[j]) * (losses[j + 1] - losses[j])
    raise AssertionError(f"no crossing at 60 s in {dict(zip(losses, share, strict=True))}")


def check_margin(losses, replicas: int) -> None:
    boundary = des_boundary_at_60s(losses, replicas)
    model = Model.model_validate(base_model())
    scenario = Scenario.model_validate(nets.scenario(300.0, record_every_s=INTERVAL))
    margin = tipping_margins(model, scenario)["s1"]["margin"]
    assert margin is not None, f"no margin on s1; request-level boundary at 60 s: {boundary:.3f}"
    assert abs(margin - boundary) <= STEP, f"margin {margin:.3f}, request-level boundary {boundary:.3f}"


def test_tipping_boundary_fast():
    """On the 3 × 3 grid around the boundary the engines agree on 7 cells or more, disagreeing only next to it."""
    check_grid(FAST_LOSSES, FAST_DURATIONS, DES_REPLICAS_FAST, min_agree=7)


def test_margin_near_boundary_fast():
    """The fluid margin for a 60 s loss is within one grid step of the request-level boundary (3 losses)."""
    check_margin(FAST_LOSSES, DES_REPLICAS_FAST)


@pytest.mark.slow
def test_tipping_boundary_full():
    """On the 6 × 6 grid the engines agree on 30 cells or more, disagreeing only next to the boundary."""
    check_grid(LOSSES, DURATIONS, DES_REPLICAS, min_agree=30)


@pytest.mark.slow
def test_margin_near_boundary_full():
    """The fluid margin for a 60 s loss is within one grid step of the request-level boundary (6 losses)."""
    check_margin(LOSSES, DES_REPLICAS)
