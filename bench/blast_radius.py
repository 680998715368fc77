"""Benchmark of the static blast radius (issue 6): one ``--fail`` query and the SPOF ranking on a big model.

The model: 5 providers x 20 regions x 3 zones (100 regions, 300 zones), 100,000 services in five tiers
(edge, api, domain, backing, data; each homed in one region, in 1-3 of its zones; 200 platform services of
the data tier run in one zone of every region), about 3 calls per service to later tiers (85% in the
caller's region, 10% to a platform service, 5% to another region), 1,000 tenants entering at 1-2 edge
services. Worker pools are sized for a utilisation drawn in [0.3, 0.8] from the static steady state.

Prints the time to build and validate the model (pydantic), to build the flow arrays and the base steady
state, one ``--fail`` query per kind, and the ranking over every zone, region and provider once per
``--workers`` value (default 1 and 2; CPU includes the forked workers'), with the graph size and the load
average at each step. ``--services N`` shrinks it for a smoke run.

    PYTHONPATH=src .venv/bin/python bench/blast_radius.py [--services 100000] [--seed 1] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time
from typing import Any

from outagesim.analysis.blast import StaticBlast, concentration, single_points_of_failure
from outagesim.analysis.components import resolve
from outagesim.analysis.flow import Flow
from outagesim.analysis.flow_net import flow_net
from outagesim.model import Model

TIERS = (("edge", 0.02), ("api", 0.10), ("domain", 0.30), ("backing", 0.30), ("data", 0.28))
PLATFORM = 200


def build(n_services: int, seed: int) -> dict[str, Any]:
    """The model as plain data (instances 1e6 everywhere until :func:`size` sets them)."""
    rng = random.Random(seed)
    providers: dict[str, Any] = {}
    region_zones: list[list[str]] = []
    for p in range(5):
        regions = {}
        for r in range(20):
            zones = [f"p{p}r{r}z{k}" for k in range(3)]
            regions[f"r{r}"] = {"zones": {z: {} for z in zones}}
            region_zones.append(zones)
        providers[f"p{p}"] = {"regions": regions}
    n_regions = len(region_zones)
    tier_of: list[int] = []
    for t, (_, share) in enumerate(TIERS):
        tier_of += [t] * int(round(share * n_services))
    tier_of = (tier_of + [len(TIERS) - 1] * n_services)[:n_services]
    names = [f"{TIERS[t][0]}-{i}" for i, t in enumerate(tier_of)]
    home = [rng.randrange(n_regions) for _ in names]
    platform = names[-PLATFORM:]
    by_tier_region: dict[tuple[int, int], list[int]] = {}
    for i, (t, r) in enumerate(zip(tier_of, home, strict=True)):
        by_tier_region.setdefault((t, r), []).append(i)
    services: dict[str, Any] = {}
    for i, name in enumerate(names):
        t, r = tier_of[i], home[i]
        if name in platform:
            zones = [rng.choice(z) for z in region_zones]
        else:
            zones = rng.sample(region_zones[r], rng.choice([1, 2, 3, 3]))
        calls: dict[str, Any] = {}
        if t < len(TIERS) - 1:
            for _ in range(3):
                u = rng.random()
                nt = rng.randrange(t + 1, len(TIERS))
                if u < 0.10:
                    callee = rng.choice(platform)
                else:
                    region = r if u < 0.95 else rng.randrange(n_regions)
                    pool = by_tier_region.get((nt, region)) or by_tier_region.get((len(TIERS) - 1, region)) or [i]
                    callee = names[rng.choice(pool)]
                if callee != name:
                    calls[callee] = {"per_request": round(rng.uniform(0.2, 1.2), 2), "timeout": "2s",
                                     "required": "soft" if rng.random() < 0.2 else "hard",
                                     "mode": "async" if rng.random() < 0.1 else "sync"}
        services[name] = {"instances": {z: 1.0e6 for z in zones}, "concurrency": 8,
                          "service_time": {"mean": f"{rng.uniform(2, 40):.1f}ms"}, "calls": calls}
    edges = [n for n, t in zip(names, tier_of, strict=True) if t == 0]
    tenants = {}
    for k in range(1000):
        entries = rng.sample(edges, rng.choice([1, 2]))
        tenants[f"tenant-{k}"] = {"entry": {e: 1.0 for e in entries},
                                  "demand": {"peak_rps": round(rng.uniform(100, 1000), 1)},
                                  "users_per_rps": rng.choice([1, 10, 50])}
    return {"providers": providers, "services": services, "tenants": tenants}


def size(data: dict[str, Any], seed: int) -> None:
    """Instances per zone for a drawn utilisation, from the unloaded static steady state."""
    rng = random.Random(seed + 1)
    flow = Flow(flow_net(Model.model_validate(data)), queueing=False)
    net = flow.net
    for s_i, svc in enumerate(data["services"].values()):
        rho = rng.uniform(0.3, 0.8)
        lo = net.svc_start[s_i]
        for k, z in enumerate(svc["instances"]):
            need = flow.lam[lo + k] * flow.hold[lo + k] / (svc["concurrency"] * rho)
            svc["instances"][z] = round(max(need, 1.0), 3)


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (forked ranking workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def clock(label: str, fn, *args):
    t0, c0 = time.perf_counter(), _cpu()
    out = fn(*args)
    load = os.getloadavg()[0]
    print(f"{label:58s} {time.perf_counter() - t0:8.2f} s wall {_cpu() - c0:8.2f} s cpu   load {load:.2f}",
          flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="one ranking per value")
    args = ap.parse_args()
    data = clock("generate the model as plain data", build, args.services, args.seed)
    clock("size worker pools (validate + unloaded steady state)", size, data, args.seed)
    model = clock("validate the model (pydantic, Model.model_validate)", Model.model_validate, data)
    static = clock("flow arrays + base steady state (StaticBlast)", StaticBlast, model)
    net = static.net
    print(f"graph: {len(net.services):,} services, {len(net.cell_zone):,} cells, "
          f"{int((net.link_cell >= 0).sum()):,} call links (+{int((net.link_cell < 0).sum()):,} entry links), "
          f"{len(net.route_cell):,} routes, {len(net.zones)} zones, {len(net.regions)} regions, "
          f"{len(net.providers)} providers, {len(net.tenants):,} tenants, "
          f"{int(net.service_level.max()) + 1} call-graph levels")
    for name in (net.zones[0], net.regions[1], net.providers[2], net.services[len(net.services) // 2]):
        b = clock(f"one --fail query: {name}", lambda n: static.loss(resolve(net, n)), name)
        print(f"    -> {len(b.tenants_down)} tenants, {len(b.services_down)} services down")
    rankings = [clock(f"ranking over every zone, region and provider, {w} worker(s)",
                      lambda w=w: single_points_of_failure(model, ("zone", "region", "provider"), static=static,
                                                          workers=w))
                for w in args.workers]
    ranking = rankings[0]
    print(f"    -> {len(ranking)} losses; the same ranking, float for float, with every --workers value: "
          f"{all(r == ranking for r in rankings)}")
    worst = ranking[0]
    print(f"    -> worst: {worst.component} ({worst.kind}): {len(worst.tenants_down)} tenants, "
          f"{len(worst.services_down)} services down; "
          f"{sum(1 for b in ranking if b.tenants_down)} components take a tenant down")
    conc = clock("concentration", concentration, model, static)
    print(f"    -> HHI provider {conc.hhi_provider:.3f}, region {conc.hhi_region:.4f}")


if __name__ == "__main__":
    main()
