"""Model generators for the engine benchmark (bench/engine_speed.py).

Each generator returns ``(model_dict, scenario_dict)``, plain dicts for ``Model.model_validate`` and
``Scenario.model_validate``, built from a seeded ``random.Random`` so the same arguments always give the
same system. Worker pools are sized from a hand computation that ignores queueing waits (as in
examples/shop/model.yaml): rate of calls into a service = sum over callers of rate x per_request; hold time
= own service time + sum of per_request x callee hold over its sync calls; workers per zone =
ceil(rate per zone x hold / target utilisation).

- :func:`cloud_case`: about 20 services in a layered call graph over 3 zones of one region, two tenants,
  5000 req/s at entry, 1 s call timeouts, 3 attempts, utilisation 0.4-0.7 at base, a zone loss.
- :func:`sparse_case`: a large (1000-service) sparse random layered call graph in one zone, ~1.5 calls per
  service, timeouts drawn in a range (5-30 s by default), for the step-rate measurement.
"""

from __future__ import annotations

import math
import random
from typing import Any

ANCHOR = "2024-01-01T00:00:00Z"
PROVIDER, REGION = "cloud", "region-1"


def seconds(x: float) -> str:
    """A duration string for x seconds (the time grammar has no exponents)."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return f"{text or '0'}s"


def _retry(attempts: int, base_s: float = 0.05, cap_s: float = 1.0) -> dict[str, Any]:
    return {"max_attempts": attempts, "jitter": "full",
            "backoff": {"base": seconds(base_s), "multiplier": 2.0, "cap": seconds(cap_s)}}


def _size(layers: list[list[str]], calls: dict[str, dict[str, dict]], own: dict[str, float],
          entry_rate: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """(calls per second, hold time in s) per service, ignoring queueing waits."""
    rate = {s: entry_rate.get(s, 0.0) for layer in layers for s in layer}
    for layer in layers:  # callers always sit in an earlier layer
        for s in layer:
            for callee, c in calls[s].items():
                rate[callee] += rate[s] * c["per_request"]
    hold: dict[str, float] = {}
    for layer in reversed(layers):
        for s in layer:
            hold[s] = own[s] + sum(c["per_request"] * hold[callee] for callee, c in calls[s].items()
                                   if c["mode"] == "sync")
    return rate, hold


def _model(zones: list[str], services: dict, tenants: dict) -> dict[str, Any]:
    return {"providers": {PROVIDER: {"regions": {REGION: {"zones": {z: {} for z in zones}}}}},
            "services": services, "tenants": tenants}


def zone_name(zone: str) -> str:
    """The qualified name of a zone, as a fault's target."""
    return f"{PROVIDER}/{REGION}/{zone}"


# ---------------------------------------------------------------------------------------------- (a)
def cloud_case(*, rps: float = 5000.0, duration_s: float = 1800.0, loss_at_s: float | None = 600.0,
               loss_s: float = 120.0, call_timeout_s: float = 1.0, client_timeout_s: float = 5.0,
               attempts: int = 3, seed: int = 1, record_every_s: float = 10.0,
               dt_s: float | None = None, max_dt_s: float | None = None) -> tuple[dict, dict]:
    """A realistic cloud case: 20 services in 4 layers over 3 zones, two tenants (web 60%, mobile 40%).

    Layers: 2 front ends (one per tenant) -> 6 domain services -> 6 backing services -> 6 data stores and
    caches. Each service calls 1-2 services of the next layer (a few also skip one layer), per_request
    0.2-0.8, every call sync with a ``call_timeout_s`` timeout and ``attempts`` attempts (jittered backoff,
    no deadline); calls to caches are soft. Clients: ``client_timeout_s``, 2 attempts. Unbounded FIFO
    queues. Worker pools sized for utilisation drawn in 0.4-0.7 (hold time included). One zone
    (``z1``) is down from ``loss_at_s`` for ``loss_s`` (no fault if ``loss_at_s`` is None).
    """
    rng = random.Random(seed)
    zones = ["z1", "z2", "z3"]
    layers = [["web-frontend", "api-gateway"],
              ["catalog", "search", "cart", "checkout", "accounts", "recommend"],
              ["pricing", "inventory", "payments", "orders", "sessions", "notify"],
              ["catalog-db", "search-index", "orders-db", "accounts-db", "session-cache", "price-cache"]]
    caches = {"session-cache", "price-cache", "search-index"}
    own = {}
    for i, layer in enumerate(layers):
        lo, hi = [(0.004, 0.012), (0.005, 0.025), (0.004, 0.020), (0.001, 0.008)][i]
        for s in layer:
            own[s] = rng.uniform(lo, hi)
    calls: dict[str, dict[str, dict]] = {s: {} for layer in layers for s in layer}

    def add(caller: str, callee: str) -> None:
        calls[caller][callee] = {
            "per_request": round(rng.uniform(0.2, 0.8), 2), "mode": "sync",
            "required": "soft" if callee in caches else "hard", "parallel": False,
            "timeout": seconds(call_timeout_s), "retry": _retry(attempts)}

    for i in range(len(layers) - 1):
        nxt = layers[i + 1]
        for s in layers[i]:
            for callee in rng.sample(nxt, rng.randint(1, 2)):
                add(s, callee)
            if i + 2 < len(layers) and rng.random() < 0.2:
                add(s, rng.choice(layers[i + 2]))
        for callee in nxt:  # everyone has a caller
            if not any(callee in calls[s] for s in layers[i]):
                add(rng.choice(layers[i]), callee)
    entry_rate = {"web-frontend": 0.6 * rps, "api-gateway": 0.4 * rps}
    rate, hold = _size(layers, calls, own, entry_rate)
    services: dict[str, Any] = {}
    for layer in layers:
        for s in layer:
            conc = 8 if s in {x for x in layers[3]} else 16
            util = rng.uniform(0.4, 0.7)
            workers = rate[s] / len(zones) * hold[s] / util
            inst = max(2, math.ceil(workers / conc))
            services[s] = {"instances": {z: inst for z in zones}, "concurrency": conc,
                           "service_time": {"mean": seconds(own[s]), "cv": 1.0},
                           "queue": {"discipline": "fifo"}, "startup_time": "30s", "calls": calls[s]}
    client = {"timeout": seconds(client_timeout_s), "retry": _retry(2, 0.1, 2.0)}
    noise = {"sigma": 0.05, "correlation_time": "10m"}
    tenants = {"web": {"entry": {"web-frontend": 1.0}, "client": client,
                       "demand": {"peak_rps": entry_rate["web-frontend"], "noise": noise}},
               "mobile": {"entry": {"api-gateway": 1.0}, "client": client,
                          "demand": {"peak_rps": entry_rate["api-gateway"], "noise": noise}}}
    faults = {}
    if loss_at_s is not None:
        faults["z1-down"] = {"kind": "zone_down", "target": zone_name("z1"), "at": seconds(loss_at_s),
                             "duration": seconds(loss_s)}
    scen: dict[str, Any] = {"anchor": ANCHOR, "duration": seconds(duration_s),
                            "record_every": seconds(record_every_s), "faults": faults}
    if dt_s is not None:
        scen["dt"] = seconds(dt_s)
    if max_dt_s is not None:
        scen["max_dt"] = seconds(max_dt_s)
    return _model(zones, services, tenants), scen


def visits_per_request(model: dict) -> float:
    """Expected service visits per entry request (one attempt per call), by hand."""
    services = model["services"]
    memo: dict[str, float] = {}

    def visits(s: str) -> float:
        if s not in memo:
            calls = services[s]["calls"].items()
            memo[s] = 1.0 + sum(c["per_request"] * visits(callee) for callee, c in calls)
        return memo[s]

    total = sum(t["demand"]["peak_rps"] for t in model["tenants"].values())
    return sum(t["demand"]["peak_rps"] * share * visits(s)
               for t in model["tenants"].values() for s, share in t["entry"].items()) / total


# ---------------------------------------------------------------------------------------------- (b)
def sparse_case(n_services: int = 1000, *, n_layers: int = 10, calls_per_service: float = 1.5,
                timeout_range_s: tuple[float, float] = (5.0, 30.0), rps: float = 2000.0,
                duration_s: float = 180.0, dt_s: float = 1.0, record_every_s: float = 10.0,
                attempts: int = 3, seed: int = 2) -> tuple[dict, dict]:
    """``n_services`` in ``n_layers`` equal layers, one zone; ~``calls_per_service`` calls per service.

    Every service below the first layer gets one caller in the layer above; further calls (to reach the
    requested mean) go from a random service to a random service in a later layer, so the graph is a DAG.
    Call timeouts are drawn uniformly in ``timeout_range_s`` (the client's is the range's top), sync, hard,
    per_request 0.5-1.0, ``attempts`` attempts. One tenant enters at every first-layer service with equal
    shares; worker pools sized for utilisation 0.4-0.7. ``dt`` is fixed at ``dt_s``.
    """
    rng = random.Random(seed)
    per = n_services // n_layers
    layers = [[f"s{i * per + j:04d}" for j in range(per)] for i in range(n_layers)]
    layers[-1] += [f"s{k:04d}" for k in range(n_layers * per, n_services)]
    layer_of = {s: i for i, layer in enumerate(layers) for s in layer}
    names = [s for layer in layers for s in layer]
    calls: dict[str, dict[str, dict]] = {s: {} for s in names}
    lo, hi = timeout_range_s

    def add(caller: str, callee: str) -> bool:
        if callee in calls[caller]:
            return False
        calls[caller][callee] = {"per_request": round(rng.uniform(0.5, 1.0), 2), "mode": "sync",
                                 "required": "hard", "parallel": False,
                                 "timeout": seconds(round(rng.uniform(lo, hi), 1)), "retry": _retry(attempts)}
        return True

    for i in range(1, n_layers):
        for s in layers[i]:
            add(rng.choice(layers[i - 1]), s)
    n_edges = sum(len(c) for c in calls.values())
    target = round(calls_per_service * n_services)
    callers = [s for s in names if layer_of[s] < n_layers - 1]
    while n_edges < target:
        a = rng.choice(callers)
        b = rng.choice(layers[rng.randint(layer_of[a] + 1, n_layers - 1)])
        n_edges += add(a, b)
    own = {s: rng.uniform(0.002, 0.02) for s in names}
    entry_rate = {s: rps / len(layers[0]) for s in layers[0]}
    rate, hold = _size(layers, calls, own, entry_rate)
    services = {}
    for s in names:
        workers = rate[s] * hold[s] / rng.uniform(0.4, 0.7)
        conc = 8
        services[s] = {"instances": {"z1": max(1, math.ceil(workers / conc))}, "concurrency": conc,
                       "service_time": {"mean": seconds(own[s]), "cv": 1.0},
                       "queue": {"discipline": "fifo"}, "calls": calls[s]}
    tenants = {"users": {"entry": {s: 1.0 / len(layers[0]) for s in layers[0]},
                         "client": {"timeout": seconds(hi), "retry": _retry(2, 0.1, 2.0)},
                         "demand": {"peak_rps": rps, "noise": {"sigma": 0.05, "correlation_time": "10m"}}}}
    scen = {"anchor": ANCHOR, "duration": seconds(duration_s), "record_every": seconds(record_every_s),
            "dt": seconds(dt_s), "faults": {}}
    return _model(["z1"], services, tenants), scen


def with_mechanisms(pair: tuple[dict, dict], seed: int = 3) -> tuple[dict, dict]:
    """The same system with every mechanism of issue 4 switched on somewhere (for the cost per step).

    Every call: a retry budget and a circuit breaker. Every service: load shedding; one in ten a cache,
    one in ten LIFO. Controllers: a monitor and an operator per 50 services (throttling its entry), a
    health checker and an autoscaler on every first-layer service, a DNS record in front of every
    service of the middle layer; a fleet that every last-layer service runs on (no artifact, so it only
    costs the bookkeeping); the tenant fails over active-active between its entries.
    """
    model, scen = (dict(pair[0]), dict(pair[1]))
    rng = random.Random(seed)
    services = {k: {**v, "calls": {c: dict(call) for c, call in v["calls"].items()}, "queue": dict(v["queue"])}
                for k, v in model["services"].items()}
    names = sorted(services)
    for i, (_, svc) in enumerate(sorted(services.items())):
        svc["queue"]["max_wait"] = "2s"
        if i % 10 == 0:
            svc["cache"] = {"hit_ratio": 0.5, "warmup": "5m"}
        if i % 10 == 1:
            svc["queue"]["discipline"] = "lifo"
        for call in svc["calls"].values():
            call["retry"] = {**call["retry"], "budget": {"ratio": 0.2}}
            call["circuit_breaker"] = {"error_threshold": 0.5, "window": "10s"}
    entries = list(model["tenants"]["users"]["entry"])
    middle = names[len(names) // 2: len(names) // 2 + len(names) // 10]
    last = names[-len(names) // 10:]
    for name in last:
        services[name]["runs_on"] = "hosts"
    monitors = {f"m{i}": {"watches": names[i]} for i in range(0, len(names), 50)}
    operators = {f"op{i}": {"alerted_by": [m], "decision_delay": "10m",
                            "actions": {"shed": {"kind": "throttle", "target": rng.choice(entries), "admit": 0.5}}}
                 for i, m in enumerate(monitors)}
    controllers = {
        "monitors": monitors, "operators": operators,
        "health_checks": {f"hc-{e}": {"target": e} for e in entries},
        "autoscalers": {f"asg-{e}": {"target": e, "utilisation": 0.7} for e in entries},
        "dns_records": {f"dns-{m}": {"service": m} for m in middle},
    }
    tenants = {"users": {**model["tenants"]["users"], "failover": {"mode": "active-active", "detect": "1m"}}}
    out = {**model, "services": services, "tenants": tenants, "controllers": controllers,
           "fleets": {"hosts": {"hosts": 1000}}}
    return out, scen


def _summary() -> None:
    for name, (m, _) in (("cloud_case", cloud_case()), ("sparse_case", sparse_case())):
        n_calls = sum(len(s["calls"]) for s in m["services"].values())
        print(f"{name}: {len(m['services'])} services, {n_calls} calls, "
              f"{visits_per_request(m):.2f} visits per request")


if __name__ == "__main__":  # `make bench` runs every bench/*.py: say what the generators build
    _summary()
