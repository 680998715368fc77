"""Small test networks built the loader-free way: dicts -> ``Model``/``Scenario`` -> ``compile_network``.

The dict builders (``service``, ``call``, ``tenant``, ``model``, ``scenario``, ``fault``) return plain
dicts so a test can tweak any key before ``build``; the canned systems (``mmc``, ``chain``,
``two_zones``) return model dicts. Durations are given in seconds and written in the model's time grammar.
"""

from __future__ import annotations

import math
from typing import Any

from outagesim.engine.compile import compile_network
from outagesim.engine.network import Network
from outagesim.model import Model, Scenario

ANCHOR = "2024-01-01T00:00:00Z"
PROVIDER, REGION = "cloud", "region-1"


def seconds(x: float) -> str:
    """A duration string for x seconds (the time grammar has no exponents)."""
    if math.isinf(x):
        return "100000d"
    text = f"{x:.9f}".rstrip("0").rstrip(".")
    return f"{text or '0'}s"


def cell(service: str, zone: str = "z1") -> str:
    """The compiled cell name of a service in a zone."""
    return f"{service}@{PROVIDER}/{REGION}/{zone}"


def retry(attempts: int = 1, *, base_s: float = 0.0, multiplier: float = 2.0, cap_s: float | None = None,
          jitter: str = "none", deadline_s: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"max_attempts": attempts, "jitter": jitter,
                           "backoff": {"base": seconds(base_s), "multiplier": multiplier}}
    if cap_s is not None:
        out["backoff"]["cap"] = seconds(cap_s)
    if deadline_s is not None:
        out["deadline"] = seconds(deadline_s)
    return out


def call(timeout_s: float | None = 1.0, *, per_request: float = 1.0, mode: str = "sync",
         required: str = "hard", parallel: bool = False, **retry_kw: Any) -> dict[str, Any]:
    """A call; ``retry_kw`` are the arguments of :func:`retry` (attempts, base_s, jitter, deadline_s ...)."""
    out: dict[str, Any] = {"per_request": per_request, "mode": mode, "required": required,
                           "parallel": parallel, "retry": retry(**retry_kw)}
    if timeout_s is not None:
        out["timeout"] = seconds(timeout_s)
    return out


def service(instances: int | dict[str, float], *, mean_s: float, cv: float = 1.0, concurrency: float = 1,
            calls: dict[str, dict] | None = None, queue: dict[str, Any] | None = None, startup_s: float = 0.0,
            zones: tuple[str, ...] = ("z1",)) -> dict[str, Any]:
    """A service with ``instances`` per zone (an int means that many in each of ``zones``)."""
    inst = instances if isinstance(instances, dict) else {z: instances for z in zones}
    return {"instances": inst, "concurrency": concurrency,
            "service_time": {"mean": seconds(mean_s), "cv": cv}, "queue": queue or {},
            "startup_time": seconds(startup_s), "calls": calls or {}}


def tenant(entry: str | dict[str, float], rps: float, *, timeout_s: float = 10.0,
           **retry_kw: Any) -> dict[str, Any]:
    """A tenant with flat demand ``rps`` and a client with the given timeout and retry."""
    return {"entry": entry, "demand": {"peak_rps": rps},
            "client": {"timeout": seconds(timeout_s), "retry": retry(**retry_kw)}}


def model(services: dict[str, dict], tenants: dict[str, dict], *, zones: tuple[str, ...] = ("z1",)) -> dict:
    return {"providers": {PROVIDER: {"regions": {REGION: {"zones": {z: {} for z in zones}}}}},
            "services": services, "tenants": tenants}


def fault(kind: str, target: str, at_s: float, duration_s: float | None = None, **extra: Any) -> dict:
    """A fault; ``extra`` holds kind-specific keys (fraction=0.5, added_s=0.2 for latency)."""
    out: dict[str, Any] = {"kind": kind, "target": target, "at": seconds(at_s)}
    if duration_s is not None:
        out["duration"] = seconds(duration_s)
    if "added_s" in extra:
        extra["added"] = seconds(extra.pop("added_s"))
    return out | extra


def scenario(duration_s: float, *, record_every_s: float = 10.0, faults: dict[str, dict] | None = None,
             dt_s: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"anchor": ANCHOR, "duration": seconds(duration_s),
                           "record_every": seconds(record_every_s), "faults": faults or {}}
    if dt_s is not None:
        out["dt"] = seconds(dt_s)
    return out


def build(model_dict: dict, scenario_dict: dict, *, replicas: int = 1, seed: int = 0) -> Network:
    """Validate the dicts and compile them into a Network."""
    return compile_network(Model.model_validate(model_dict), Scenario.model_validate(scenario_dict),
                           replicas=replicas, seed=seed)


# ---------------------------------------------------------------------- canned systems
def mmc(c: int, rho: float, *, mean_s: float = 1e-3, timeout_s: float = math.inf,
        queue: dict[str, Any] | None = None) -> dict:
    """One M/M/c station ``station`` fed by tenant ``users`` at rate rho * c / mean_s, one attempt."""
    return model({"station": service(c, mean_s=mean_s, queue=queue)},
                 {"users": tenant("station", rho * c / mean_s, timeout_s=timeout_s)})


def chain_workers(n: int, rps: float, mean_s: float, utilisation: float) -> list[int]:
    """Workers per station for a target utilisation, counting hold time (own work of it and all below)."""
    return [max(1, math.ceil(rps * mean_s * (n - i) / utilisation)) for i in range(n)]


def chain(n: int = 5, *, rps: float = 1000.0, mean_s: float = 2e-3, utilisation: float = 0.7,
          workers: list[int] | None = None, call_timeout_s: float = 1.0, client_timeout_s: float = 2.0,
          client_retry: dict[str, Any] | None = None, call_retry: dict[str, Any] | None = None,
          queue: dict[str, Any] | None = None) -> dict:
    """Services s0..s{n-1}, each making one sync hard call to the next; tenant ``users`` enters at s0."""
    workers = workers or chain_workers(n, rps, mean_s, utilisation)
    services = {}
    for i in range(n):
        calls = {f"s{i + 1}": call(call_timeout_s, **(call_retry or {}))} if i < n - 1 else {}
        services[f"s{i}"] = service(workers[i], mean_s=mean_s, calls=calls, queue=queue)
    return model(services, {"users": tenant("s0", rps, timeout_s=client_timeout_s, **(client_retry or {}))})


def two_zones(*, rps: float = 200.0, front_workers: int = 8, back_workers: int = 8, mean_s: float = 5e-3,
              call_timeout_s: float = 0.5, client_timeout_s: float = 2.0) -> dict:
    """``front`` and ``back`` in zones z1 and z2 (workers per zone); front calls back, zone-local first."""
    zones = ("z1", "z2")
    return model(
        {"front": service(front_workers, mean_s=mean_s, zones=zones, calls={"back": call(call_timeout_s)}),
         "back": service(back_workers, mean_s=mean_s, zones=zones)},
        {"users": tenant("front", rps, timeout_s=client_timeout_s)},
        zones=zones,
    )
