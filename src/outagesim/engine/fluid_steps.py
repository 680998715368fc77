"""Adaptive steps of the fluid engine: sub-steps while a sync caller is saturated, coarse steps while a
replica is quasi-stationary (DESIGN.md "Steps and bins"). A mixin of :class:`~.fluid.FluidEngine`: it
reads the engine's state and decides each replica's step, nothing else.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy import sparse

from .network import Network

SUBSTEP_OF_HOLD = 1.0  # a cell update spans at most this share of the shortest sync caller's hold time
MAX_SUBSTEPS = 64  # a power of two: every replica's split divides the finest one
FINE_ALL_BUSY = 0.5  # a sync caller cell all busy this often (Erlang C at its busy share) ...
FINE_BUSY = 0.8  # ... and with at least this share of its workers busy needs sub-steps
DENSE_REACH_UP_TO = 50_000  # callers x cells: the reach matrix is dense up to this size
CALM_BINS = 20  # bins without one before a replica goes back to one update per bin
QUIET_TIMEOUTS = 1e-2  # a replica is quasi-stationary while, at each cell's mean sojourn, at most this share
# of its attempts would time out, no cell is saturated, and no change of its own is coming


class AdaptiveSteps:
    """Each replica's split of the coming bin (``m_r``) and whether it may take a coarse step."""

    def _quiet(self, t: float) -> np.ndarray:
        """Replicas that may take a coarse step from t: quasi-stationary, with no change of their own.

        Quasi-stationary (DESIGN.md "Steps and bins"): no sub-steps, no saturated cell (but a shedding
        leaf, ``shedding_leaves``), no breaker open, every cache warm (99%), and at each cell's mean
        sojourn at most ``QUIET_TIMEOUTS`` of its attempts would outlive their timeout (the fluid's
        residence is exponential: e^(-timeout/sojourn); in a saturated FIFO shedding leaf, the backlog
        ahead, sojourn - hold, plus an exponential hold: a tenant front end at 7 s of a 30 s timeout
        while its crashed hosts are repaired for days times out nothing, CrowdStrike 2024). Then the
        stationary solution that one long cell update reaches is the state, and what ageing once per
        coarse step instead of once per bin misses is those few timeouts. The test reads no bins, which
        coarse steps age slowly. A change of its own (fault, restart, the load balancer seeing one) that
        a bin of the step would apply, from one bin before its start to one bin after its end, keeps the
        replica in bins; a queue that starts to build in a coarse step shows as saturation or a longer
        sojourn at the next step's start.
        """
        su = self.su
        end = t + self.coarse_k * self.dt
        ch = self._changes
        # a change in (t - dt, t] is applied by the bin at t: the first of the step, which would apply it
        # to a replica that does not move in it
        ok = (self.m_r == 1) & ~((ch > t - self.dt + 1e-9) & (ch <= end + self.dt)).any(axis=1)
        saturated = (self.all_busy >= FINE_ALL_BUSY) & (self.busy_share >= FINE_BUSY)
        ok &= ~np.any(saturated & ~self._sheds_leaf[:, None], axis=0)
        ordered = saturated & (self._sheds_leaf & ~su.lifo)[:, None]  # a capped backlog served in order
        if self.breakers is not None:
            ok &= self.breakers.closed()
        if self.has_cache:  # a warming cache changes its callees' load
            ok &= np.all((self.warmth >= 0.99) | (su.cache_hit == 0.0), axis=0)
        if self.control is not None:
            ok &= self.control.quiet(t, end, self.dt)
        cell = su.layout.flow_cell
        soj = np.maximum(self.sojourn[cell], 1e-12)  # (F, R)
        late = np.exp(-su.flow_timeout_s / soj)  # 0 where there is no timeout
        # a saturated FIFO cell that sheds: each attempt waits behind the backlog ahead of it (about
        # sojourn - hold, not exponential), and only its own hold is random
        hold = np.maximum(self._hold[cell], 1e-12)
        behind = np.exp(-np.maximum(su.flow_timeout_s - (soj - hold), 0.0) / hold)
        late = np.where(ordered[cell], behind, late)
        return ok & np.all(late <= QUIET_TIMEOUTS, axis=0)

    def _update_fine(self, moving: np.ndarray) -> None:
        """Each ``moving`` replica's sub-steps for the next bin, from its own state only.

        Only a saturated caller's throughput follows its hold time (c / hold), so only then does a stale
        hold feed back into its callees' load: a caller's hold comes from its callees' latency one update
        earlier, and when an update is longer than the hold a saturated sync chain oscillates (measured: a
        5-service chain at dt = 0.2 s with 20-90 ms holds swung between 0 and 940 req/s around the 706 req/s
        that fine steps give). So a replica splits the bin into the power of two of sub-steps that makes one
        no longer than ``SUBSTEP_OF_HOLD`` x the shortest hold among its saturated sync callers (all busy at
        least ``FINE_ALL_BUSY`` of the time, and at least ``FINE_BUSY`` of their workers busy: a small pool
        is often all busy at ordinary load) that have a saturated cell below them, and into one when none
        has. The loop runs through a queue: a caller whose callees (and theirs) are not saturated has a hold
        set by work, rejections and backoff, which its own throughput does not move (S3 2017: launches and
        functions retrying a shedding S3 with 1-2 s backoffs, saturated for hours, took 8 sub-steps a bin
        before this rule and need none). It keeps a finer split until ``CALM_BINS`` bins have not needed it,
        so it does not flap.
        """
        callers = self._sync_callers
        if callers.size == 0:
            return
        saturated = (self.all_busy >= FINE_ALL_BUSY) & (self.busy_share >= FINE_BUSY)  # (C, R)
        # a hold follows the caller's own load only through a saturated cell below it (whose queue it
        # fills); below cells that are not saturated, the hold is set by work and backoff, not by load
        loaded_below = (self._below @ saturated.astype(np.float64)) > 0.0
        busy = saturated[callers] & loaded_below
        shortest = np.where(busy, self._hold[callers], np.inf).min(axis=0)
        ratio = self.dt / (SUBSTEP_OF_HOLD * np.maximum(shortest, 1e-9))
        need = np.where(np.isfinite(shortest),
                        np.exp2(np.ceil(np.log2(np.maximum(ratio, 1.0)) - 1e-9)).clip(1, MAX_SUBSTEPS), 1)
        need = need.astype(np.int64)
        calm = np.where(need >= self.m_r, 0, self._calm + 1)
        m_r = np.where((need >= self.m_r) | (calm >= CALM_BINS), need, self.m_r)
        self.m_r = np.where(moving, m_r, self.m_r)
        self._calm = np.where(moving, np.where(calm >= CALM_BINS, 0, calm), self._calm)


def sync_callers_and_below(su) -> tuple[np.ndarray, np.ndarray | sparse.csr_matrix]:
    """Engine cells that make sync calls, and for each the cells its sync calls reach (transitively).

    ``below[i, c]`` is 1 if a sync call chain from caller ``i`` reaches cell ``c``: the cells whose
    queues can feed back into its hold time. Dense up to ``DENSE_REACH_UP_TO`` entries (the sub-step rule
    multiplies it every bin, and scipy.sparse's overhead per call was 0.1 ms a bin on an 89-cell model),
    sparse above (a dense 1,000-cell model's product would cost more than that overhead).
    """
    link_cell = su.layout.link_cell
    sync = su.link_sync[su.route_link] & (link_cell[su.route_link] >= 0)
    g = nx.DiGraph()
    g.add_edges_from(zip(link_cell[su.route_link[sync]].tolist(), su.layout.route_cell[sync].tolist(),
                         strict=True))
    callers = np.unique(link_cell[su.link_sync & (link_cell >= 0)])
    rows, cols = [], []
    for i, c in enumerate(callers.tolist()):
        below = nx.descendants(g, c) if c in g else set()
        rows += [i] * len(below)
        cols += sorted(below)
    shape = (len(callers), len(su.layout.flow_start))
    if shape[0] * shape[1] > DENSE_REACH_UP_TO:
        return callers, sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
    below_m = np.zeros(shape)
    below_m[rows, cols] = 1.0
    return callers, below_m


def shedding_leaves(su, sync_callers: np.ndarray) -> np.ndarray:
    """bool[C]: cells whose saturation does not stop a coarse step: they shed what they cannot start
    within ``max_wait`` (so their queue is capped and their throughput is their capacity) and make no
    sync calls (so no caller's hold time follows theirs). A tenant's front end whose hosts crashed
    stays saturated for days of manual repair (CrowdStrike 2024); its state is still stationary."""
    out = np.isfinite(su.max_wait[:, 0])
    out[sync_callers] = False
    return out


def whole_bins(span_s: float, dt: float, of_bins: int) -> int:
    """Bins in a span of up to ``span_s`` (a coarse step, a control period): the most that fit and divide
    ``of_bins`` (a record interval's, or a coarse step's), at least one.

    Dividing the record interval keeps every record a mean over whole steps of every replica, and over
    whole control periods.
    """
    fits = [k for k in range(1, of_bins + 1) if of_bins % k == 0 and k * dt <= span_s + 1e-9]
    return max(fits, default=1)


def change_times(net: Network) -> np.ndarray:
    """Every time a fault effect, a restart or the load balancer's (lagged) view of them changes."""
    ts = net.change_times()
    return np.array(sorted(set(ts) | {t + net.lb_detect_s for t in ts}))
