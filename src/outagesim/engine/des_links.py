"""Per-link policies of the request-level engine: retry budgets and circuit breakers, one attempt at a time.

The semantics are those of ``mechanisms/link_kernel.resolve`` (budgets) and ``mechanisms/breaker.py``
(breakers, the same decayed window); here they act on single attempts in continuous time.
"""

from __future__ import annotations

import math

from ..record import Event
from .mechanisms.breaker import CLOSED, EVENT, HALF_OPEN, OPEN
from .network import Network


class LinkPolicies:
    """The budget and breaker state of every link of replica r; ``events`` says when they acted."""

    def __init__(self, net: Network, r: int):
        self.replica = net.first_replica + r
        # retry budgets (token buckets)
        self.ratio = [float(x) for x in net.budget_ratio[net.link_edge]]
        self.cap = [float(x) for x in net.link_budget_cap()[r]]
        self.tokens = list(self.cap)
        self.out = [False] * len(self.tokens)
        # breakers: (threshold (0: none), window, min requests, open time, probes) per link
        self.br = [tuple(float(x) for x in row) for row in net.breaker[net.link_edge]]
        n_l = len(self.br)
        self.state = [CLOSED] * n_l
        self.n, self.f, self.t = [0.0] * n_l, [0.0] * n_l, [0.0] * n_l
        self.since, self.left = [0.0] * n_l, [0] * n_l
        self.probe_n, self.probe_f = [0] * n_l, [0] * n_l
        self.guarded = [b[0] > 0.0 for b in self.br]
        used = any(x > 0 for x in self.ratio) or any(self.guarded)
        self.names = net.link_names() if used else ()
        self.events: list[Event] = []

    def send(self, lk: int, first: bool, now: float) -> bool:
        """An attempt is about to go out on link lk: False if its breaker fails it at once.

        A first try that goes out adds to the link's retry budget.
        """
        if self.guarded[lk] and not self._admits(lk, now):
            return False
        if first and self.ratio[lk] > 0.0:
            self.tokens[lk] = min(self.cap[lk], self.tokens[lk] + self.ratio[lk])
            if self.out[lk] and self.tokens[lk] >= 0.5 * self.cap[lk]:
                self.out[lk] = False
                self._event(now, "retry_budget_refilled", lk)
        return True

    def retry_allowed(self, lk: int, now: float) -> bool:
        """Take a retry token from the link's budget if it has one (always true without a budget)."""
        if self.ratio[lk] <= 0.0:
            return True
        if self.tokens[lk] >= 1.0:
            self.tokens[lk] -= 1.0
            return True
        if not self.out[lk]:
            self.out[lk] = True
            self._event(now, "retry_budget_exhausted", lk)
        return False

    def outcome(self, lk: int, failed: bool, now: float) -> None:
        """Count an attempt's outcome in the link's window; trip, close or reopen its breaker."""
        if not self.guarded[lk]:
            return
        thr, window, min_req = self.br[lk][0], self.br[lk][1], self.br[lk][2]
        decay = math.exp(-(now - self.t[lk]) / window)
        self.t[lk] = now
        self.n[lk] = self.n[lk] * decay + 1.0
        self.f[lk] = self.f[lk] * decay + failed
        state = self.state[lk]
        if state == HALF_OPEN:
            self.probe_n[lk] += 1
            self.probe_f[lk] += failed
            if self.probe_n[lk] >= self.br[lk][4]:
                if self.probe_f[lk] < thr * self.probe_n[lk]:
                    self._move(lk, CLOSED, now)
                    self.n[lk] = self.f[lk] = 0.0
                else:
                    self._move(lk, OPEN, now)
        elif state == CLOSED and self.n[lk] >= min_req and self.f[lk] >= thr * self.n[lk]:
            self._move(lk, OPEN, now)

    def _admits(self, lk: int, now: float) -> bool:
        """Whether the link's breaker lets an attempt through (closed, or a half-open probe left)."""
        state = self.state[lk]
        if state == OPEN and now - self.since[lk] >= self.br[lk][3] - 1e-9:
            state = self._move(lk, HALF_OPEN, now)
            self.left[lk], self.probe_n[lk], self.probe_f[lk] = int(self.br[lk][4]), 0, 0
        if state == CLOSED:
            return True
        if state == HALF_OPEN and self.left[lk] > 0:
            self.left[lk] -= 1
            return True
        return False

    def _move(self, lk: int, state: int, now: float) -> int:
        self.state[lk] = state
        self.since[lk] = now
        self._event(now, EVENT[state], lk)
        return state

    def _event(self, now: float, kind: str, lk: int) -> None:
        self.events.append(Event(now, kind, self.names[lk], "", self.replica))
