"""The comparison tables ``outagesim compare`` prints: one per tenant metric, each variant against the base."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.table import Table

from ..results import Results
from .terminal import _fmt

LABELS = {
    "user_minutes_lost": "user-minutes lost",
    "failed_requests": "failed requests",
    "money_failed_requests": "$ lost to failed requests",
    "money_downtime": "$ lost to downtime",
    "minutes_down": "minutes down",
    "stuck": "stuck replicas (share)",
    "peak_error_share": "peak error share",
    "time_to_recover_s": "time to recover (s)",
}


# Below these, in both the base and the variant, a metric is too small to call either way: the tables
# print it as 0.0. A tenant losing a thousandth of a dollar in both runs is not "lower" by 90% in any
# sense a reader cares about, however tight the paired interval (S3 2017's untouched retailers were).
NEGLIGIBLE = {
    "user_minutes_lost": 0.05,
    "failed_requests": 0.05,
    "money_failed_requests": 0.05,
    "money_downtime": 0.05,
    "minutes_down": 0.05,
    "time_to_recover_s": 0.05,
    "peak_error_share": 1e-4,
}


def _negligible(row: pd.Series) -> bool:
    floor = NEGLIGIBLE.get(row.metric, 0.0)
    return max(abs(row.base_mean), abs(row.variant_mean)) < floor


def _verdict(row: pd.Series) -> str:
    """Lower or higher when the interval of the mean difference excludes zero; otherwise no clear change.
    Negligible when both means are below :data:`NEGLIGIBLE`."""
    if row.n < 2 or math.isnan(row.mean_low):
        return "too few replicas"
    if _negligible(row):
        return "negligible"
    if row.mean_high < 0:
        return "[green]lower[/green]"
    if row.mean_low > 0:
        return "[red]higher[/red]"
    return "no clear change"


def _change(row: pd.Series) -> str:
    if not row.base_mean or math.isnan(row.base_mean) or _negligible(row):
        return "-"
    return f"{100 * row.diff_mean / abs(row.base_mean):+.1f}%"


def metric_table(comparison: pd.DataFrame, metric: str, level: float = 0.95) -> Table:
    """One metric: per entity and variant, the base and variant means and the paired difference."""
    pct = f"{100 * level:g}%"
    label = LABELS.get(metric, metric)
    t = Table(title=f"{label}: variant − base, paired by replica")
    for col in ("tenant", "variant", "base", "variant mean", "difference", f"{pct} interval of the mean",
                f"{pct} of replicas", "change", "verdict"):
        t.add_column(col, justify="left" if col in ("tenant", "variant", "verdict") else "right")
    for row in comparison[comparison.metric == metric].itertuples(index=False):
        t.add_row(str(row.entity), str(row.variant), _fmt(row.base_mean), _fmt(row.variant_mean),
                  _fmt(row.diff_mean), f"{_fmt(row.mean_low)} .. {_fmt(row.mean_high)}",
                  f"{_fmt(row.replica_low)} .. {_fmt(row.replica_high)}", _change(row), _verdict(row))
    return t


def print_comparison(console: Console, results: Results, comparison: pd.DataFrame, level: float = 0.95) -> None:
    """A header naming the run and pairing, then one table per metric in ``comparison``."""
    m = results.manifest
    console.print(f"engine {m['engine']}, {m['replicas']} replica(s) per variant on the same seeds (seed "
                  f"{m['seed']}); differences are variant − base, so negative is less lost", highlight=False)
    for metric in dict.fromkeys(comparison.metric):
        console.print(metric_table(comparison, metric, level))
