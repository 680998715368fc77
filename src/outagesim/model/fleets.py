"""Fleets of hosts as compartment counts, and the vendors whose agents run on them (DESIGN.md "fleets").

A bad artifact (a fault) reaches the online hosts of a fleet through its rollout: all at once, or in
waves with bake time and automatic rollback. Hosts it crashes boot-loop until a reboot fetches the fix or
staff repair them by hand (slower for encrypted disks). Services that ``runs_on`` the fleet lose capacity
with its crashed hosts.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from .base import Spec
from .quantities import FixedSeconds, Number, Seconds


class Rollout(Spec):
    """How an artifact reaches the fleet: cumulative shares per wave, each wave ``bake`` after the last;
    with ``rollback_at``, the rollout stops (and the artifact is withdrawn) once that share of the hosts
    that received it has crashed, ``rollback_delay`` after it was seen."""

    waves: list[float] = Field(default_factory=lambda: [1.0], description="cumulative share per wave")
    bake: FixedSeconds = Field(default=0.0, ge=0.0)
    rollback_at: float | None = Field(default=None, gt=0.0, le=1.0)
    rollback_delay: FixedSeconds = Field(default=300.0, ge=0.0)

    @field_validator("waves")
    @classmethod
    def _waves(cls, v: list[float]) -> list[float]:
        if not v or any(b < a for a, b in zip(v, v[1:], strict=False)) or v[0] <= 0 or v[-1] != 1.0:
            raise ValueError(f"non-decreasing cumulative shares above 0 ending at 1.0, found {v}")
        return v


class Repair(Spec):
    """Manual remediation: staff fix ``hosts_per_hour`` plain hosts per hour once they start
    (``starts_after`` the artifact is withdrawn); an encrypted disk takes ``encrypted_slowdown`` times as long."""

    hosts_per_hour: Number = Field(default=0.0, description="0 = nobody repairs by hand")
    starts_after: Seconds = 3600.0
    encrypted_slowdown: float = Field(default=3.0, ge=1.0)


class Fleet(Spec):
    """A population of hosts (servers, laptops, point-of-sale terminals)."""

    hosts: Number
    os: str = ""
    agents: list[str] = Field(default_factory=list, description="vendors whose agent runs on every host")
    online_share: list[float] | float = Field(default=1.0, description="share online, or 24 hourly shares (UTC)")
    encrypted_share: float = Field(default=0.0, ge=0.0, le=1.0)
    reboot_interval: FixedSeconds = Field(default=300.0, gt=0.0, description="a boot-looping host reboots this often")
    fix_per_reboot: float = Field(default=0.0, ge=0.0, le=1.0,
                                  description="chance a reboot fetches the fix first (once it is out)")
    rollout: Rollout = Rollout()
    repair: Repair = Repair()

    @field_validator("online_share")
    @classmethod
    def _online(cls, v: list[float] | float) -> list[float] | float:
        vals = v if isinstance(v, list) else [v]
        if isinstance(v, list) and len(v) != 24:
            raise ValueError(f"one share or 24 hourly shares, found {len(v)}")
        if any(not 0.0 <= x <= 1.0 for x in vals):
            raise ValueError("shares from 0 to 1")
        return v


class Vendor(Spec):
    """A third party whose software many tenants share (an endpoint-security agent, a SaaS)."""

    description: str = ""
