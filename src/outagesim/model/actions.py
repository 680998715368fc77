"""What an operator (or a scenario's script) does to the system: throttle, restart, add capacity.

The same action kinds serve two timelines: a scenario's ``actions`` run at a fixed time (``at``); an
operator's ``actions`` run ``after`` a delay from the operator's decision, which follows a monitor's alarm.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import Spec
from .quantities import Number, Seconds

TimeSpec = str | int | float


class _Action(Spec):
    target: str = Field(description="throttle: a service or 'tenant:NAME'; restart, add_capacity: a service or cell")
    at: TimeSpec | None = Field(default=None, description="scenario actions: when (offset, duration or UTC)")
    after: Seconds = Field(default=0.0, description="operator actions: delay from the operator's decision")
    duration: Seconds | None = Field(default=None, description="how long it lasts; none = to the end of the run")


class Throttle(_Action):
    """Admit only a share of the requests to a service or from a tenant; the rest are rejected at once,
    at no cost to the service (as a rate limit at the front door)."""

    kind: Literal["throttle"]
    admit: Number = Field(description="share of requests admitted, 0..1")


class Restart(_Action):
    """Take a service (or one cell) down and bring it back: queues and caches are lost, and it serves
    again after its startup time (which grows with its state size)."""

    kind: Literal["restart"]


class AddCapacity(_Action):
    """Add instances: ``fraction`` of the nominal count, serving after ``launch_time``."""

    kind: Literal["add_capacity"]
    fraction: Number = Field(description="share of the nominal instances added")
    launch_time: Seconds = 0.0


Action = Annotated[Throttle | Restart | AddCapacity, Field(discriminator="kind")]
