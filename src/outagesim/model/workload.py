"""Who uses the system and what their failures cost: tenants, demand curves, client behaviour."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .base import Spec
from .policies import Retry
from .quantities import FixedSeconds, Number, Seconds


class Noise(Spec):
    """Demand noise: an Ornstein-Uhlenbeck process on log-rate (sigma, correlation time)."""

    sigma: float = Field(default=0.0, ge=0.0, le=2.0)
    correlation_time: FixedSeconds = 600.0


class Demand(Spec):
    """Requests per second at peak, shaped by hour of day (UTC) and noise."""

    peak_rps: Number
    daily_shape: list[float] | None = Field(
        default=None, description="24 hourly factors (UTC), scaled so the largest is 1; none = flat"
    )
    noise: Noise = Noise()

    @field_validator("daily_shape")
    @classmethod
    def _shape(cls, v: list[float] | None) -> list[float] | None:
        if v is None:
            return v
        if len(v) != 24:
            raise ValueError(f"24 hourly factors, found {len(v)}")
        if min(v) < 0 or max(v) <= 0:
            raise ValueError("non-negative factors with at least one above zero")
        return v


class Client(Spec):
    """How the tenant's users (apps, browsers, SDKs) call the entry service."""

    timeout: Seconds = 10.0
    retry: Retry = Retry()


class Value(Spec):
    """Money lost: per failed request, and per minute the tenant is down (reported separately)."""

    per_failed_request: float = Field(default=0.0, ge=0.0)
    per_minute_down: float = Field(default=0.0, ge=0.0)


class Failover(Spec):
    """How a tenant's traffic leaves a failing region. ``active-passive``: once the share of its requests
    that fail has stayed at or above ``threshold`` for ``detect``, all of it moves to the ``standby``
    entries (and stays: failing back is a human decision). ``active-active``: traffic is spread over the
    ``entry`` services by share and by how well each answers, re-weighted with time constant ``detect``."""

    mode: Literal["active-passive", "active-active"]
    standby: dict[str, float] = Field(default_factory=dict, description="active-passive: entry service -> share")
    detect: Seconds = 300.0
    threshold: float = Field(default=0.5, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _standby(self) -> Failover:
        if self.mode == "active-passive" and not self.standby:
            raise ValueError("active-passive failover needs 'standby' entry services")
        return self


class Tenant(Spec):
    """A business whose users send requests to one or more entry services."""

    entry: dict[str, float] = Field(min_length=1, description="entry service -> share of demand")
    demand: Demand
    client: Client = Client()
    users_per_rps: float = Field(default=1.0, gt=0.0)
    value: Value = Value()
    failover: Failover | None = Field(default=None, description="none: single region, no failover")

    @field_validator("entry", mode="before")
    @classmethod
    def _one_entry(cls, v: object) -> object:
        return {v: 1.0} if isinstance(v, str) else v
