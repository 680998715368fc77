"""Seeded random models for checking static analyses against the engine.

:func:`random_model` builds a small cloud (one or two providers, two or three regions, two or three zones
each), 5-15 services placed in one zone, a region or two regions, random calls from each service to later
ones only (so no cycles: sync or async, hard or soft, 0.2-1.5 per request, 5 s timeouts), and two to four
tenants entering at the first services. Worker pools are sized so every cell runs at a base utilisation
drawn per service in [0.3, 0.9] at peak, from the static steady state (hold times without queueing).
Retries are off everywhere unless ``attempts`` says otherwise, tenant clients included.
"""

from __future__ import annotations

import random
from typing import Any

from outagesim.analysis.flow import Flow
from outagesim.analysis.flow_net import flow_net
from outagesim.model import Model, Scenario

ANCHOR = "2026-01-05T12:00:00Z"


def _retry(attempts: int) -> dict[str, Any]:
    return {"max_attempts": attempts, "backoff": {"base": "100ms", "multiplier": 2.0}, "jitter": "full"}


def random_model(seed: int, *, attempts: int = 1, client_attempts: int = 1,
                 utilisation: tuple[float, float] = (0.3, 0.9)) -> Model:
    """A random small model (see the module docstring); the same seed gives the same model."""
    rng = random.Random(seed)
    providers: dict[str, Any] = {"p1": {"regions": {}}}
    region_zones: dict[str, list[str]] = {}
    n_regions = rng.choice([2, 3])
    for r in range(n_regions):
        prov = "p1" if r < 2 else "p2"
        providers.setdefault(prov, {"regions": {}})
        zones = [f"z{r}{k}" for k in range(rng.choice([2, 3]))]
        providers[prov]["regions"][f"r{r}"] = {"zones": {z: {} for z in zones}}
        region_zones[f"r{r}"] = zones
    regions = list(region_zones)
    n = rng.randint(5, 15)
    names = [f"s{i}" for i in range(n)]
    services: dict[str, Any] = {}
    for i, s in enumerate(names):
        pattern = rng.random()
        home = rng.choice(regions)
        if pattern < 0.2:
            zones = [rng.choice(region_zones[home])]
        elif pattern < 0.6:
            zones = list(region_zones[home])
        elif pattern < 0.8:
            zones = rng.sample(region_zones[home], 2)
        else:
            other = rng.choice([r for r in regions if r != home])
            zones = region_zones[home] + region_zones[other]
        calls = {}
        p_call = min(0.4, 2.5 / n)
        for j in range(i + 1, n):
            if rng.random() < p_call:
                mode = "async" if rng.random() < 0.15 else "sync"
                calls[names[j]] = {
                    "per_request": round(rng.uniform(0.2, 1.5), 3), "mode": mode,
                    "required": "soft" if rng.random() < 0.2 else "hard", "timeout": "5s",
                    "retry": _retry(attempts)}
        services[s] = {"instances": {z: 1.0e6 for z in zones}, "concurrency": rng.choice([8, 16]),
                       "service_time": {"mean": f"{rng.uniform(50, 300):.0f}ms", "cv": 1.0}, "calls": calls}
    tenants: dict[str, Any] = {}
    roots = names[: max(2, n // 3)]
    for t in range(rng.randint(2, 4)):
        entries = rng.sample(roots, rng.choice([1, 1, 2]))
        entry = entries[0] if len(entries) == 1 else {e: round(rng.uniform(0.2, 1.0), 3) for e in entries}
        tenants[f"t{t}"] = {"entry": entry, "demand": {"peak_rps": round(rng.uniform(20, 200), 1)},
                            "client": {"timeout": "10s", "retry": _retry(client_attempts)},
                            "users_per_rps": rng.choice([1, 10, 50])}
    data = {"providers": providers, "services": services, "tenants": tenants}
    _size(data, rng, utilisation)
    return Model.model_validate(data)


def _size(data: dict, rng: random.Random, utilisation: tuple[float, float]) -> None:
    """Instances per zone so each cell's static utilisation (λ x hold / workers) is the drawn target,
    at least one instance per zone (so a lightly used cell runs below it)."""
    flow = Flow(flow_net(Model.model_validate(data)), queueing=False)
    net = flow.net
    for s_i, svc in enumerate(data["services"].values()):
        rho = rng.uniform(*utilisation)
        for z, c in zip(svc["instances"], range(net.svc_start[s_i], net.svc_start[s_i + 1]), strict=True):
            need = flow.lam[c] * flow.hold[c] / (svc["concurrency"] * rho)
            svc["instances"][z] = round(max(need, 1.0), 4)


def failure_scenario(kind: str, target: str, *, duration: str = "6m") -> Scenario:
    """Lose ``target`` from the start to the end of a ``duration`` run, flat demand at peak."""
    return Scenario.model_validate({
        "anchor": ANCHOR, "duration": duration, "record_every": "10s", "max_dt": "10s",
        "faults": {"loss": {"kind": kind, "target": target, "at": "0s"}}})
