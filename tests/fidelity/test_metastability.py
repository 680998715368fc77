"""Metastability emerges in both engines, and the same policies escape it in both.

A 4-service chain (300 req/s, 4 ms own work each, pools sized for utilisation 0.7 with hold time),
client timeout 100 ms, 3 attempts with 50 ms backoff, and a 60 s halving of the last service's
workers (2 -> 1, an integer in both engines). Stuck = tenant goodput below 20% of demand over the whole
window after the dip (fast suite: 4 minutes; slow: 10 minutes); LIFO must recover within 2 minutes.
"""

import numpy as np
import pytest

from outagesim.analysis.windows import recovery_time
from outagesim.engine.des import simulate_des
from outagesim.engine.fluid import simulate_fluid
from outagesim.engine.mechanisms.retry import attempts_allowed
from tests.engine import nets
from tests.fidelity.chains import sized_chain

DIP_AT, DIP_FOR, INTERVAL = 60.0, 60.0, 5.0


def storm_model(discipline: str, drop: bool) -> dict:
    return sized_chain(4, 300.0, 0.004, client_timeout_s=0.1, call_timeout_s=1.0,
                       client_retry={"attempts": 3, "base_s": 0.05},
                       queue={"discipline": discipline, "drop_expired": drop})


def storm_scenario(after_s: float) -> dict:
    return nets.scenario(DIP_AT + DIP_FOR + after_s, record_every_s=INTERVAL,
                         faults={"dip": nets.fault("capacity_loss", "s3", DIP_AT, DIP_FOR, fraction=0.5)})


def storm_outcome(engine: str, model: dict, after_s: float) -> tuple[float, float | None]:
    """Goodput share after the dip, and recovery time after it (None: not recovered), of one replica."""
    net = nets.build(model, storm_scenario(after_s), replicas=1, seed=3)
    rec = simulate_fluid(net, noise=False) if engine == "fluid" else simulate_des(net, force=True)
    good = rec.get("tenant", "users", "goodput")[0]
    demand = rec.get("tenant", "users", "demand")[0]
    k = int((DIP_AT + DIP_FOR) / INTERVAL)
    return good[k:].sum() / demand[k:].sum(), recovery_time(good, demand, INTERVAL, DIP_AT + DIP_FOR)


def run(engine: str, discipline: str, drop: bool, after_s: float):
    return storm_outcome(engine, storm_model(discipline, drop), after_s)


CASES = [("fifo", False, "stuck"), ("lifo", False, "recovers"), ("fifo", True, "stuck")]


def check(engine: str, discipline: str, drop: bool, outcome: str, after_s: float) -> None:
    share, recovery = run(engine, discipline, drop, after_s)
    if outcome == "stuck":
        assert share < 0.2, f"{engine} {discipline} drop={drop}: goodput share {share:.3f} after the dip"
        assert recovery is None
    else:
        assert recovery is not None and recovery <= 120.0, f"{engine} {discipline}: recovery {recovery}"


@pytest.mark.parametrize("engine", ["fluid", "des"])
@pytest.mark.parametrize("discipline, drop, outcome", CASES)
def test_storm_outcome_fast(engine, discipline, drop, outcome):
    """FIFO stays stuck 4 min after the dip, LIFO recovers within 2 min, FIFO+drop_expired stays stuck."""
    check(engine, discipline, drop, outcome, after_s=240.0)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["fluid", "des"])
@pytest.mark.parametrize("discipline, drop, outcome", CASES)
def test_storm_outcome_full(engine, discipline, drop, outcome):
    """The same outcomes hold 10 minutes after the dip."""
    check(engine, discipline, drop, outcome, after_s=600.0)


def backoff_storm(base_s: float, deadline_s: float | None) -> float | None:
    """Recovery time after the dip of the storm chain whose users retry up to 4 attempts with backoff
    ``base_s`` (doubling, no jitter) within ``deadline_s``; None if it stays stuck (fluid)."""
    retry = {"attempts": 4, "base_s": base_s, "jitter": "none"}
    if deadline_s is not None:
        retry["deadline_s"] = deadline_s
    m = sized_chain(4, 300.0, 0.004, client_timeout_s=0.1, call_timeout_s=1.0, client_retry=retry,
                    queue={"discipline": "fifo", "drop_expired": False})
    return storm_outcome("fluid", m, 240.0)[1]


@pytest.mark.parametrize("base_s, deadline_s, attempts_fit, recovers", [
    (0.3, None, 4, False),  # backoff alone: all 4 attempts still come, later
    (0.1, 0.4, 2, False),  # starts 0, 0.2 s (0.1 s timeout + 0.1 s backoff); the third would be at 0.5 s
    (0.3, 0.4, 1, True),  # the second attempt would start at 0.4 s: past the deadline
])
def test_backoff_helps_only_where_it_cuts_the_attempts_that_fit_in_the_deadline(base_s, deadline_s,
                                                                                attempts_fit, recovers):
    """Users time out after 100 ms and retry up to 4 attempts. A sweep over the backoff base (measured:
    without a deadline, bases 0, 50, 100 and 300 ms all stay stuck; within a 400 ms deadline, bases 0, 50
    and 100 ms, which leave 4, 3 and 2 attempts, stay stuck, and 300 ms, which leaves 1, recovers in 20 s)
    shows backoff escapes the storm only by cutting attempts: the engine's own count of attempts that fit
    is checked too."""
    m = sized_chain(4, 300.0, 0.004, client_timeout_s=0.1, call_timeout_s=1.0,
                    client_retry={"attempts": 4, "base_s": base_s, "jitter": "none",
                                  **({"deadline_s": deadline_s} if deadline_s else {})})
    net = nets.build(m, storm_scenario(240.0))
    entry = int(np.flatnonzero(net.edge_caller < 0)[0])
    assert attempts_allowed(net)[0, entry] == attempts_fit
    recovery = backoff_storm(base_s, deadline_s)
    assert (recovery is not None and recovery <= 120.0) if recovers else recovery is None, recovery
