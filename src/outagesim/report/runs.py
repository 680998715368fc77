"""What ``outagesim runs list`` and ``runs show`` print: the runs a results store holds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from ..io.store import StoredRun
from .terminal import service_outcomes_table, tenant_outcomes_table


def runs_table(runs: pd.DataFrame, store: Path) -> Table:
    """One row per run, oldest first: id, time, scenario, variants, replicas, seed, engine, model hash."""
    t = Table(title=f"runs in {store} ({len(runs)})")
    for col in ("run id", "created (UTC)", "scenario", "variants", "replicas", "seed", "engine", "model"):
        t.add_column(col, justify="right" if col in ("replicas", "seed") else "left")
    for r in runs.itertuples(index=False):
        t.add_row(str(r.run_id), f"{r.created_at:%Y-%m-%d %H:%M:%S}", str(r.scenario_name), ", ".join(r.variants),
                  str(r.replicas), str(r.seed), f"{r.engine} {r.engine_version}", str(r.model_hash)[:8])
    return t


def print_run(console: Console, run: StoredRun) -> None:
    """The run's facts, then its tenants' and base services' outcomes."""
    info = Table(title=f"run {run.info['run_id']}", show_header=False)
    info.add_column("key")
    info.add_column("value")
    for key in ("created_at", "scenario_name", "variants", "replicas", "seed", "engine", "engine_version",
                "model_hash", "scenario_hash", "results_dir"):
        value = run.info.get(key)
        if isinstance(value, list):
            text = ", ".join(value)
        elif key == "created_at":
            text = f"{value:%Y-%m-%d %H:%M:%S} UTC"
        else:
            text = str(value)
        info.add_row(key, text)
    console.print(info)
    by_variant = {str(v): g for v, g in run.outcomes.groupby("variant", sort=False)} if len(run.outcomes) else {}
    console.print(tenant_outcomes_table(by_variant))
    if "base" in by_variant:
        console.print(service_outcomes_table(by_variant["base"], "base"))
