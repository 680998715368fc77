"""The readable run summary printed by ``outagesim run`` (rich tables; tested by rendering to text)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from ..results import Results


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    if abs(x) >= 1e6:
        return f"{x / 1e6:.2f}M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.1f}k"
    return f"{x:.1f}" if abs(x) < 100 else f"{x:.0f}"


def tenant_table(results: Results) -> Table:
    """Per variant and tenant: failed share, user-minutes lost, money, minutes down, stuck replicas."""
    return tenant_outcomes_table(results.outcomes)


def tenant_outcomes_table(outcomes: Mapping[str, pd.DataFrame]) -> Table:
    """:func:`tenant_table` from per-replica outcomes by variant (as a results store keeps them)."""
    t = Table(title="tenant impact (mean over replicas; p95 in brackets)")
    for col in ("variant", "tenant", "failed", "user-min lost", "$ failed req", "$ downtime", "min down",
                "stuck"):
        t.add_column(col, justify="left" if col in ("variant", "tenant") else "right")
    for name, df in outcomes.items():
        ten = df[df.entity_kind == "tenant"]
        for tenant, g in ten.groupby("entity", sort=False):
            share = g.failed_requests.sum() / max(g.requests.sum(), 1e-12)
            t.add_row(
                name, str(tenant), f"{100 * share:.2f}%",
                f"{_fmt(g.user_minutes_lost.mean())} ({_fmt(g.user_minutes_lost.quantile(0.95))})",
                _fmt(g.money_failed_requests.mean()), _fmt(g.money_downtime.mean()),
                _fmt(g.minutes_down.mean()), f"{int(g.stuck.sum())}/{len(g)}")
    return t


def service_table(results: Results, variant: str = "base") -> Table:
    return service_outcomes_table(results.outcomes[variant], variant)


def service_outcomes_table(df: pd.DataFrame, variant: str) -> Table:
    """Per service of one variant's outcomes: failed share, minutes down, stuck replicas."""
    t = Table(title=f"services ({variant})")
    for col in ("service", "failed", "min down", "stuck"):
        t.add_column(col, justify="left" if col == "service" else "right")
    for svc, g in df[df.entity_kind == "service"].groupby("entity", sort=False):
        share = g.failed_requests.sum() / max(g.requests.sum(), 1e-12)
        t.add_row(str(svc), f"{100 * share:.2f}%", _fmt(g.minutes_down.mean()), f"{int(g.stuck.sum())}/{len(g)}")
    return t


def vulnerability_table(vuln: dict) -> Table:
    t = Table(title="vulnerability (retry-storm equilibrium and tipping margin, base case)")
    for col in ("service", "storm equilibrium", "margin", "flag"):
        t.add_column(col)
    for svc, v in vuln.items():
        margin = v.get("margin")
        if not v["storm_possible"]:
            text = "-"
        elif margin is None:
            text = f"none up to a {100 * v['deepest']:.0f}% loss"
        else:
            text = f"{100 * margin:.0f}% capacity loss for {v['hold_s']:g} s"
        t.add_row(svc, "exists" if v["storm_possible"] else "no", text,
                  "[red]THIN[/red]" if v.get("thin") else "")
    return t


def print_run_summary(console: Console, results: Results, vulnerability: dict | None = None) -> None:
    m = results.manifest
    info = results.runs["base"].info
    wall = sum(r.info.get("wall_s", 0) for r in results.runs.values())
    if "dt_s" in info:
        steps = (f"dt {info['dt_s']:.4g} s, age-bin width {info['bin_width_s']:.4g} s, {info['bins']} bins "
                 f"({info.get('bin_reason', '')})")
        if info.get("substeps", 1) > 1:
            steps += (f"; up to {info['substeps']} sub-steps per bin while a sync caller was saturated "
                      f"({100 * info.get('fine_share', 0.0):.1f}% of replica-bins)")
        if info.get("coarse_step_s", 0.0) > info["dt_s"] * (1 + 1e-9):
            steps += (f"; {info['coarse_step_s']:.4g} s steps while quasi-stationary "
                      f"({100 * info.get('coarse_share', 0.0):.1f}% of replica-bins)")
    else:
        steps = f"request level, {info.get('visits', 0):,} service visits"
    if info.get("workers", 1) > 1:
        steps += f"; {info['workers']} processes"
    console.print(f"engine {m['engine']}, {m['replicas']} replica(s), seed {m['seed']}; {steps}; wall {wall:.1f} s",
                  highlight=False)
    console.print(tenant_table(results))
    console.print(service_table(results))
    if vulnerability:
        console.print(vulnerability_table(vulnerability))
        thin = [s for s, v in vulnerability.items() if v.get("thin")]
        if thin:
            console.print(f"[red]thin margins[/red] on {', '.join(thin)}: a 'no outage' result here is not "
                          "evidence of safety; a small extra loss tips the system into a retry storm.")
