"""What the report shows, as plain arrays and tables: read from Results, downsampled, never plotted here.

Both the interactive page (figures.py) and the slide PNGs (png.py) draw from these functions, so the two
always show the same numbers.

**Downsampling rule.** A run's series have one value per ``record_every`` interval, however long the run.
The report groups consecutive intervals into equal buckets of ``k = ceil(N / MAX_POINTS)`` intervals (the
last bucket may be shorter) and shows one value per bucket: the mean of the interval means for rates and
levels (so the area under a curve, e.g. requests served, is unchanged), and for ratios such as health the
ratio of the bucket's sums (goodput over arrivals in the bucket), not a mean of ratios. At most
``MAX_POINTS`` points per series and ``MAX_FRAMES`` frames of the dependency graph, so a page's size does
not grow with the run's length. A dip shorter than a bucket is diluted by the rest of its bucket; the page
states the bucket width it used.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

import networkx as nx
import numpy as np
import pandas as pd

from ..analysis.windows import DOWN_BELOW, RECOVERED_AT
from ..errors import ReportError
from ..record import RunRecord
from ..results import Results, StatsRecord, service_series

MAX_POINTS = 500
MAX_FRAMES = 60
HEALTHY_AT = RECOVERED_AT  # goodput share at or above this: healthy
FAILING_BELOW = DOWN_BELOW  # below this: failing (called "down" once it lasts 5 minutes)


# --------------------------------------------------------------------------- time and buckets
def anchor(results: Results) -> datetime:
    """The scenario's anchor time (UTC) from the manifest; the page's clock starts there."""
    text = str(results.manifest.get("anchor") or "1970-01-01T00:00:00Z")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def bucket_size(n: int, max_points: int = MAX_POINTS) -> int:
    """Intervals per bucket so that ``n`` intervals give at most ``max_points`` buckets."""
    return max(1, math.ceil(n / max_points))


def bucket_sum(values: np.ndarray, k: int) -> np.ndarray:
    """Sum over consecutive buckets of ``k`` along the last axis, ignoring NaN (all-NaN gives NaN)."""
    n = values.shape[-1]
    pad = (-n) % k
    padded = np.concatenate([values, np.full((*values.shape[:-1], pad), np.nan)], axis=-1)
    shaped = padded.reshape(*values.shape[:-1], -1, k)
    total = np.nansum(shaped, axis=-1)
    return np.where(np.isnan(shaped).all(axis=-1), np.nan, total)


def bucket_mean(values: np.ndarray, k: int) -> np.ndarray:
    """Mean over consecutive buckets of ``k`` along the last axis, ignoring NaN."""
    n = values.shape[-1]
    pad = (-n) % k
    padded = np.concatenate([values, np.full((*values.shape[:-1], pad), np.nan)], axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(padded.reshape(*values.shape[:-1], -1, k), axis=-1)


def bucket_times(record: RunRecord, k: int) -> np.ndarray:
    """Seconds after the anchor at which each bucket starts."""
    return np.asarray(record.t_s, dtype=float)[::k]


def utc(results: Results, t_s: np.ndarray | list[float]) -> list[str]:
    """ISO UTC strings (no zone suffix, as plotly's date axes want) for seconds after the anchor."""
    a = anchor(results).replace(tzinfo=None)
    return [(a + timedelta(seconds=float(t))).isoformat(timespec="seconds") for t in t_s]


# --------------------------------------------------------------------------- series
def stat_series(record: RunRecord, key: tuple[str, str, str], stat: str = "mean") -> np.ndarray | None:
    """One series' ``stat`` across replicas (mean, p5, p50, p95), from a run in memory or read from disk."""
    if isinstance(record, StatsRecord):
        if key not in record.series or stat not in record.stats:
            return None
        return np.asarray(record.series[key][record.stats.index(stat)], dtype=float)
    series = record.series if key in record.series or key[0] != "service" else service_series(record.series)
    if key not in series:
        return None
    raw = np.asarray(series[key], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if stat == "mean":
            return np.nanmean(raw, axis=0)
        return np.nanpercentile(raw, float(stat[1:]), axis=0)


def entities(record: RunRecord, kind: str) -> list[str]:
    """Names of the tenants or services a run has series for, in the run's order."""
    if kind == "service" and not isinstance(record, StatsRecord):
        keys = list(service_series(record.series))
    else:
        keys = list(record.series)
    return list(dict.fromkeys(e for (k, e, _m) in keys if k == kind))


def share(record: RunRecord, kind: str, entity: str, k: int) -> np.ndarray:
    """Mean goodput over mean demand (tenants) or arrivals (services) per bucket; NaN where nothing arrived."""
    denominator = "demand" if kind == "tenant" else "arrivals"
    good = stat_series(record, (kind, entity, "goodput"))
    total = stat_series(record, (kind, entity, denominator))
    if good is None or total is None:
        return np.full(len(bucket_times(record, k)), np.nan)
    g, d = bucket_sum(good, k), bucket_sum(total, k)
    ok = d > 1e-9
    return np.clip(np.divide(g, d, out=np.full(d.shape, np.nan), where=ok), 0.0, 1.0)


@dataclass(frozen=True)
class Health:
    """Goodput share of every service per bucket: ``ratio[service, bucket]``."""

    t_s: np.ndarray
    services: list[str]
    ratio: np.ndarray
    bucket_s: float


def health(results: Results, variant: str = "base", max_points: int = MAX_POINTS) -> Health:
    """Per service and bucket, goodput over arrivals (the heatmap and the graph's node colours)."""
    record = results.runs[variant]
    k = bucket_size(len(record.t_s), max_points)
    services = entities(record, "service")
    ratio = np.array([share(record, "service", s, k) for s in services]).reshape(len(services), -1)
    return Health(bucket_times(record, k), services, ratio, k * record.interval_s)


def state_of(ratio: np.ndarray) -> np.ndarray:
    """'healthy', 'degraded', 'failing' or 'idle' (nothing arrived) for each goodput share."""
    out = np.full(ratio.shape, "idle", dtype=object)
    out[ratio >= HEALTHY_AT] = "healthy"
    out[(ratio >= FAILING_BELOW) & (ratio < HEALTHY_AT)] = "degraded"
    out[ratio < FAILING_BELOW] = "failing"
    return out


# --------------------------------------------------------------------------- events and milestones
def fault_windows(record: RunRecord) -> list[tuple[str, float, float | None]]:
    """(fault name, start s, end s or None if it outlasts the run) from the fault_start/fault_end events."""
    starts = {e.entity: e.t_s for e in record.events if e.kind == "fault_start"}
    ends = {e.entity: e.t_s for e in record.events if e.kind == "fault_end"}
    return [(name, t0, ends.get(name)) for name, t0 in sorted(starts.items(), key=lambda kv: kv[1])]


def event_marks(record: RunRecord, bucket_s: float) -> pd.DataFrame:
    """Events other than fault starts and ends, one row per (kind, entity, bucket): time, replicas, count.

    Per-replica events (a breaker opening in replica 3) are many in a long or wide run; grouping them by
    bucket keeps the page's size bounded while saying how many replicas had them.
    """
    rows = [(e.kind, e.entity, e.t_s, e.replica) for e in record.events if e.kind not in ("fault_start", "fault_end")]
    if not rows:
        return pd.DataFrame(columns=["kind", "entity", "t_s", "replicas", "count"])
    df = pd.DataFrame(rows, columns=["kind", "entity", "t_s", "replica"])
    df["bucket"] = np.floor(df["t_s"] / bucket_s)
    grouped = df.groupby(["kind", "entity", "bucket"], sort=True)
    return pd.DataFrame({
        "t_s": grouped["t_s"].min(),
        "replicas": grouped["replica"].nunique(),
        "count": grouped.size(),
    }).reset_index().drop(columns="bucket")


@dataclass(frozen=True)
class Milestone:
    """One observed milestone of a replay (observed.json), placed on the run's clock."""

    id: str
    t_s: float
    kind: str  # calibration | prediction
    tolerance_s: float
    predicate: str


def _seconds(value: object, where: str) -> float:
    from ..model.quantities import parse_duration

    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ReportError(f"observed.json {where}: expected seconds or a duration like '5m', found {value!r}") from exc


def milestones(results: Results) -> list[Milestone]:
    """The observed milestones, if the results directory has an observed.json; [] otherwise.

    Accepts ``{id: {utc, kind, predicate, tolerance}}`` or the same under a ``milestones`` key. A missing
    tolerance is the library's default, max(20% of the offset from the first fault, 5 min).
    """
    observed = results.observed
    if not observed:
        return []
    items = observed.get("milestones", observed) if isinstance(observed, dict) else None
    if not isinstance(items, dict):
        raise ReportError("observed.json: expected a map of milestone id to milestone, found "
                          f"{type(observed).__name__}")
    start = anchor(results)
    faults = fault_windows(results.runs["base"])
    trigger_s = faults[0][1] if faults else 0.0
    out = []
    for mid, m in items.items():
        if not isinstance(m, dict) or "utc" not in m:
            raise ReportError(f"observed.json milestone '{mid}': expected a map with 'utc', found {m!r}")
        if m["utc"] is None:  # a prediction that something never happens: no point on the timeline
            continue
        try:
            when = datetime.fromisoformat(str(m["utc"]).replace("Z", "+00:00"))
        except ValueError:
            raise ReportError(f"observed.json milestone '{mid}': expected an ISO-8601 UTC time like "
                              f"'2017-02-28T17:37:00Z', found {m['utc']!r}") from None
        if when.tzinfo is None:
            raise ReportError(f"observed.json milestone '{mid}': expected a UTC time ending in 'Z', found {m['utc']!r}")
        t_s = (when - start).total_seconds()
        tol = m.get("tolerance")
        tolerance = max(0.2 * abs(t_s - trigger_s), 300.0) if tol is None else _seconds(tol, f"milestone '{mid}'")
        pred = m.get("predicate") or {}
        text = " ".join(str(pred.get(p, "")) for p in ("entity", "metric", "op", "threshold")) if isinstance(
            pred, dict) else str(pred)
        out.append(Milestone(str(mid), t_s, str(m.get("kind", "prediction")), tolerance, text.strip()))
    return sorted(out, key=lambda x: x.t_s)


# --------------------------------------------------------------------------- dependency graph
def call_graph(results: Results) -> nx.DiGraph:
    """The resolved call graph from the manifest; edges carry sync, hard and max_attempts."""
    edges = results.manifest.get("dependency_graph")
    if not isinstance(edges, list):
        raise ReportError("manifest.json: expected 'dependency_graph', a list of calls, found "
                          f"{type(edges).__name__}")
    g = nx.DiGraph()
    for e in edges:
        g.add_edge(str(e["from"]), str(e["to"]), sync=bool(e.get("sync", True)), hard=bool(e.get("hard", True)),
                   max_attempts=int(e.get("max_attempts", 1)))
    return g


def graph_layout(g: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Layered positions: callers left of callees, each node at its longest call path from a tenant.

    Cycles (allowed through async or soft calls) are collapsed first, so every node gets a layer.
    """
    cond = nx.condensation(g)
    depth: dict[int, int] = {}
    for c in nx.topological_sort(cond):
        preds = list(cond.predecessors(c))
        depth[c] = 1 + max(depth[p] for p in preds) if preds else 0
    layer = {n: depth[cond.graph["mapping"][n]] for n in g.nodes}
    pos: dict[str, tuple[float, float]] = {}
    for d in sorted(set(layer.values())):
        names = sorted(n for n in g.nodes if layer[n] == d)
        for i, n in enumerate(names):
            pos[n] = (float(d), (len(names) - 1) / 2.0 - i)
    return pos


def node_share(results: Results, variant: str, node: str, k: int) -> np.ndarray:
    """A graph node's goodput share per bucket: tenants (``tenant:NAME``) by demand, services by arrivals."""
    record = results.runs[variant]
    if node.startswith("tenant:"):
        return share(record, "tenant", node.split(":", 1)[1], k)
    return share(record, "service", node, k)


# --------------------------------------------------------------------------- outcomes
IMPACT_MEASURES = {
    "failed_share": "failed share",
    "user_minutes_lost": "user-minutes lost",
    "money_failed_requests": "money, failed requests",
    "money_downtime": "money, downtime",
    "minutes_down": "minutes down",
}


def tenant_impact(results: Results) -> pd.DataFrame:
    """Per variant and tenant: mean, p5 and p95 across replicas of each impact measure, and stuck replicas.

    Columns ``variant, tenant, replicas, stuck`` and ``<measure>_mean|_p5|_p95`` for each of
    :data:`IMPACT_MEASURES`. The failed share is per replica (failed requests / requests).
    """
    rows = []
    for variant, df in results.outcomes.items():
        if df.empty or "entity_kind" not in df:
            continue
        ten = df[df["entity_kind"] == "tenant"]
        for tenant, g in ten.groupby("entity", sort=False):
            values = {m: g[m].to_numpy(dtype=float) for m in IMPACT_MEASURES if m in g}
            req = g["requests"].to_numpy(dtype=float)
            values["failed_share"] = g["failed_requests"].to_numpy(dtype=float) / np.maximum(req, 1e-12)
            row: dict[str, object] = {"variant": variant, "tenant": str(tenant), "replicas": len(g),
                                      "stuck": int(g["stuck"].sum())}
            for m in IMPACT_MEASURES:
                v = values.get(m, np.array([np.nan]))
                row[f"{m}_mean"] = float(np.mean(v))
                row[f"{m}_p5"] = float(np.percentile(v, 5))
                row[f"{m}_p95"] = float(np.percentile(v, 95))
            rows.append(row)
    return pd.DataFrame(rows)
