"""Client-side policies on a call: timeout, retry with backoff and jitter within a deadline and a budget."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Spec
from .quantities import FixedSeconds, Number, Seconds


class Backoff(Spec):
    """Delay before attempt k+1: min(cap, base * multiplier**(k-1)), then jittered."""

    base: Seconds = 0.0
    multiplier: float = Field(default=2.0, ge=1.0)
    cap: Seconds = 3600.0


class RetryBudget(Spec):
    """Retries at most ``ratio`` of first tries: a token bucket (as Finagle's RetryBudget, gRPC's retry
    throttling). Each first try adds ``ratio`` tokens, up to ``burst`` per calling instance; each retry
    takes one; a failed attempt that finds no token is not retried."""

    ratio: float = Field(gt=0.0, le=10.0)
    burst: float = Field(default=10.0, ge=1.0)


class Retry(Spec):
    """How a caller retries a failed attempt (timeout, error or rejection).

    Attempts stop at ``max_attempts`` or when the next attempt would start after the request's total
    ``deadline`` (measured from the first attempt); so backoff changes how many attempts are made, not
    only when.
    """

    max_attempts: int = Field(default=1, ge=1, le=20)
    backoff: Backoff = Backoff()
    jitter: Literal["none", "full", "equal"] = "full"
    deadline: Seconds | None = None
    budget: RetryBudget | None = None


class CircuitBreaker(Spec):
    """Fail calls fast while the callee is failing: opens when at least ``error_threshold`` of the
    attempts of the last ``window`` failed (once ``min_requests`` attempts are in it), stays open for
    ``open_time``, then lets ``half_open_probes`` attempts through and closes if fewer than the
    threshold of them fail, else opens again."""

    error_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    window: FixedSeconds = Field(default=10.0, gt=0.0)
    min_requests: float = Field(default=20.0, ge=1.0)
    open_time: FixedSeconds = 30.0
    half_open_probes: int = Field(default=5, ge=1)


class Call(Spec):
    """A dependency of one service on another (the callee is the key under ``calls``)."""

    per_request: Number = 1.0
    mode: Literal["sync", "async"] = "sync"
    required: Literal["hard", "soft"] = "hard"
    parallel: bool = False
    timeout: Seconds | None = None
    retry: Retry = Retry()
    circuit_breaker: CircuitBreaker | None = None

    @model_validator(mode="after")
    def _sync_needs_timeout(self) -> Call:
        if self.mode == "sync" and self.timeout is None:
            raise ValueError("a sync call needs a 'timeout' (a caller that waits forever cannot fail over)")
        return self


class Cache(Spec):
    """A cache in front of a service's calls: a hit answers without making any of them.

    A share ``hit_ratio`` x warmth of requests hit. Restored instances come back cold (warmth 0 for
    their share), and a cache warms with time constant ``warmup`` while its misses' calls succeed.
    """

    hit_ratio: float = Field(ge=0.0, lt=1.0)
    warmup: FixedSeconds = Field(default=300.0, gt=0.0)


class QueuePolicy(Spec):
    """The waiting line in front of a service's workers."""

    limit: int | None = Field(default=None, ge=0, description="waiting requests per instance; none = unbounded")
    discipline: Literal["fifo", "lifo"] = "fifo"
    drop_expired: bool = False
    max_wait: FixedSeconds | None = Field(
        default=None, description="load shedding: reject an arrival whose expected wait (requests ahead x hold "
                                  "time / workers) exceeds this; none = no shedding")
