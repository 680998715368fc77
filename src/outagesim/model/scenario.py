"""What happens to the system: the anchor time, faults on a timeline, and variants as merge patches."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from .actions import Action
from .base import Spec
from .quantities import FixedSeconds, Number, Seconds, parse_utc

# A time on the scenario's timeline: '+HH:MM[:SS]', a duration like '10m', or an ISO UTC time with 'Z'.
# Kept as written; resolved against the anchor when the scenario is compiled.
TimeSpec = str | int | float


class _Fault(Spec):
    target: str = Field(description="a qualified name: zone, region, service or cell")
    at: TimeSpec
    duration: Seconds | None = Field(default=None, description="none = until the end of the run")


class ZoneDown(_Fault):
    kind: Literal["zone_down"]


class RegionDown(_Fault):
    kind: Literal["region_down"]


class ServiceDown(_Fault):
    kind: Literal["service_down"]


class CapacityLoss(_Fault):
    kind: Literal["capacity_loss"]
    fraction: Number = Field(description="share of the target's instances lost, 0..1")


class CapacityRemoval(_Fault):
    """Capacity removed on purpose, by an operator or automation through the capacity tool: the target
    services' ``capacity_safeguards`` cut the request and pace it."""

    kind: Literal["capacity_removal"]
    fraction: Number = Field(description="share of the target's instances the tool is asked to remove, 0..1")


class LatencyInjection(_Fault):
    kind: Literal["latency"]
    added: Seconds = Field(description="extra own work per request while the fault lasts")


class ErrorInjection(_Fault):
    kind: Literal["errors"]
    fraction: Number = Field(description="share of the target's responses that are errors, 0..1")


class DnsRecordEmptied(_Fault):
    """The automation that writes a DNS record leaves it empty (target: ``dns:RECORD``) until ``duration``
    ends (the record is restored)."""

    kind: Literal["dns_record_emptied"]


class BadArtifact(_Fault):
    """A bad software or configuration artifact is published (target: ``fleet:NAME`` or ``vendor:NAME``,
    every fleet running that vendor's agent) and stays live for ``duration``; it reaches hosts through
    each fleet's rollout, and crashes ``crash_share`` of those that receive it."""

    kind: Literal["bad_artifact"]
    crash_share: Number = 1.0


class DemandSurge(_Fault):
    """A tenant's demand multiplied by ``factor`` (target: ``tenant:NAME``): a traffic spike, or internal
    clients that automation sets off at once (the connection surge of Dec 2021)."""

    kind: Literal["demand_surge"]
    factor: Number = Field(description="demand multiplier while the fault lasts, >= 0")


Fault = Annotated[
    ZoneDown | RegionDown | ServiceDown | CapacityLoss | CapacityRemoval | LatencyInjection | ErrorInjection
    | DnsRecordEmptied | BadArtifact | DemandSurge,
    Field(discriminator="kind"),
]


class Variant(Spec):
    """An alternative world: RFC 7396 merge patches on the model and the scenario."""

    description: str = ""
    model_patch: dict[str, Any] = Field(default_factory=dict)
    scenario_patch: dict[str, Any] = Field(default_factory=dict)


class Scenario(Spec):
    anchor: Annotated[datetime, BeforeValidator(parse_utc)]
    duration: FixedSeconds
    dt: FixedSeconds | None = Field(default=None, description="step; default: shortest timeout / 5")
    max_dt: FixedSeconds | None = None
    control_every: FixedSeconds | None = Field(default=None,
                                               description="how often controllers observe; default: every bin")
    record_every: FixedSeconds = 10.0
    faults: dict[str, Fault] = Field(default_factory=dict)
    actions: dict[str, Action] = Field(default_factory=dict, description="scripted actions, each at its 'at'")
    variants: dict[str, Variant] = Field(default_factory=dict)
    description: str = ""
