"""What one engine run of one variant produces: per-replica series on a regular grid, and events.

Both engines return a :class:`RunRecord` with the same metric names, so anything downstream (results
files, analysis, reports, fluid-vs-DES tests) never needs to know which engine ran.

Metric names (values are interval means over ``interval_s``; rates per second, levels as means):

tenant (entity = tenant name)
    demand      first attempts sent by users, req/s
    attempts    all attempts including retries, req/s
    goodput     requests that finally succeeded in time, req/s
    errors      requests that finally failed (error, rejection or timeout on the last attempt), req/s
cell (entity = "service@provider/region/zone")
    arrivals    attempts arriving, req/s
    completed   responses sent (success or error, in time or not), req/s
    goodput     successful responses in time for their caller, req/s
    errors      error responses plus rejections (queue full, cell down) and work lost with failed
                instances, req/s (each attempt ends, for its caller, in exactly one of goodput, errors
                or timeouts; a late response counts only in ``completed``)
    timeouts    attempts whose caller timed out while they were here, req/s
    queue       requests waiting (mean level)
    in_service  requests holding a worker (mean level)
    utilisation in_service / healthy workers
    healthy_instances  instances up (mean level)
    latency_mean, latency_p99  seconds from arrival to response, of responses completed
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TENANT_METRICS = ("demand", "attempts", "goodput", "errors")
CELL_METRICS = (
    "arrivals", "completed", "goodput", "errors", "timeouts", "queue", "in_service", "utilisation",
    "healthy_instances", "latency_mean", "latency_p99",
)


@dataclass(frozen=True)
class Event:
    t_s: float
    kind: str  # e.g. fault_start, fault_end
    entity: str
    detail: str = ""
    replica: int = -1  # -1: every replica


@dataclass
class RunRecord:
    """Per-replica series of one run: ``series[(entity_kind, entity, metric)]`` is float[R, N]."""

    engine: str
    t_s: np.ndarray  # float[N] interval starts, seconds after the anchor
    interval_s: float
    series: dict[tuple[str, str, str], np.ndarray]
    events: list[Event] = field(default_factory=list)
    info: dict = field(default_factory=dict)  # dt_s, bin_width_s, bins, steps, wall_s, ...

    @property
    def replicas(self) -> int:
        return next(iter(self.series.values())).shape[0] if self.series else 0

    def get(self, kind: str, entity: str, metric: str) -> np.ndarray:
        return self.series[(kind, entity, metric)]


def concat_replicas(records: list[RunRecord]) -> RunRecord:
    """One record from records of consecutive replica ranges of the same run (series stacked in order).

    Counts in ``info`` add up; a per-replica share (``fine_share``) is averaged by replicas; the rest is
    the first record's.
    """
    first = records[0]
    if len(records) == 1:
        return first
    series = {k: np.concatenate([r.series[k] for r in records], axis=0) for k in first.series}
    sizes = np.array([r.replicas for r in records], float)
    info = dict(first.info)
    for key, value in first.info.items():
        if key in ("visits", "visits_estimated", "dropped", "killed", "degraded", "updates"):
            info[key] = type(value)(sum(r.info[key] for r in records))
        elif key in ("fine_share", "coarse_share"):
            info[key] = float(np.dot(sizes, [r.info[key] for r in records]) / sizes.sum())
        elif key == "waits":
            info[key] = [w for r in records for w in r.info[key]]
    shared = [e for e in first.events if e.replica < 0]  # fault events, the same in every part
    own = [e for r in records for e in r.events if e.replica >= 0]  # per replica, already global indices
    events = sorted(shared + own, key=lambda e: (e.t_s, e.replica))
    return RunRecord(first.engine, first.t_s, first.interval_s, series, events, info)
