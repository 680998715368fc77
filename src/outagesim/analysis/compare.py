"""Variant comparison: each variant against the base case on the same seeds, as paired differences.

Replica k of every variant draws the same uncertain parameters and the same demand noise as replica k
of the base case (``SeedSequence(seed).spawn(replicas)``), so the difference d_k = x_k(variant) −
x_k(base) removes the noise the two share, and its spread across replicas is the honest uncertainty of
the effect. For n pairs with mean d̄ and sample standard deviation s:

    standard error   se = s / √n
    interval of the mean   d̄ ± t_{(1+level)/2, n−1} · se          (Student's t; needs n >= 2)
    spread across replicas   the (1 − level)/2 and (1 + level)/2 quantiles of d_k (linear interpolation)

A pair where either side is NaN (a time to recover of a replica that never recovered) is left out, and
``n`` says how many pairs remain. Everything is read from the per-replica outcomes
(``replicas.parquet``); no series are needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError
from ..results import Results

TENANT_METRICS = ("user_minutes_lost", "failed_requests", "money_failed_requests", "money_downtime",
                  "minutes_down", "stuck")
SERVICE_METRICS = ("failed_requests", "minutes_down", "peak_error_share", "time_to_recover_s")
COMPARISON_COLUMNS = [
    "variant", "entity_kind", "entity", "metric", "n", "base_mean", "variant_mean", "diff_mean", "diff_se",
    "mean_low", "mean_high", "replica_low", "replica_high",
]
_KEYS = ["entity_kind", "entity", "replica"]


def paired_summary(diffs: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Mean, standard error, t-interval of the mean and quantile spread of paired differences ``diffs``."""
    d = np.asarray(diffs, float)
    n = len(d)
    out = {"n": n, "diff_mean": math.nan, "diff_se": math.nan, "mean_low": math.nan, "mean_high": math.nan,
           "replica_low": math.nan, "replica_high": math.nan}
    if n == 0:
        return out
    mean = float(d.mean())
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    out.update(diff_mean=mean, replica_low=float(np.quantile(d, lo_q)), replica_high=float(np.quantile(d, hi_q)))
    if n >= 2:
        se = float(d.std(ddof=1) / math.sqrt(n))
        half = float(stats.t.ppf(hi_q, n - 1)) * se
        out.update(diff_se=se, mean_low=mean - half, mean_high=mean + half)
    return out


def _outcomes(results: Results, variant: str) -> pd.DataFrame:
    if variant not in results.outcomes:
        raise AnalysisError(f"no variant '{variant}' in these results; they have {', '.join(results.variants)}")
    return results.outcomes[variant]


def compare(results: Results, variants: Iterable[str] | None = None, *, base: str = "base",
            entity_kind: str = "tenant", metrics: Sequence[str] | None = None,
            level: float = 0.95) -> pd.DataFrame:
    """Paired differences variant − base per variant, entity and metric: :data:`COMPARISON_COLUMNS`.

    Parameters
    ----------
    results : a run holding the base case and the variants (from ``simulate`` or a results directory).
    variants : which to compare (default: every variant but ``base``).
    entity_kind : ``"tenant"`` or ``"service"``.
    metrics : outcome columns (default :data:`TENANT_METRICS` or :data:`SERVICE_METRICS`); ``stuck`` is
        compared as 0/1, so its mean difference is the change in the share of stuck replicas.
    level : coverage of the interval of the mean and of the spread across replicas.
    """
    if entity_kind not in ("tenant", "service"):
        raise AnalysisError(f"entity_kind must be 'tenant' or 'service', found '{entity_kind}'")
    if not 0.0 < level < 1.0:
        raise AnalysisError(f"level must be between 0 and 1, found {level}")
    names = [v for v in results.variants if v != base] if variants is None else list(variants)
    if not names:
        raise AnalysisError(f"nothing to compare: the results hold only '{base}' (run with --variant NAME or all)")
    metrics = list(metrics or (TENANT_METRICS if entity_kind == "tenant" else SERVICE_METRICS))
    ref = _outcomes(results, base)
    ref = ref[ref.entity_kind == entity_kind]
    missing = [m for m in metrics if m not in ref.columns]
    if missing:
        raise AnalysisError(f"unknown outcome(s) {', '.join(missing)}; the outcomes have "
                            f"{', '.join(c for c in ref.columns if c not in _KEYS)}")
    rows = []
    for name in names:
        other = _outcomes(results, name)
        other = other[other.entity_kind == entity_kind]
        if sorted(ref.replica.unique()) != sorted(other.replica.unique()):
            raise AnalysisError(f"'{name}' and '{base}' must be run on the same replicas to be paired, found "
                                f"{other.replica.nunique()} and {ref.replica.nunique()} replicas")
        pairs = ref.merge(other, on=_KEYS, suffixes=("_base", "_variant"), how="inner")
        for entity, g in pairs.groupby("entity", sort=False):
            for metric in metrics:
                a = g[f"{metric}_base"].to_numpy(dtype=float)
                b = g[f"{metric}_variant"].to_numpy(dtype=float)
                keep = ~(np.isnan(a) | np.isnan(b))
                rows.append({"variant": name, "entity_kind": entity_kind, "entity": entity, "metric": metric,
                             "base_mean": float(a[keep].mean()) if keep.any() else math.nan,
                             "variant_mean": float(b[keep].mean()) if keep.any() else math.nan,
                             **paired_summary(b[keep] - a[keep], level)})
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
