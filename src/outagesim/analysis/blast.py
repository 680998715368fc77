"""Static blast radius: which services and tenants a component's loss takes down, at peak demand.

Answers the resilience reviewer's questions (DESIGN.md "Who uses it"): what does losing this zone,
region, provider or service take down; which single components take down most tenants; how
concentrated is the tenants' demand on one provider or region. No simulation: the steady state of
:mod:`outagesim.analysis.flow` (the engine's routing and hold times, without queueing waits, retries or
time), before and after the loss.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..model import Model
from .components import RANKED, Component, components, resolve
from .flow import COMPILED_FROM, Flow
from .flow_net import FlowNet, flow_net

DOWN_BELOW = 0.5  # served share below which a tenant or service is down (analysis/windows.py DOWN_BELOW)
# Processes for a ranking left to choose (the CLI): two on a model big enough for the compiled sweeps, where
# the ranking takes seconds and the target is "on 2 cores"; one below, where a ranking takes well under a
# second. Not every core: the sweeps are bound by scattered memory reads, which more processes share, and
# the machines this runs on are often shared; ``--workers N`` asks for more.
AUTO_WORKERS = 2


@dataclass(frozen=True)
class BlastRadius:
    """What one component's loss takes down (tenants and services that were up before it)."""

    component: str
    kind: str
    tenants_down: tuple[str, ...]
    services_down: tuple[str, ...]
    users_down: float  # users_per_rps x peak_rps, summed over the tenants taken down
    tenant_served: dict[str, float] = field(default_factory=dict)  # share of demand served, every tenant


@dataclass(frozen=True)
class Concentration:
    """Shares of the tenants' peak demand entering each provider and region, and their HHI."""

    by_provider: dict[str, float]
    by_region: dict[str, float]
    hhi_provider: float
    hhi_region: float
    tenant_hhi_region: dict[str, float]  # per tenant, over the regions its own demand enters


class StaticBlast:
    """A model's static steady state, kept to evaluate many losses (built once: the costly part).

    ``compiled``: as :class:`~outagesim.analysis.flow.Flow` (None: by the model's size; the same numbers).
    """

    def __init__(self, model: Model, *, compiled: bool | None = None):
        self.net: FlowNet = flow_net(model)
        self.flow = Flow(self.net, compiled=compiled)
        self.base_tenant_ok = self.flow.tenant_ok()
        self.base_service_ok = self.flow.service_ok(np.arange(len(self.net.services)))

    def loss(self, comp: Component) -> BlastRadius:
        """The blast radius of ``comp``: tenants and services down after its loss and not before."""
        net = self.net
        tenant_ok, touched, service_ok = self.flow.lose(comp.cells, comp.share)
        t_down = (tenant_ok < DOWN_BELOW) & (self.base_tenant_ok >= DOWN_BELOW)
        s_down = touched[(service_ok < DOWN_BELOW) & (self.base_service_ok[touched] >= DOWN_BELOW)]
        users = float((net.users_per_rps * net.peak_rps)[t_down].sum())
        return BlastRadius(
            component=comp.name, kind=comp.kind,
            tenants_down=tuple(net.tenants[i] for i in np.flatnonzero(t_down).tolist()),
            services_down=tuple(sorted(net.services[i] for i in s_down.tolist())),
            users_down=users,
            tenant_served=dict(zip(net.tenants, tenant_ok.tolist(), strict=True)),  # tolist: Python floats
        )


def blast_radius(model: Model, component: str) -> BlastRadius:
    """What losing ``component`` takes down, statically, at peak demand.

    Parameters
    ----------
    model : the validated model.
    component : a qualified name: provider ``aws``, region ``aws/us-east-1``, zone
        ``aws/us-east-1/use1-az1`` (or ``use1-az1`` when unique), service ``checkout``, cell
        ``checkout@use1-az1``.

    Notes
    -----
    A tenant is down when the share of its demand served falls below 1/2 (it loses ≥ 50%), as the
    dynamic definition (goodput < 50% of demand, analysis/windows.py). Served share of a tenant =
    Σ over its entries share × Σ over entry cells routing weight × success there; a cell's success =
    min(1, μ/λ) × Π over hard sync calls (1 − fail)^per_request (soft calls only degrade). A service
    is down when it serves less than half of what reaches it, or, with nothing reaching it, has no
    capacity left. Only what was up before the loss counts. Raises UnknownComponent for a name the
    model does not have.
    """
    static = StaticBlast(model)
    return static.loss(resolve(static.net, component))


def single_points_of_failure(model: Model, kinds: tuple[str, ...] = RANKED,
                            static: StaticBlast | None = None, workers: int = 1) -> list[BlastRadius]:
    """Every zone, region, provider and service, by what its loss takes down (worst first).

    Ranked by tenants taken down, then users of those tenants (users_per_rps × peak_rps), then
    services taken down, then name; the same definitions as :func:`blast_radius`. ``workers`` > 1
    evaluates the losses in that many processes, forked once the base state is built (each loss starts
    from it, so the ranking is the same, float for float); one process where fork is unavailable.
    """
    static = static or StaticBlast(model)
    out = _losses(static, list(components(static.net, kinds)), workers)
    out.sort(key=lambda b: (-len(b.tenants_down), -b.users_down, -len(b.services_down), b.kind, b.component))
    return out


def auto_workers(static: StaticBlast) -> int:
    """Processes for a ranking left to choose: ``AUTO_WORKERS`` (at most the usable cores) on a model the
    compiled sweeps run, else one."""
    if len(static.net.cell_zone) < COMPILED_FROM:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(AUTO_WORKERS, cores))


_FORKED: tuple[StaticBlast, list[Component]] | None = None  # what forked workers inherit (never pickled)


def _share(k: int, n: int) -> list[BlastRadius]:
    """The losses of components k, k + n, k + 2n, ... (in a forked worker: its copy of the base state)."""
    static, comps = _FORKED
    return [static.loss(c) for c in comps[k::n]]


def _losses(static: StaticBlast, comps: list[Component], workers: int) -> list[BlastRadius]:
    """Each component's loss, in ``comps``' order, over ``workers`` processes: this one takes every n-th
    component from the first, each forked worker every n-th from the next (interleaved, so each gets a
    like mix of zones, regions and providers). Forked, not spawned: a worker starts from this process's
    base state and loaded kernels, at no cost, instead of rebuilding them."""
    n = max(1, min(workers, len(comps)))
    if n == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [static.loss(c) for c in comps]
    global _FORKED
    _FORKED = (static, comps)
    try:
        with ProcessPoolExecutor(max_workers=n - 1, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_share, k, n) for k in range(1, n)]
            shares = [_share(0, n), *(f.result() for f in futures)]
    finally:
        _FORKED = None
    out: list[BlastRadius] = [None] * len(comps)  # type: ignore[list-item]
    for k, share in enumerate(shares):
        out[k::n] = share
    return out


def concentration(model: Model, static: StaticBlast | None = None) -> Concentration:
    """Where the tenants' peak demand enters, by provider and region, with the Herfindahl–Hirschman index.

    Notes
    -----
    share_g = Σ_t demand entering g / Σ_t peak demand, with demand split over entry cells as the
    engine routes it (by healthy workers); HHI = Σ_g share_g² (1 = all in one place, 1/n = spread
    evenly over n). Per tenant, the HHI over the regions its own demand enters.
    """
    static = static or StaticBlast(model)
    net = static.net
    tenant, cell, rate = static.flow.entry_share_by_cell()
    region = net.cell_region[cell]
    by_region = np.bincount(region, rate, minlength=len(net.regions))
    by_provider = np.bincount(net.region_provider, by_region, minlength=len(net.providers))
    total = by_region.sum()
    share_r = by_region / total if total > 0 else by_region
    share_p = by_provider / total if total > 0 else by_provider
    per_tenant = {}
    for t_i, t in enumerate(net.tenants):
        mine = np.bincount(region[tenant == t_i], rate[tenant == t_i], minlength=len(net.regions))
        s = mine / mine.sum() if mine.sum() > 0 else mine
        per_tenant[t] = float((s * s).sum())
    return Concentration(
        by_provider={p: float(v) for p, v in zip(net.providers, share_p, strict=True) if v > 0},
        by_region={r: float(v) for r, v in zip(net.regions, share_r, strict=True) if v > 0},
        hhi_provider=float((share_p * share_p).sum()), hhi_region=float((share_r * share_r).sum()),
        tenant_hhi_region=per_tenant,
    )
