"""Impact accounting: what each tenant and service lost in a run, per replica, and its outage windows.

For one replica, with series sampled as interval means over Δ = ``interval_s`` (sums below run over the
intervals ``k`` of the run; thresholds are the fields of :class:`~outagesim.analysis.windows.Availability`):

- requests = Σ demand_k · Δ; failed requests = Σ failed_k · Δ, where a tenant's failed rate is its
  ``errors`` (requests that finally failed at its entry) and a service's is ``errors + timeouts`` of the
  attempts that reached it (its demand is ``arrivals``);
- user-minutes lost = Σ u · demand_k · clip(1 − goodput_k / demand_k, 0, 1) · Δ / 60, with u the tenant's
  ``users_per_rps`` (users behind each request per second): the users whose requests did not succeed;
- money is reported twice and never summed: per failed request (failed requests × value per failed
  request) and per minute down (minutes down × value per minute down);
- minutes down = the total length of the outage windows (:func:`~outagesim.analysis.windows.outage_spans`);
  stuck = the last window is still open at the end of the run;
- time to first error, time to recover (the final sustained recovery) and the peak error rate
  (failed_k, per second) and share (failed_k / demand_k, at most 1), at the resolution of the recorded
  intervals and measured from the trigger: the first ``fault_start`` event (the anchor when there is
  none). Only intervals that end after the trigger count for the peaks.

Time to detect, per monitor, belongs here too, as one more table of (replica, monitor, time to detect)
beside :func:`outage_windows`; it waits for the monitors the engine does not model yet, and is not
estimated from anything else in the meantime.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..record import RunRecord
from ..results import Results, StatsRecord
from .windows import DEFAULT_AVAILABILITY, Availability, outage_spans, time_to_final_recovery, time_to_first_error

OUTCOME_COLUMNS = [
    "replica", "entity_kind", "entity", "requests", "failed_requests", "user_minutes_lost",
    "money_failed_requests", "money_downtime", "minutes_down", "outage_windows", "stuck", "recovered",
    "time_to_first_error_s", "time_to_recover_s", "peak_error_rate_per_s", "peak_error_share",
]
WINDOW_COLUMNS = ["replica", "entity_kind", "entity", "start_s", "end_s", "duration_s", "recovered"]


def trigger_time(rec: RunRecord) -> float:
    """Seconds after the anchor of the first fault start, 0 when the run has no fault."""
    starts = [e.t_s for e in rec.events if e.kind == "fault_start"]
    return float(min(starts)) if starts else 0.0


def _entities(rec: RunRecord) -> list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]]:
    """(kind, name, demand, goodput, failed), each float[R, N], per tenant then per service."""
    out = []
    for kind, name, metric in rec.series:
        if kind == "tenant" and metric == "demand":
            out.append(("tenant", name, rec.get("tenant", name, "demand"), rec.get("tenant", name, "goodput"),
                        rec.get("tenant", name, "errors")))
    services: dict[str, set[str]] = {}
    for kind, entity, _ in rec.series:
        if kind == "cell":
            services.setdefault(entity.split("@", 1)[0], set()).add(entity)
    for svc, cells in services.items():
        ordered = sorted(cells)
        total = {m: sum(np.nan_to_num(rec.get("cell", c, m)) for c in ordered)
                 for m in ("arrivals", "goodput", "errors", "timeouts")}
        out.append(("service", svc, total["arrivals"], total["goodput"], total["errors"] + total["timeouts"]))
    return out


def replica_outcomes(rec: RunRecord, tenants: dict[str, dict],
                     availability: Availability = DEFAULT_AVAILABILITY) -> pd.DataFrame:
    """One row per replica and tenant or service, columns :data:`OUTCOME_COLUMNS` (formulas above).

    ``tenants`` maps tenant name -> {users_per_rps, value_per_failed, value_per_minute_down}; services
    have no users or money (NaN).
    """
    dt, t0 = rec.interval_s, trigger_time(rec)
    rows = []
    for kind, name, demand, good, failed in _entities(rec):
        info = tenants.get(name, {}) if kind == "tenant" else {}
        for k in range(rec.replicas):
            d, g, f = demand[k], good[k], failed[k]
            spans = outage_spans(g, d, dt, availability)
            minutes_down = sum(((len(d) if b is None else b) - a) for a, b in spans) * dt / 60
            n_failed = float(f.sum() * dt)
            # failures of attempts that arrived in an earlier interval can outnumber this one's arrivals
            share = np.clip(np.divide(f, d, out=np.zeros_like(f), where=d > 0), 0.0, 1.0)
            after = np.arange(len(d)) * dt + dt > t0  # intervals that end after the trigger
            if kind == "tenant":
                lost = np.clip(1 - g / np.maximum(d, 1e-12), 0, 1)
                user_minutes = float((info.get("users_per_rps", math.nan) * d * lost).sum() * dt / 60)
                money_failed = n_failed * info.get("value_per_failed", math.nan)
                money_down = minutes_down * info.get("value_per_minute_down", math.nan)
            else:
                user_minutes = money_failed = money_down = math.nan
            ttr = time_to_final_recovery(g, d, dt, t0, availability)
            rows.append({
                "replica": k, "entity_kind": kind, "entity": name,
                "requests": float(d.sum() * dt), "failed_requests": n_failed, "user_minutes_lost": user_minutes,
                "money_failed_requests": money_failed, "money_downtime": money_down,
                "minutes_down": float(minutes_down), "outage_windows": len(spans),
                "stuck": bool(spans) and spans[-1][1] is None, "recovered": not math.isnan(ttr),
                "time_to_first_error_s": time_to_first_error(f, d, dt, t0, availability),
                "time_to_recover_s": ttr,
                "peak_error_rate_per_s": float(f[after].max()) if after.any() else math.nan,
                "peak_error_share": float(share[after].max()) if after.any() else math.nan,
            })
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS)


def replica_record(results: Results, variant: str = "base") -> RunRecord:
    """The per-replica series of one variant: as run, or the ``r<k>`` rows of a directory written with
    ``keep_replicas``; an :class:`~outagesim.errors.AnalysisError` when only stats across replicas exist.
    """
    if variant not in results.runs:
        raise AnalysisError(f"no variant '{variant}' in these results; they have {', '.join(results.variants)}")
    rec = results.runs[variant]
    if not isinstance(rec, StatsRecord):
        return rec
    labels = [f"r{k}" for k in range(rec.replicas)]
    missing = [s for s in labels if s not in rec.stats]
    if missing:
        raise AnalysisError(f"per-replica series of '{variant}' are needed (rows r0..r{rec.replicas - 1}), "
                            f"found only {', '.join(rec.stats)}: run with --keep-replicas")
    rows = [rec.stats.index(s) for s in labels]
    series = {key: values[rows] for key, values in rec.series.items()}
    return RunRecord(rec.engine, rec.t_s, rec.interval_s, series, rec.events, rec.info)


def impact(results: Results, variant: str = "base", *, availability: Availability | None = None) -> pd.DataFrame:
    """Per replica and tenant/service outcomes (:data:`OUTCOME_COLUMNS`) of one variant.

    With ``availability`` None these are the outcomes computed when the run was made (the default
    thresholds; a directory written by an older outagesim may lack some columns), read from
    ``replicas.parquet`` when the results came from disk; with thresholds given
    they are computed again from the per-replica series, which a results directory holds only when
    written with ``keep_replicas``.
    """
    if variant not in results.runs:
        raise AnalysisError(f"no variant '{variant}' in these results; they have {', '.join(results.variants)}")
    stored = results.outcomes.get(variant)
    if availability is None and stored is not None:
        return stored.copy()
    return replica_outcomes(replica_record(results, variant), results.manifest.get("tenants", {}),
                            availability or DEFAULT_AVAILABILITY)


def outage_windows(results: Results, variant: str = "base", *,
                   availability: Availability = DEFAULT_AVAILABILITY) -> pd.DataFrame:
    """Every outage window of every replica, tenant and service: :data:`WINDOW_COLUMNS`.

    ``start_s`` and ``end_s`` are seconds after the anchor (interval starts); a window still open at the
    end of the run has ``end_s`` NaN, ``recovered`` False and its duration counted to the end of the run.
    """
    rec = replica_record(results, variant)
    dt = rec.interval_s
    rows = []
    for kind, name, demand, good, _failed in _entities(rec):
        for k in range(rec.replicas):
            n = demand.shape[1]
            for a, b in outage_spans(good[k], demand[k], dt, availability):
                rows.append({"replica": k, "entity_kind": kind, "entity": name, "start_s": a * dt,
                             "end_s": math.nan if b is None else b * dt,
                             "duration_s": ((n if b is None else b) - a) * dt, "recovered": b is not None})
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


DETECTION_COLUMNS = ["replica", "monitor", "detected_s", "time_to_detect_s"]


def time_to_detect(results: Results, variant: str = "base") -> pd.DataFrame:
    """When each monitor first alarmed in each replica, and how long after the first fault
    (:data:`DETECTION_COLUMNS`); a monitor that never alarmed in a replica has NaN times.

    Read from the ``monitor_alarm`` events (the engine logs one each time a monitor starts alarming);
    the monitors are those the run recorded an ``alarm`` series for.
    """
    if variant not in results.runs:
        raise AnalysisError(f"no variant '{variant}' in these results; they have {', '.join(results.variants)}")
    rec = results.runs[variant]
    monitors = sorted({name for kind, name, _ in rec.series if kind == "monitor"})
    trigger = trigger_time(rec)
    first: dict[tuple[int, str], float] = {}
    for e in rec.events:
        if e.kind == "monitor_alarm":
            key = (e.replica, e.entity)
            first[key] = min(first.get(key, math.inf), e.t_s)
    n = int(results.manifest.get("replicas", rec.replicas))
    rows = []
    for k in range(n):
        for m in monitors:
            t = first.get((k, m), math.nan)
            rows.append({"replica": k, "monitor": m, "detected_s": t, "time_to_detect_s": t - trigger})
    return pd.DataFrame(rows, columns=DETECTION_COLUMNS)
