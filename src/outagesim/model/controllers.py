"""Controllers: what watches the system and acts on it while a run goes (DESIGN.md "controllers").

Monitors raise alarms, operators act on them, health checkers take targets out of service, DNS records
point callers at a service. They observe only what their own dependencies let them see.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .actions import Action
from .base import Spec
from .quantities import FixedSeconds, Seconds


class Monitor(Spec):
    """Alarms when what it watches fails (share of failed requests at or above ``threshold`` for
    ``sustain``). An internal monitor reads the service's own metrics through ``depends_on`` and is blind
    while any of them fails; an external probe samples every ``interval`` from outside."""

    watches: str = Field(description="a service, or 'tenant:NAME'")
    kind: Literal["internal", "external"] = "internal"
    depends_on: list[str] = Field(default_factory=list, description="services its data passes through")
    threshold: float = Field(default=0.05, gt=0.0, le=1.0, description="failed share that counts as failing")
    sustain: FixedSeconds = Field(default=60.0, ge=0.0, description="failing this long before it alarms")
    interval: FixedSeconds = Field(default=60.0, gt=0.0, description="external probes: time between probes")


class Operator(Spec):
    """People or automation who act once one of their monitors alarms, after a decision delay."""

    alerted_by: list[str] = Field(min_length=1, description="monitor names")
    decision_delay: Seconds = 900.0
    actions: dict[str, Action] = Field(default_factory=dict, description="run 'after' their delay from the decision")


class HealthCheck(Spec):
    """A load balancer's health checker: probes each target of a service every ``interval`` and takes it
    out of service after ``unhealthy_after`` failed probes (back after ``healthy_after`` good ones). A probe
    also fails when a service on its ``probe_path`` fails. ``fail_open``: if more than this share of the
    targets look unhealthy, keep them all. ``max_removal_per_minute``: velocity control."""

    target: str = Field(description="the service whose instances it can take out")
    probe_path: list[str] = Field(default_factory=list, description="other services a probe depends on")
    deep: bool = Field(default=True, description="a target failing its traffic (e.g. its dependencies) fails "
                                                 "its probe too; false: only the probe path and being down count")
    interval: FixedSeconds = Field(default=10.0, gt=0.0)
    unhealthy_after: int = Field(default=3, ge=1)
    healthy_after: int = Field(default=3, ge=1)
    fail_open: float | None = Field(default=None, gt=0.0, le=1.0)
    max_removal_per_minute: float | None = Field(default=None, gt=0.0, description="share of targets")


class DnsRecord(Spec):
    """The name callers resolve to reach ``service``. Emptied (a fault), callers fail as their cached
    answers expire (``ttl``); restored, those that cached the empty answer wait out ``negative_ttl``."""

    service: str
    ttl: FixedSeconds = Field(default=60.0, gt=0.0)
    negative_ttl: FixedSeconds | None = Field(default=None, gt=0.0, description="none = ttl")


class Autoscaler(Spec):
    """Holds a service near a target utilisation by launching instances through a control plane."""

    target: str = Field(description="the service it scales")
    utilisation: float = Field(default=0.6, gt=0.0, le=1.0, description="busy share it aims for")
    min: float = Field(default=1.0, ge=0.0, description="fewest instances, as a share of the nominal count")
    max: float = Field(default=2.0, gt=0.0, description="most instances, as a share of the nominal count")
    interval: FixedSeconds = Field(default=60.0, gt=0.0)
    launch_time: Seconds = 180.0
    control_plane: str | None = Field(default=None, description="a service launches need; none while it fails")
    max_launch_per_minute: float | None = Field(default=None, gt=0.0, description="API throttling: share of "
                                                                                  "nominal launched per minute")


class Controllers(Spec):
    monitors: dict[str, Monitor] = Field(default_factory=dict)
    operators: dict[str, Operator] = Field(default_factory=dict)
    health_checks: dict[str, HealthCheck] = Field(default_factory=dict)
    dns_records: dict[str, DnsRecord] = Field(default_factory=dict)
    autoscalers: dict[str, Autoscaler] = Field(default_factory=dict)

    def empty(self) -> bool:
        return not (self.monitors or self.operators or self.health_checks or self.dns_records or self.autoscalers)
