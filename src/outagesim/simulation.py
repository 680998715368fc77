"""``simulate``: run a model and scenario (base plus variants) on one engine and return Results.

The one entry point both the CLI and Python users call; it wires model -> compile -> engine ->
outcomes and records in the manifest everything needed to reproduce the run.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Callable, Iterable
from importlib import metadata

from .analysis.impact import replica_outcomes
from .engine.compile import compile_network
from .engine.network import Network
from .errors import OutagesimError
from .model import Model, Scenario
from .model.load import apply_variant
from .parallel import run_replicas
from .results import Results

ENGINES = ("fluid", "des")
_LIBS = ("numpy", "scipy", "pandas", "pyarrow", "pydantic", "numba", "simpy")


def _hash(obj: Model | Scenario) -> str:
    text = json.dumps(obj.model_dump(mode="json"), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in ("outagesim", *_LIBS):
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = "unknown"
    return out


def variant_names(scenario: Scenario, variants: Iterable[str] | str) -> list[str]:
    """Expand ``"all"``, check the names, keep their order; the base is implicit."""
    names = [variants] if isinstance(variants, str) else list(variants)
    if "all" in names:
        return list(scenario.variants)
    unknown = [n for n in names if n not in scenario.variants]
    if unknown:
        have = ", ".join(scenario.variants) or "none"
        raise OutagesimError(f"unknown variant(s) {', '.join(unknown)}; the scenario has: {have}")
    return list(dict.fromkeys(names))


def tenant_values(net: Network) -> dict[str, dict]:
    return {
        t: {"users_per_rps": float(net.users_per_rps[i]), "value_per_failed": float(net.value_per_failed[i]),
            "value_per_minute_down": float(net.value_per_minute_down[i])}
        for i, t in enumerate(net.tenants)
    }


def dependency_graph(net: Network) -> list[dict]:
    """The resolved call graph, for the manifest."""
    out = []
    for e in range(len(net.edge_callee)):
        if net.edge_caller[e] >= 0:
            caller = net.services[net.edge_caller[e]]
        else:
            caller = f"tenant:{net.tenants[net.edge_tenant[e]]}"
        out.append({"from": caller, "to": net.services[net.edge_callee[e]], "sync": bool(net.sync[e]),
                    "hard": bool(net.hard[e]), "max_attempts": int(net.max_attempts[e])})
    return out


def simulate(
    model: Model,
    scenario: Scenario,
    *,
    variants: Iterable[str] | str = (),
    replicas: int = 10,
    seed: int = 0,
    engine: str = "fluid",
    noise: bool = True,
    force: bool = False,
    replay: str | None = None,
    progress: Callable[[str, float], None] | None = None,
    workers: int | None = None,
) -> Results:
    """Run the base case and each named variant on the same seeds; return their Results.

    ``workers`` processes share the replicas (None: every core for a big run, one for a small one);
    the numbers do not depend on it.
    """
    if engine not in ENGINES:
        raise OutagesimError(f"engine must be one of {', '.join(ENGINES)}, found '{engine}'")
    if replicas < 1:
        raise OutagesimError(f"replicas must be at least 1, found {replicas}")
    if workers is not None and workers < 1:
        raise OutagesimError(f"workers must be at least 1, found {workers}")
    names = variant_names(scenario, variants)
    runs, outcomes, nets = {}, {}, {}
    for name in ["base", *names]:
        m, s = (model, scenario) if name == "base" else apply_variant(model, scenario, name)
        net = compile_network(m, s, replicas=replicas, seed=seed)
        nets[name] = net

        def tick(frac: float, _n=name) -> None:
            if progress is not None:
                progress(_n, frac)

        rec = run_replicas(m, s, net, engine=engine, noise=noise, force=force, workers=workers, progress=tick)
        runs[name] = rec
        outcomes[name] = replica_outcomes(rec, tenant_values(net))
    base = nets["base"]
    manifest = {
        "versions": _versions(), "seed": seed, "replicas": replicas, "engine": engine,
        "dt_s": runs["base"].info.get("dt_s"), "bin_width_s": runs["base"].info.get("bin_width_s"),
        "variants": ["base", *names], "model_hash": _hash(model), "scenario_hash": _hash(scenario),
        "replay": replay, "anchor": scenario.anchor.isoformat().replace("+00:00", "Z"),
        "duration_s": scenario.duration, "record_every_s": base.record_every_s,
        "tenants": tenant_values(base), "dependency_graph": dependency_graph(base),
    }
    return Results(manifest=manifest, runs=runs, outcomes=outcomes)
