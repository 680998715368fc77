"""The compiled controllers: monitors, operators, actions, health checks, DNS records and fleets.

Frozen arrays like :class:`~outagesim.engine.network.Network`, indexed by network cell and link numbers;
per-replica values are float[R]. Built by :func:`outagesim.engine.compile_controls.compile_controls`;
run by :class:`outagesim.engine.controllers.ControlLoop`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

THROTTLE, RESTART, ADD_CAPACITY = 0, 1, 2
ACTION_KINDS = ("throttle", "restart", "add_capacity")


@dataclass(frozen=True)
class ActionSpec:
    """One action on cells (restart, add capacity) or links (throttle)."""

    name: str
    kind: int
    target: str
    cells: np.ndarray  # int[k] network cells it acts on
    links: np.ndarray  # int[m] links a throttle rejects on
    start: np.ndarray  # float[R] scripted: when; operator actions: inf (set when the operator decides)
    after: np.ndarray  # float[R] delay from the operator's decision
    duration: np.ndarray  # float[R] throttle: how long (inf: to the end); restart: its cells' startup time;
    # add_capacity: launch time (the instances then stay)
    magnitude: np.ndarray  # float[R] throttle: share admitted; add_capacity: share of instances added
    operator: int = -1  # -1: scripted


@dataclass(frozen=True)
class MonitorSpec:
    name: str
    cells: np.ndarray  # int[k] cells of the watched service (empty if it watches a tenant)
    tenant: int  # watched tenant or -1
    blind_cells: tuple[np.ndarray, ...]  # per service it depends on, that service's cells
    external: bool
    threshold: float
    sustain_s: float
    interval_s: float


@dataclass(frozen=True)
class OperatorSpec:
    name: str
    monitors: np.ndarray  # int[k]
    delay: np.ndarray  # float[R] decision delay


@dataclass(frozen=True)
class HealthCheckSpec:
    name: str
    cells: np.ndarray  # int[k] the target service's cells
    probe_cells: tuple[np.ndarray, ...]  # per probe-path service, its cells
    deep: bool  # a target failing its traffic fails its probe too
    unhealthy_after: int  # failed probes in a row that take a target out
    down_lag_s: float  # unhealthy_after x interval
    up_lag_s: float  # healthy_after x interval
    fail_open: float  # inf: never
    max_removal_per_s: float  # share of targets per second (inf: no limit)


@dataclass(frozen=True)
class DnsSpec:
    name: str
    links: np.ndarray  # int[m] links into the record's service
    ttl_s: float
    negative_ttl_s: float
    windows: tuple[tuple[str, float, float], ...]  # (fault, emptied at, restored at)


@dataclass(frozen=True)
class ArtifactSpec:
    name: str
    start_s: float
    end_s: float  # withdrawn (inf: never)
    crash_share: np.ndarray  # float[R]


@dataclass(frozen=True)
class FleetSpec:
    name: str
    hosts: np.ndarray  # float[R]
    online: np.ndarray  # float[24] share online by UTC hour
    encrypted: float
    reboot_s: float
    fix_per_reboot: float
    waves: np.ndarray  # float[W] cumulative shares
    bake_s: float
    rollback_at: float  # inf: no automatic rollback
    rollback_delay_s: float
    repair_per_s: np.ndarray  # float[R] plain hosts repaired per second by staff
    repair_after: np.ndarray  # float[R] s after the artifact is withdrawn
    slowdown: float
    cells: np.ndarray  # int[k] cells of services that run on it
    artifacts: tuple[ArtifactSpec, ...] = ()


@dataclass(frozen=True)
class FailoverSpec:
    """A tenant's failover between entry links (tenant -> entry service)."""

    name: str
    tenant: int
    active_active: bool
    links: np.ndarray  # int[k] primary entry links
    share: np.ndarray  # float[k] their shares of the tenant's demand
    standby: np.ndarray  # int[m] standby entry links (active-passive)
    standby_share: np.ndarray  # float[m]
    detect_s: float
    threshold: float


@dataclass(frozen=True)
class AutoscalerSpec:
    name: str
    cells: np.ndarray  # int[k] the target service's cells
    plane_cells: np.ndarray  # int[m] the control plane's cells (empty: launches always go through)
    goal: float
    low: float
    high: float
    interval_s: float
    launch_s: np.ndarray  # float[R]
    max_launch: float  # share of nominal per interval (inf: no limit)


@dataclass(frozen=True)
class Controls:
    actions: tuple[ActionSpec, ...] = ()
    monitors: tuple[MonitorSpec, ...] = ()
    operators: tuple[OperatorSpec, ...] = ()
    health_checks: tuple[HealthCheckSpec, ...] = ()
    dns: tuple[DnsSpec, ...] = ()
    fleets: tuple[FleetSpec, ...] = field(default_factory=tuple)
    failovers: tuple[FailoverSpec, ...] = ()
    autoscalers: tuple[AutoscalerSpec, ...] = ()

    def empty(self) -> bool:
        return not (self.actions or self.monitors or self.operators or self.health_checks or self.dns
                    or self.fleets or self.failovers or self.autoscalers)

    def scripted_times(self, replicas: int) -> np.ndarray:
        """Starts and ends of scripted actions and DNS windows, float[R, n] (what coarse steps must not span)."""
        cols = [np.zeros((replicas, 0))]
        for a in self.actions:
            if a.operator < 0:
                cols += [a.start[:, None], (a.start + a.duration)[:, None]]
        for d in self.dns:
            for _, t0, t1 in d.windows:
                cols.append(np.full((replicas, 2), [t0, t1]))
        return np.concatenate(cols, axis=1)
