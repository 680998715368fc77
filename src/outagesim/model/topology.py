"""Where things live (providers, regions, zones) and what runs there (services and their calls)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Spec
from .policies import Cache, Call, QueuePolicy
from .quantities import Number, Seconds


class Zone(Spec):
    """A failure domain inside a region; it fails as a unit."""

    description: str = ""


class Region(Spec):
    zones: dict[str, Zone] = Field(min_length=1)


class Provider(Spec):
    regions: dict[str, Region] = Field(min_length=1)


class ServiceTime(Spec):
    """A worker's own work per request, excluding the time it waits on sync calls."""

    mean: Seconds
    cv: Number = 1.0


ServiceKind = Literal[
    "compute", "storage", "database", "dns", "network", "control-plane", "monitoring", "endpoint-agent"
]


class CapacitySafeguards(Spec):
    """Limits the capacity tool honours when it removes this service's instances."""

    min_share: float = Field(default=0.0, ge=0.0, le=1.0,
                             description="never take the service below this share of its instances")
    max_removal_per_minute: float | None = Field(default=None, gt=0.0,
                                                 description="share of its instances removed per minute at most")


class Service(Spec):
    """A pool of identical instances per zone; each instance has ``concurrency`` workers."""

    kind: ServiceKind = "compute"
    instances: dict[str, Number] = Field(min_length=1, description="instances per zone (zone name -> count)")
    concurrency: Number = 1.0
    service_time: ServiceTime
    queue: QueuePolicy = QueuePolicy()
    startup_time: Seconds = Field(default=0.0, description="before restored instances serve (plus state_size x "
                                                          "startup_per_state)")
    state_size: Number = Field(default=0.0, description="state a restart must load (any unit, e.g. TB of index)")
    startup_per_state: Seconds = Field(default=0.0, description="extra startup time per unit of state_size")
    runs_on: str | None = Field(default=None, description="a fleet: its crashed hosts take this service's capacity")
    calls: dict[str, Call] = Field(default_factory=dict, description="callee service name -> call")
    propagate_deadline: bool = Field(default=False, description="its sync calls inherit what is left of the "
                                                                "caller's timeout (gRPC-style deadline propagation)")
    cache: Cache | None = None
    capacity_safeguards: CapacitySafeguards | None = None
