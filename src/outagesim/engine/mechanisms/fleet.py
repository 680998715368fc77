"""Fleets as compartment counts: a bad artifact crashes the hosts it reaches into a boot loop.

The CrowdStrike channel file of July 2024 was live for 78 minutes; every Windows host online in that
window that fetched it crashed and boot-looped. A reboot sometimes fetched the fixed file first; the rest
needed hands-on repair, limited by staff and slower with encrypted disks (recovery keys). A staged
rollout (waves a ``bake`` apart, rolled back once the crashes are seen) keeps the damage to the first
wave. Hosts per replica move healthy -> crashed (plain or encrypted disk) -> healed (by a reboot) or
repaired (by staff); a wave's hosts receive the artifact if online while it is live for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..controls import ArtifactSpec, FleetSpec


def online_share(online: np.ndarray, hour: float) -> float:
    """Share of hosts online at a UTC hour (linear between the hourly values)."""
    h0 = int(hour) % 24
    frac = hour - int(hour)
    return float(online[h0] * (1 - frac) + online[(h0 + 1) % 24] * frac)


@dataclass
class FleetState:
    """Per replica (arrays [R]) and per artifact (lists): where the fleet's hosts are."""

    received: list[np.ndarray]  # per artifact, float[R, W]: share of each wave's hosts that received it
    crashed_by: list[np.ndarray]  # per artifact, hosts it crashed
    seen: list[np.ndarray]  # per artifact, when the rollout saw its crash share reach rollback_at (NaN)
    withdrawn: list[np.ndarray]  # per artifact, when it stops being served (end, or rollback)
    plain: np.ndarray  # crashed hosts with plain disks
    encrypted: np.ndarray  # crashed hosts with encrypted disks
    healed: np.ndarray  # fixed by a reboot that fetched the fix
    repaired: np.ndarray  # fixed by hand

    @classmethod
    def of(cls, spec: FleetSpec, replicas: int) -> FleetState:
        n_w = len(spec.waves)
        return cls([np.zeros((replicas, n_w)) for _ in spec.artifacts],
                   [np.zeros(replicas) for _ in spec.artifacts],
                   [np.full(replicas, np.nan) for _ in spec.artifacts],
                   [np.full(replicas, a.end_s) for a in spec.artifacts],
                   np.zeros(replicas), np.zeros(replicas), np.zeros(replicas), np.zeros(replicas))

    def crashed(self) -> np.ndarray:
        return self.plain + self.encrypted


def fleet_step(spec: FleetSpec, st: FleetState, t: float, dt: float, online: float) -> list[tuple[str, int, str]]:
    """Advance one fleet over [t, t + dt) in place; returns events (kind, replica, detail)."""
    events: list[tuple[str, int, str]] = []
    fix_out = np.ones_like(st.plain, bool)
    repair_from = np.full_like(st.plain, np.inf)
    for i, a in enumerate(spec.artifacts):
        if t < a.start_s:
            continue
        live = t < st.withdrawn[i]
        if live.any():  # withdrawn everywhere, it crashes nothing more and its rollback is decided
            _serve(spec, st, i, a, t, live, online, events)
        fix_out &= t >= st.withdrawn[i]
        repair_from = np.where(np.isfinite(repair_from), np.maximum(repair_from, st.withdrawn[i]), st.withdrawn[i])
    if not spec.artifacts:
        return events
    _heal_and_repair(spec, st, t, dt, fix_out, repair_from)
    return events


def _serve(spec: FleetSpec, st: FleetState, i: int, a: ArtifactSpec, t: float, live: np.ndarray,
           online: float, events: list[tuple[str, int, str]]) -> None:
    """Artifact ``i`` reaches the hosts of its open waves that are online; a rollout pulls it back."""
    wave_share = np.diff(np.concatenate([[0.0], spec.waves]))
    opens = a.start_s + np.arange(len(spec.waves)) * spec.bake_s
    open_now = live[:, None] & (t >= opens)[None, :]
    before = st.received[i]
    new = np.where(open_now, np.maximum(before, online) - before, 0.0)
    st.received[i] = before + new
    crash = (new * wave_share[None, :]).sum(axis=1) * spec.hosts * a.crash_share
    st.plain += crash * (1.0 - spec.encrypted)
    st.encrypted += crash * spec.encrypted
    st.crashed_by[i] += crash
    if len(spec.waves) > 1:
        first_open = (before == 0) & (new > 0)
        for r, w in zip(*np.nonzero(first_open), strict=True):
            events.append(("rollout_wave", int(r), f"{a.name}: wave {w + 1} of {len(spec.waves)}"))
    if np.isfinite(spec.rollback_at):
        got = (st.received[i] * wave_share[None, :]).sum(axis=1) * spec.hosts
        ratio = st.crashed_by[i] / np.maximum(got, 1e-12)
        newly = np.isnan(st.seen[i]) & (ratio >= spec.rollback_at) & (got > 0)
        st.seen[i] = np.where(newly, t, st.seen[i])
        pulled = live & (t >= st.seen[i] + spec.rollback_delay_s)
        st.withdrawn[i] = np.where(pulled, t, st.withdrawn[i])
        for r in np.flatnonzero(pulled):
            events.append(("rollout_rolled_back", int(r), f"{a.name}: {st.crashed_by[i][r]:.0f} hosts crashed"))


def _heal_and_repair(spec: FleetSpec, st: FleetState, t: float, dt: float, fix_out: np.ndarray,
                     repair_from: np.ndarray) -> None:
    """Once no artifact is served, reboots heal some crashed hosts and staff repair the rest."""
    crashed = st.crashed()
    heal = np.where(fix_out, crashed * (1.0 - np.exp(-spec.fix_per_reboot * dt / spec.reboot_s)), 0.0)
    share_plain = np.where(crashed > 0, st.plain / np.maximum(crashed, 1e-300), 0.0)
    st.plain -= heal * share_plain
    st.encrypted -= heal * (1.0 - share_plain)
    st.healed += heal
    staff = np.where(fix_out & (t >= repair_from + spec.repair_after), spec.repair_per_s * dt, 0.0)
    crashed = st.crashed()
    share_plain = np.where(crashed > 0, st.plain / np.maximum(crashed, 1e-300), 0.0)
    fix_plain = np.minimum(st.plain, staff * share_plain)
    fix_enc = np.minimum(st.encrypted, staff * (1.0 - share_plain) / spec.slowdown)
    st.plain -= fix_plain
    st.encrypted -= fix_enc
    st.repaired += fix_plain + fix_enc
