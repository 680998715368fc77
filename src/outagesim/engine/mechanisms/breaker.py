"""Circuit breakers per link (a calling cell and the service it calls), as arrays over links × replicas.

A breaker counts its link's attempt outcomes over a sliding window, here an exponentially decayed
count with time constant ``window`` (the same in both engines). Closed, it opens when the window holds
at least ``min_requests`` outcomes and at least ``error_threshold`` of them failed. Open, it fails every
call at once, without retry and without load on the callee, for ``open_time``. Then it is half-open:
it lets ``half_open_probes`` attempts through and fails the rest; once they are all answered, it closes
if fewer than the threshold of them failed (starting a fresh window), or opens again. The fluid engine
also decides one call timeout after the last probe left on the answers it has (none: open again): a
flow shared with other links can credit a probe's answer to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLOSED, OPEN, HALF_OPEN = 0, 1, 2
EVENT = {OPEN: "breaker_open", HALF_OPEN: "breaker_half_open", CLOSED: "breaker_closed"}


@dataclass
class BreakerParams:
    """Per link: threshold (0: no breaker), window, min_requests, open_time, probes; each float[L, 1]."""

    threshold: np.ndarray
    window: np.ndarray
    min_requests: np.ndarray
    open_time: np.ndarray
    probes: np.ndarray

    @classmethod
    def of_links(cls, per_edge: np.ndarray, link_edge: np.ndarray) -> BreakerParams:
        p = per_edge[link_edge]
        return cls(*(np.ascontiguousarray(p[:, i : i + 1]) for i in range(5)))

    @property
    def on(self) -> np.ndarray:
        return self.threshold[:, 0] > 0.0


class Breakers:
    """The breaker state of every link and replica; links without a breaker stay closed."""

    def __init__(self, params: BreakerParams, replicas: int, probe_wait: np.ndarray):
        self.p = params
        self.probe_wait = probe_wait  # (L, R) s: how long a probe's answer can take (the call timeout)
        shape = (len(params.threshold), replicas)
        self.state = np.zeros(shape, np.int8)
        self.n = np.zeros(shape)  # decayed count of outcomes in the window
        self.f = np.zeros(shape)  # ... of failed outcomes
        self.since = np.zeros(shape)  # when the current state began
        self.probes_left = np.zeros(shape)
        self.probe_n = np.zeros(shape)
        self.probe_f = np.zeros(shape)
        self.probes_sent_at = np.full(shape, np.inf)  # when a half-open link sent its last probe

    def admit(self, rows: np.ndarray, attempts: np.ndarray, active: np.ndarray, t: float) -> np.ndarray:
        """Share of ``attempts`` (float[len(rows), R], this update's) links ``rows`` let through.

        Half-open links use up their probes.
        """
        state = self.state[rows]
        share = np.where(state == OPEN, 0.0, 1.0)
        half = (state == HALF_OPEN) & active[None, :]
        if half.any():
            left = self.probes_left[rows]
            let = np.minimum(left, attempts)
            share = np.where(half, np.where(attempts > 0, let / np.maximum(attempts, 1e-300), 1.0), share)
            self.probes_left[rows] = np.where(half, left - let, left)
            done = half & (left > 0.0) & (left - let <= 1e-9)
            self.probes_sent_at[rows] = np.where(done, t, self.probes_sent_at[rows])
        return np.where(active[None, :], share, 1.0)

    def observe(self, t: float, h: np.ndarray, done: np.ndarray, failed: np.ndarray) -> list[tuple[int, int, int]]:
        """Add one update's outcomes (length ``h`` per replica, 0 where it sat out) and move the states.

        Returns the transitions as (new state, link, replica).
        """
        p, active = self.p, h > 0
        decay = np.exp(-h[None, :] / p.window)
        self.n = np.where(active, self.n * decay + done, self.n)
        self.f = np.where(active, self.f * decay + failed, self.f)
        half = self.state == HALF_OPEN
        self.probe_n = np.where(half & active, self.probe_n + done, self.probe_n)
        self.probe_f = np.where(half & active, self.probe_f + failed, self.probe_f)
        on = (p.threshold > 0.0) & active[None, :]
        trip = on & (self.state == CLOSED) & (self.n >= p.min_requests) & (self.f >= p.threshold * self.n)
        probe = on & (self.state == OPEN) & (t - self.since >= p.open_time - 1e-9)
        waited = t - self.probes_sent_at >= self.probe_wait
        answered = on & half & ((self.probe_n >= p.probes * (1 - 1e-6)) | waited)
        close = answered & (self.probe_n > 0.0) & (self.probe_f < p.threshold * self.probe_n)
        reopen = answered & ~close
        out = []
        for mask, new in ((trip | reopen, OPEN), (probe, HALF_OPEN), (close, CLOSED)):
            if mask.any():
                self.state[mask] = new
                self.since[mask] = t
                out.extend((new, int(lk), int(r)) for lk, r in zip(*np.nonzero(mask), strict=True))
        if probe.any():
            self.probes_left = np.where(probe, p.probes, self.probes_left)
            self.probe_n = np.where(probe, 0.0, self.probe_n)
            self.probe_f = np.where(probe, 0.0, self.probe_f)
            self.probes_sent_at = np.where(probe, np.inf, self.probes_sent_at)
        if close.any():  # a fresh window
            self.n = np.where(close, 0.0, self.n)
            self.f = np.where(close, 0.0, self.f)
        return out

    def closed(self) -> np.ndarray:
        """Per replica: every breaker closed (bool[R])."""
        return np.all(self.state == CLOSED, axis=0)
