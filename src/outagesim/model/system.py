"""The whole model: providers, services and tenants, as one frozen object."""

from __future__ import annotations

from pydantic import Field

from .base import Spec
from .controllers import Controllers
from .fleets import Fleet, Vendor
from .topology import Provider, Service
from .workload import Tenant


class Model(Spec):
    """A cloud system: where things live, what runs there and who depends on it."""

    description: str = ""
    providers: dict[str, Provider] = Field(min_length=1)
    services: dict[str, Service] = Field(min_length=1)
    tenants: dict[str, Tenant] = Field(default_factory=dict)
    fleets: dict[str, Fleet] = Field(default_factory=dict)
    vendors: dict[str, Vendor] = Field(default_factory=dict)
    controllers: Controllers = Controllers()
