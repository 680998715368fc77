"""Milestones: when did the simulated system do what the observed one did? (replays' timelines)

An ``observed.yaml`` (DESIGN.md, "Incident library") lists milestones, each a predicate on one simulated
series and the UTC time it was observed::

    trigger: '2017-02-28T17:37:00Z'
    milestones:
      s3-get-down:
        utc: '2017-02-28T17:45:00Z'        # null: it did not happen (the prediction is that it never does)
        kind: prediction                   # or calibration: a time the inputs were set to reproduce
        predicate: {entity: 'service:s3-get', metric: goodput_share, op: '<', threshold: 0.5,
                    sustain: 5m, after: null}
        tolerance: 5m                      # default max(20% of |utc - trigger|, 5 min)

The simulated time of a milestone, in each replica, is the start of the first recorded interval from
which the predicate holds for ``sustain`` (at least one interval); ``after`` (a UTC time or another
milestone's id) starts the search there. The reported time is the median over replicas in which it
happened, or none when it happened in fewer than half of them. ``goodput_share`` is goodput /
arrivals for a service and goodput / demand for a tenant; monitors have ``alarm``, health checks
``removed_share``, fleets ``crashed_hosts`` and ``repaired_hosts``; any recorded metric may be
named. Reads Results only, never the engine.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..errors import AnalysisError
from ..results import Results, StatsRecord, service_series

__all__ = ["MilestoneResult", "evaluate_milestones", "read_observed"]

_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
_KINDS = {"service", "tenant", "cell", "monitor", "health_check", "fleet"}
_MIN_TOLERANCE_S = 300.0


@dataclass(frozen=True)
class MilestoneResult:
    """One milestone, observed against simulated; times in seconds after the run's anchor."""

    id: str
    kind: str
    observed_s: float | None
    simulated_s: float | None
    happened_share: float  # share of replicas in which the predicate was met
    tolerance_s: float
    within: bool

    @property
    def difference_s(self) -> float | None:
        if self.observed_s is None or self.simulated_s is None:
            return None
        return self.simulated_s - self.observed_s


def _utc(value, where: str) -> datetime:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise AnalysisError(f"{where}: expected a UTC time like 2017-02-28T17:37:00Z, found '{value}'") from exc
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _duration_s(value, where: str) -> float:
    from ..model.quantities import parse_duration

    try:
        return float(parse_duration(value))
    except (ValueError, TypeError) as exc:
        raise AnalysisError(f"{where}: expected a duration like 5m, found '{value}'") from exc


def read_observed(path: str | Path) -> dict:
    """Read and check an ``observed.yaml``; returns plain data (times as ISO strings) for ``observed.json``."""
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8")) or {}
    if "trigger" not in data or not isinstance(data.get("milestones"), dict) or not data["milestones"]:
        raise AnalysisError(f"{path}: expected 'trigger' and a map of 'milestones', found keys {sorted(data)}")
    out = {"trigger": _utc(data["trigger"], f"{path}: trigger").isoformat().replace("+00:00", "Z"),
           "milestones": {}}
    for mid, m in data["milestones"].items():
        where = f"{path}: milestones.{mid}"
        if m.get("kind") not in ("calibration", "prediction"):
            raise AnalysisError(f"{where}.kind: expected calibration or prediction, found '{m.get('kind')}'")
        p = dict(m.get("predicate") or {})
        if p.get("op") not in _OPS:
            raise AnalysisError(f"{where}.predicate.op: expected one of {' '.join(_OPS)}, found '{p.get('op')}'")
        kind = str(p.get("entity", "")).partition(":")[0]
        if kind not in _KINDS:
            raise AnalysisError(f"{where}.predicate.entity: expected kind:name with kind one of "
                                f"{', '.join(sorted(_KINDS))}, found '{p.get('entity')}'")
        entry = dict(m)
        entry["utc"] = None if m.get("utc") is None else _utc(m["utc"], f"{where}.utc").isoformat().replace(
            "+00:00", "Z")
        p["sustain_s"] = _duration_s(p.pop("sustain", "0s") or "0s", f"{where}.predicate.sustain")
        after = p.get("after")
        if after is not None and str(after) not in data["milestones"]:
            p["after"] = _utc(after, f"{where}.predicate.after").isoformat().replace("+00:00", "Z")
        entry["predicate"] = p
        if m.get("tolerance") is not None:
            entry["tolerance_s"] = _duration_s(m["tolerance"], f"{where}.tolerance")
        entry.pop("tolerance", None)
        out["milestones"][str(mid)] = entry
    return out


def _series(record, kind: str, name: str, metric: str) -> np.ndarray | None:
    """float[K, N]: per replica for a run in memory, the ``mean`` row for one read from disk."""
    series = record.series
    if kind == "service" and ("service", name, "goodput") not in series:
        series = {**series, **service_series({k: v for k, v in series.items() if k[1].startswith(name + "@")})}

    def get(m: str) -> np.ndarray | None:
        arr = series.get((kind, name, m))
        if arr is None:
            return None
        arr = np.asarray(arr, dtype=float)
        if isinstance(record, StatsRecord):
            arr = arr[[record.stats.index("mean")]]
        return arr

    if metric != "goodput_share":
        return get(metric)
    good, base = get("goodput"), get("demand" if kind == "tenant" else "arrivals")
    if good is None or base is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.where(base > 1e-9, good / np.where(base > 1e-9, base, 1.0), np.nan)


def _first_time(ok: np.ndarray, t_s: np.ndarray, n_sustain: int, start_s: np.ndarray) -> np.ndarray:
    """Per row, the first t_s[i] >= start from which ``ok`` holds for n_sustain intervals (nan: never)."""
    out = np.full(ok.shape[0], np.nan)
    for k in range(ok.shape[0]):
        run = 0
        for i in range(ok.shape[1]):
            if t_s[i] < start_s[k] or not ok[k, i]:
                run = 0
                continue
            run += 1
            if run >= n_sustain:
                out[k] = t_s[i - n_sustain + 1]
                break
    return out


def evaluate_milestones(results: Results, observed: dict, variant: str = "base") -> list[MilestoneResult]:
    """Each milestone of ``observed`` (as :func:`read_observed` returns it) against ``variant``'s series."""
    if variant not in results.runs:
        raise AnalysisError(f"no variant '{variant}' in these results; have {', '.join(results.variants)}")
    record = results.runs[variant]
    anchor = _utc(results.manifest["anchor"], "manifest anchor")
    trigger_s = (_utc(observed["trigger"], "trigger") - anchor).total_seconds()
    t_s = np.asarray(record.t_s, dtype=float)
    times: dict[str, np.ndarray] = {}
    out = []
    for mid, m in observed["milestones"].items():
        p = m["predicate"]
        kind, _, name = str(p["entity"]).partition(":")
        arr = _series(record, kind, name, p["metric"])
        if arr is None:
            raise AnalysisError(f"milestone '{mid}': the results have no series {kind} '{name}' {p['metric']}")
        with np.errstate(invalid="ignore"):
            ok = _OPS[p["op"]](arr, float(p["threshold"]))
        after = p.get("after")
        if after is None:
            start = np.full(arr.shape[0], -np.inf)
        elif after in times:
            start = times[after] if len(times[after]) == arr.shape[0] else np.full(arr.shape[0], np.nanmedian(
                times[after]))
            start = np.where(np.isnan(start), np.inf, start)
        else:
            start = np.full(arr.shape[0], (_utc(after, f"milestone '{mid}' after") - anchor).total_seconds())
        n_sustain = max(1, int(np.ceil(float(p.get("sustain_s", 0.0)) / record.interval_s - 1e-9)))
        first = _first_time(ok, t_s, n_sustain, start)
        times[mid] = first
        happened = float(np.mean(~np.isnan(first)))
        simulated = float(np.nanmedian(first)) if happened >= 0.5 else None
        obs = None if m.get("utc") is None else (_utc(m["utc"], f"milestone '{mid}'") - anchor).total_seconds()
        tol = m.get("tolerance_s")
        if tol is None:
            tol = _MIN_TOLERANCE_S if obs is None else max(0.2 * abs(obs - trigger_s), _MIN_TOLERANCE_S)
        within = simulated is None if obs is None else (simulated is not None and abs(simulated - obs) <= tol)
        out.append(MilestoneResult(mid, m["kind"], obs, simulated, happened, float(tol), within))
    return out
