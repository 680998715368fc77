"""The validated model: frozen pydantic objects, no arrays, no I/O beyond loading YAML."""

from .policies import Backoff, Cache, Call, CircuitBreaker, QueuePolicy, Retry, RetryBudget
from .scenario import Fault, Scenario, Variant
from .system import Model
from .topology import Provider, Region, Service, ServiceTime, Zone
from .workload import Client, Demand, Noise, Tenant, Value

__all__ = [
    "Backoff", "Cache", "Call", "CircuitBreaker", "Client", "Demand", "Fault", "Model", "Noise", "Provider",
    "QueuePolicy", "Region", "Retry", "RetryBudget", "Scenario", "Service", "ServiceTime", "Tenant", "Value",
    "Variant", "Zone",
]
