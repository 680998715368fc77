"""Results: what :func:`outagesim.simulate` returns and a results directory holds.

The directory (DESIGN.md, "Results and analysis") is written atomically and read back here, so analysis
and reports never import the engine::

    manifest.json            versions, seed, replicas, dt, variant names, hashes ...
    observed.json            replays only: the milestones to compare against
    <variant>/series.parquet     t_s, stat, entity_kind, entity, metric, value
    <variant>/replicas.parquet   scalar outcomes, one row per replica and tenant/service
    <variant>/events.parquet     t_s, replica, kind, entity, detail
    <variant>/summary.json       headline numbers per tenant, the engine's run info

Series are stats across replicas (``mean``, ``p5``, ``p50``, ``p95``; ``r<k>`` rows per replica with
``keep_replicas``). Service series are derived from cell series (see :func:`service_series`).
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import OutagesimError
from .io import atomic_dir
from .record import Event, RunRecord

STATS = ("mean", "p5", "p50", "p95")
SERIES_COLUMNS = ["t_s", "stat", "entity_kind", "entity", "metric", "value"]
EVENT_COLUMNS = ["t_s", "replica", "kind", "entity", "detail"]
_KEY = ["entity_kind", "entity", "metric"]
_KIND_ORDER = {"tenant": 0, "service": 1, "cell": 2}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
Key = tuple[str, str, str]


@dataclass
class StatsRecord(RunRecord):
    """A run read back from disk: ``series[key]`` is float[S, N], one row per label in ``stats``."""

    stats: tuple[str, ...] = STATS
    n_replicas: int = 0

    @property
    def replicas(self) -> int:
        return self.n_replicas


# --------------------------------------------------------------------------- service aggregation
def service_series(series: dict[Key, np.ndarray]) -> dict[Key, np.ndarray]:
    """Service-level series from cell series (``svc@provider/region/zone`` -> ``svc``), per replica.

    Rates and levels are summed over cells. ``latency_mean`` is weighted by ``completed``.
    ``latency_p99`` is the maximum over cells that completed work: an upper bound on the service's p99,
    since a mixture's p99 never exceeds its largest component p99. ``utilisation`` is summed
    ``in_service`` over summed workers, where a cell's workers are its ``healthy_instances`` times its
    workers per instance, estimated as the median over time of ``in_service / (utilisation *
    healthy_instances)``; so an idle but healthy cell still counts its workers. Series the record
    already has at service level are kept as they are.
    """
    cells: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for (kind, entity, metric), arr in series.items():
        if kind == "cell":
            cells.setdefault(entity.split("@", 1)[0], {}).setdefault(entity, {})[metric] = arr
    out: dict[Key, np.ndarray] = {}
    for svc, by_cell in cells.items():
        metrics = dict.fromkeys(m for c in by_cell.values() for m in c)
        for metric in metrics:
            if ("service", svc, metric) in series:
                continue
            value = _combine(metric, list(by_cell.values()))
            if value is not None:
                out[("service", svc, metric)] = value
    return out


def _combine(metric: str, cells: list[dict[str, np.ndarray]]) -> np.ndarray | None:
    """One service metric from its cells' metrics (each float[R, N]); None when inputs are missing."""

    def stack(*names: str) -> list[np.ndarray] | None:
        if not all(n in c for c in cells for n in names):
            return None
        return [np.stack([c[n] for c in cells]) for n in names]

    if metric == "latency_mean":
        got = stack("latency_mean", "completed")
        if got is None:
            return None
        lat, done = got
        total = done.sum(axis=0)
        weighted = np.where(done > 0, np.nan_to_num(lat) * done, 0.0).sum(axis=0)
        return np.divide(weighted, total, out=np.full(total.shape, np.nan), where=total > 0)
    if metric == "latency_p99":
        got = stack("latency_p99", "completed")
        if got is None:
            return None
        lat, done = got
        top = np.where((done > 0) & ~np.isnan(lat), lat, -np.inf).max(axis=0)
        return np.where(np.isfinite(top), top, np.nan)
    if metric == "utilisation":
        got = stack("utilisation", "in_service", "healthy_instances")
        if got is None:
            return None
        util, busy, healthy = got
        ok = (util > 0) & (healthy > 0)
        ratio = np.where(ok, busy / np.where(ok, util * healthy, 1.0), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            per_instance = np.nan_to_num(np.nanmedian(ratio, axis=-1, keepdims=True))
        workers = (per_instance * healthy).sum(axis=0)
        busy_total = busy.sum(axis=0)
        return np.divide(busy_total, workers, out=np.zeros(workers.shape), where=workers > 0)
    got = stack(metric)
    return None if got is None else got[0].sum(axis=0)


# --------------------------------------------------------------------------- long tables
def _nan_percentiles(values: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """float[K, R, N] -> float[K, len(qs), N]: percentiles over axis 1 ignoring NaN, linear interpolation.

    The same numbers as ``np.nanpercentile``, vectorised: that function loops over slices in Python
    and takes seconds on a few hundred thousand of them.
    """
    ordered = np.sort(values, axis=1)  # NaN sorts last
    valid = (~np.isnan(values)).sum(axis=1)  # (K, N)
    out = np.full((values.shape[0], len(qs), values.shape[2]), np.nan)
    for i, q in enumerate(qs):
        pos = q / 100.0 * np.maximum(valid - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(valid - 1, 0))
        a = np.take_along_axis(ordered, lo[:, None, :], axis=1)[:, 0, :]
        b = np.take_along_axis(ordered, hi[:, None, :], axis=1)[:, 0, :]
        value = a + (b - a) * (pos - lo)
        out[:, i, :] = np.where(valid > 0, value, np.nan)
    return out


def _stats_across_replicas(values: np.ndarray) -> np.ndarray:
    """float[K, R, N] -> float[K, 4, N]: mean, p5, p50, p95 over replicas, ignoring NaN (undefined)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=1)
    return np.concatenate([mean[:, None, :], _nan_percentiles(values, (5.0, 50.0, 95.0))], axis=1)


def _labelled(record: RunRecord, keep_replicas: bool) -> tuple[list[Key], list[str], np.ndarray]:
    """Keys, stat labels and values float[K, S, N] of one run, service series included."""
    if isinstance(record, StatsRecord):
        keys = list(record.series)
        rows = [i for i, s in enumerate(record.stats) if keep_replicas or not s.startswith("r")]
        labels = [record.stats[i] for i in rows]
        values = np.stack([record.series[k][rows] for k in keys]) if keys else _empty(len(rows))
        return keys, labels, values
    series = {**record.series, **service_series(record.series)}
    keys = sorted(series, key=lambda k: _KIND_ORDER.get(k[0], len(_KIND_ORDER)))
    if not keys:
        return keys, list(STATS), _empty(len(STATS))
    raw = np.stack([np.asarray(series[k], dtype=float) for k in keys])  # (K, R, N)
    values, labels = _stats_across_replicas(raw), list(STATS)
    if keep_replicas:
        values = np.concatenate([values, raw], axis=1)
        labels += [f"r{k}" for k in range(raw.shape[1])]
    return keys, labels, values


def _empty(n_stats: int) -> np.ndarray:
    return np.zeros((0, n_stats, 0))


def _series_table(record: RunRecord, keep_replicas: bool) -> pd.DataFrame:
    """The long table of one run, columns :data:`SERIES_COLUMNS`, ordered by key, stat, time."""
    keys, labels, values = _labelled(record, keep_replicas)
    k, s, n = values.shape
    if k == 0:
        return pd.DataFrame({c: pd.Series([], dtype=float if c in ("t_s", "value") else object)
                             for c in SERIES_COLUMNS})
    key_cols = np.array(keys, dtype=object).reshape(k, 3)
    return pd.DataFrame({
        "t_s": np.tile(np.asarray(record.t_s, dtype=float), k * s),
        "stat": np.tile(np.repeat(np.array(labels, dtype=object), n), k),
        "entity_kind": np.repeat(key_cols[:, 0], s * n),
        "entity": np.repeat(key_cols[:, 1], s * n),
        "metric": np.repeat(key_cols[:, 2], s * n),
        "value": values.reshape(-1),
    })


def _read_series(table: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...], dict[Key, np.ndarray]]:
    """Invert :func:`_series_table`: times, stat labels and ``key -> float[S, N]``."""
    t = np.unique(table["t_s"].to_numpy(dtype=float))
    stat_codes, labels = pd.factorize(table["stat"])
    key_codes = table.groupby(_KEY, sort=False).ngroup().to_numpy()
    keys: list[Key] = [(str(a), str(b), str(c))
                       for a, b, c in table[_KEY].drop_duplicates().itertuples(index=False)]
    values = np.full((len(keys), len(labels), len(t)), np.nan)
    values[key_codes, stat_codes, np.searchsorted(t, table["t_s"].to_numpy(dtype=float))] = table["value"]
    return t, tuple(map(str, labels)), {k: values[i] for i, k in enumerate(keys)}


def _events_table(events: list[Event]) -> pd.DataFrame:
    return pd.DataFrame({
        "t_s": pd.Series([e.t_s for e in events], dtype=float),
        "replica": pd.Series([e.replica for e in events], dtype="int64"),
        "kind": pd.Series([e.kind for e in events], dtype=object),
        "entity": pd.Series([e.entity for e in events], dtype=object),
        "detail": pd.Series([e.detail for e in events], dtype=object),
    })


def _mean_series(record: RunRecord, key: Key) -> np.ndarray | None:
    """The across-replica mean of one series (the same numbers the table's ``mean`` rows hold)."""
    if key not in record.series:
        return None
    if isinstance(record, StatsRecord):
        return record.series[key][record.stats.index("mean")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.asarray(record.series[key], dtype=float), axis=0)


def _headline(record: RunRecord) -> dict[str, dict[str, float]]:
    """Per tenant: mean over replicas of total demand, goodput and errors (requests), failed share.

    The failed share is errors / demand; requests still in flight at the end count as neither.
    """
    out: dict[str, dict[str, float]] = {}
    tenants = dict.fromkeys(e for (kind, e, _m) in record.series if kind == "tenant")
    for tenant in tenants:
        totals = {}
        for metric in ("demand", "goodput", "errors"):
            mean = _mean_series(record, ("tenant", tenant, metric))
            totals[metric] = 0.0 if mean is None else float(np.nansum(mean) * record.interval_s)
        totals["failed_share"] = totals["errors"] / totals["demand"] if totals["demand"] > 0 else 0.0
        out[tenant] = totals
    return out


# --------------------------------------------------------------------------- JSON
def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, datetime):
        return obj.isoformat().replace("+00:00", "Z")
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n", encoding="utf-8")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- Results
@dataclass
class Results:
    """The runs of one simulation (``"base"`` first, then each variant), their outcomes and manifest."""

    manifest: dict
    runs: dict[str, RunRecord]
    outcomes: dict[str, pd.DataFrame] = field(default_factory=dict)
    observed: dict | None = None

    def __post_init__(self) -> None:
        if "base" not in self.runs:
            raise ValueError("Results need a 'base' run")
        self.runs = {"base": self.runs["base"], **{k: v for k, v in self.runs.items() if k != "base"}}

    @property
    def variants(self) -> list[str]:
        return list(self.runs)

    def to_pandas(self, variant: str | None = None, keep_replicas: bool = False) -> pd.DataFrame:
        """Series in long format: ``variant, t_s, stat, entity_kind, entity, metric, value``.

        ``keep_replicas`` adds ``r<k>`` rows; a run read from disk has them only if they were written.
        """
        names = self.variants if variant is None else [variant]
        if variant is not None and variant not in self.runs:
            raise KeyError(f"no variant '{variant}'; have {', '.join(self.variants)}")
        frames = [_series_table(self.runs[n], keep_replicas).assign(variant=n) for n in names]
        return pd.concat(frames, ignore_index=True)[["variant", *SERIES_COLUMNS]]

    def summary(self, variant: str = "base") -> dict:
        """The headline numbers and run info written to ``<variant>/summary.json``."""
        record = self.runs[variant]
        return {
            "variant": variant,
            "index": self.variants.index(variant),
            "engine": record.engine,
            "interval_s": record.interval_s,
            "replicas": record.replicas,
            "tenants": _headline(record),
            "info": record.info,
        }

    def write(self, dir: str | Path, keep_replicas: bool = False, *, overwrite: bool = True) -> Path:
        """Write the results directory atomically; an existing results directory is replaced whole.

        A non-empty directory that is not a results directory (no ``manifest.json``) is never replaced.
        """
        path = Path(dir)
        bad = [n for n in self.runs if not _SAFE_NAME.match(n)]
        if bad:
            raise OutagesimError(f"variant names must be safe folder names, found {bad}")
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            if not (path / "manifest.json").is_file():
                raise OutagesimError(f"refusing to replace {path}: it is not an outagesim results directory")
            if not overwrite:
                raise OutagesimError(f"{path} already holds results (use --force to replace them)")
        try:
            with atomic_dir(path) as tmp:
                self._write_into(tmp, keep_replicas)
        except OSError as exc:
            raise OutagesimError(f"could not write results to {path}: {exc}") from exc
        return path

    def _write_into(self, root: Path, keep_replicas: bool) -> None:
        _dump(root / "manifest.json", self.manifest)
        if self.observed is not None:
            _dump(root / "observed.json", self.observed)
        for name, record in self.runs.items():
            folder = root / name
            folder.mkdir()
            _series_table(record, keep_replicas).to_parquet(folder / "series.parquet", index=False)
            self.outcomes.get(name, pd.DataFrame()).to_parquet(folder / "replicas.parquet")
            _events_table(record.events).to_parquet(folder / "events.parquet", index=False)
            _dump(folder / "summary.json", self.summary(name))

    @classmethod
    def read(cls, dir: str | Path) -> Results:
        """Read a results directory; series come back as :class:`StatsRecord` (stats, no raw replicas)."""
        root = Path(dir)
        if not (root / "manifest.json").is_file():
            raise OutagesimError(f"{root} is not an outagesim results directory (no manifest.json)")
        try:
            return cls._read_from(root)
        except (OSError, ValueError, KeyError) as exc:
            raise OutagesimError(f"could not read results from {root}: {exc}") from exc

    @classmethod
    def _read_from(cls, root: Path) -> Results:
        summaries = {p.parent.name: _load(p) for p in root.glob("*/summary.json")}
        order = sorted(summaries, key=lambda n: summaries[n]["index"])
        runs: dict[str, RunRecord] = {}
        outcomes: dict[str, pd.DataFrame] = {}
        for name in order:
            summ, folder = summaries[name], root / name
            t, labels, series = _read_series(pd.read_parquet(folder / "series.parquet"))
            ev = pd.read_parquet(folder / "events.parquet")
            events = [Event(t_s=float(r.t_s), kind=str(r.kind), entity=str(r.entity), detail=str(r.detail),
                            replica=int(r.replica)) for r in ev.itertuples(index=False)]
            runs[name] = StatsRecord(engine=summ["engine"], t_s=t, interval_s=float(summ["interval_s"]),
                                     series=series, events=events, info=summ["info"], stats=labels,
                                     n_replicas=int(summ["replicas"]))
            outcomes[name] = pd.read_parquet(folder / "replicas.parquet")
        observed_path = root / "observed.json"
        observed = _load(observed_path) if observed_path.is_file() else None
        return cls(manifest=_load(root / "manifest.json"), runs=runs, outcomes=outcomes, observed=observed)
