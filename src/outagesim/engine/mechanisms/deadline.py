"""Deadline propagation: a service's sync calls inherit what is left of its caller's time (gRPC-style).

Without it a callee keeps calling (and retrying) its own dependencies for as long as *its* timeouts
allow, long after the request's caller gave up: that work is wasted, and the workers it holds are what
turns a slow dependency into a saturated caller. With ``propagate_deadline: true`` on a service:

- **request-level engine (exact):** an attempt the service sends at time t, on behalf of a request whose
  own attempt expires at T, gets the timeout min(edge timeout, T − t); a call whose time is already gone
  fails without being sent; no retry starts after T (as with the edge's own ``retry.deadline``).
- **fluid engine (static, this module):** flows are per edge, not per request, so the budget is per
  service: the longest effective timeout of its incoming sync calls (the most patient caller: no call is
  cut that some caller would still wait for) minus its mean own work, which comes before its calls. Its
  outgoing sync calls' timeout and retry deadline are cut to that budget, down the call graph. Queue waits
  are not subtracted: where callers wait in queues, the request-level engine cuts further. The two engines
  agree where waits are short against the timeouts (``tests/engine/test_deadline_propagation.py``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..network import Network

MIN_TIMEOUT_S = 1e-3  # a budget used up by own work still leaves an attempt this long (a positive timeout)


def propagated_limits(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """Per-edge (timeout, retry deadline), float[R, E], with the callers' budgets propagated down.

    Budgets only shrink from pass to pass, so S + 1 passes settle any acyclic call graph; around a cycle
    the result after them is a bound, each turn of the cycle costing its own work.
    """
    timeout0, deadline0 = net.timeout, net.deadline
    caller, callee = net.edge_caller, net.edge_callee
    n_r, n_s = timeout0.shape[0], len(net.services)
    cut = (caller >= 0) & net.sync & net.propagate_deadline[np.maximum(caller, 0)]
    if not cut.any():
        return timeout0, deadline0
    own = _own_work(net)  # (R, S)
    into = np.flatnonzero(net.sync)
    budget = np.full((n_r, n_s), np.inf)
    for _ in range(n_s + 1):
        timeout = np.where(cut, np.minimum(timeout0, budget[:, np.maximum(caller, 0)]), timeout0)
        longest = np.full((n_r, n_s), -np.inf)
        np.maximum.at(longest, (np.arange(n_r)[:, None], callee[None, into]), timeout[:, into])
        new = np.where(np.isfinite(longest), np.maximum(longest - own, MIN_TIMEOUT_S), np.inf)
        if np.array_equal(new, budget):
            break
        budget = new
    inherited = budget[:, np.maximum(caller, 0)]
    timeout = np.where(cut, np.minimum(timeout0, inherited), timeout0)
    deadline = np.where(cut, np.minimum(deadline0, inherited), deadline0)
    return timeout, deadline


def with_propagated_deadlines(net: Network) -> Network:
    """The network the fluid engine runs: its timeouts and retry deadlines cut by propagation."""
    if not net.propagate_deadline.any():
        return net
    timeout, deadline = propagated_limits(net)
    return dataclasses.replace(net, timeout=timeout, deadline=deadline)


def _own_work(net: Network) -> np.ndarray:
    """Mean own work per service and replica, float[R, S] (the mean over its cells)."""
    n_s = len(net.services)
    total = np.zeros((net.service_time_mean.shape[0], n_s))
    np.add.at(total.T, net.cell_service, net.service_time_mean.T)
    return total / np.bincount(net.cell_service, minlength=n_s)[None, :]
