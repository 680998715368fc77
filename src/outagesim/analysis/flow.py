"""The static steady state at peak demand, with and without lost cells: who is served, who is not.

The engine's fluid network without time (DESIGN.md "The engine", steps 1-3 and 6), on a
:class:`~outagesim.analysis.flow_net.FlowNet`:

- **routing** (engine/network.py ``route_weights``): a call keeps to the caller's zone while its cell
  there is healthy (the local cell keeps its healthy share); the rest spills to the other candidate cells
  in proportion to their healthy workers; with nowhere healthy to go, calls stay (and fail) where they are;
- **hold time** of a worker = own work + Σ per_request x miss x thin x (time on the call) over sequential
  sync calls + the longest parallel one, where the time on a call is the callee cell's sojourn (its
  hold plus its stationary M/M/c wait, ``flow_cell.mean_wait``) capped at the call's timeout, and a
  lost cell rejects at once;
- **capacity** μ = workers x healthy share / hold; a cell **serves** min(λ, μ) and sends children
  served x per_request x miss x thin down each call (thin: share of requests whose earlier hard sync
  calls succeeded, since a hard failure ends the request);
- **success** of a request at a cell = own x (1 - miss + miss x Π over hard sync calls
  (1 - fail)^n (1 - frac x fail), per_request = n + frac)
  (the engine's formula, mechanisms/calls.py). Soft and async calls add load (soft sync ones also hold
  time) but never fail the caller. own = 1 while λ ≤ μ; an overloaded cell that bounds its waiting (a
  queue limit, load shedding or LIFO) serves the share μ/λ, one with an unbounded FIFO queue serves none
  in time: its backlog grows until every request it serves has outlived its caller's timeout
  (congestion collapse, which the engine reproduces; DESIGN.md "Metastability must emerge").

Load flows down the levels of the call graph's condensation and success flows up; the two are
repeated until nothing changes by more than ``TOL``. They interact through thinning, back edges around
async or soft cycles, and capacity: a callee near saturation waits long, which lengthens its sync
callers' hold, which cuts what they send it. Where that loop would swing between "saturated" and "not"
from round to round, each cell's hold moves only part of the way, halving its step every time its
direction reverses and growing it by a tenth while it holds (as Rprop does), but never past a ceiling
that halves at every reversal too, so the rounds close in on the balance the engine finds: the callee
just below saturation, its callers' workers waiting on it (backpressure). (Without the ceiling the
step grew back between reversals as fast as they halved it, and the loop cycled with a period of ~15
rounds: a FIFO caller's hold swinging by 2-3x, its success flipping between 0 and 1, its callees'
arrivals by up to 3x; on the 100,000-service benchmark stopping after round 30 or after round 31
gave 37 of 405 components different answers, 5 with the ceiling.) The ceiling ends the cycles, but the
cells then close in slowly, and on that model most zone losses still stop at ``MAX_ROUNDS`` with a few
hundred cells moving (most of them lost or without traffic, following their callees). Every loss starts
its damping afresh (the base's steps and ceilings are reset once it is built). After ``MAX_ROUNDS``
the state is left where it is (the base state's too, so every loss starts from the same state). After
a failure only what changes is
recomputed: a "dirty" cell is re-evaluated, and marks its callees (load) or callers (success) only when
its values moved, so a zone's loss in a 300-zone model touches that region, not the world.

On big models the sweeps run compiled (:mod:`~outagesim.analysis.flow_kernel`, the same operations in the
same order, on the kernel's own copy of the state with cells numbered by zone; this object's arrays then
hold the base state, in the FlowNet's numbering): a loss re-evaluates a few dozen to a few thousand cells
per level for up to ``MAX_ROUNDS`` rounds, and in numpy each of those small updates cost tens of array
calls. The numpy sweeps below stay as
the readable statement of the method, the reference the kernel is tested against, and the faster choice
on small models (``COMPILED_FROM``).
"""

from __future__ import annotations

import numpy as np

from .flow_arrays import State, layout, net_arrays
from .flow_cell import mean_wait, own_ok
from .flow_dirty import DirtyCells
from .flow_kernel import restore, reweigh, settle
from .flow_net import FlowNet
from .graph import _ranges

TOL = 1e-4
MAX_ROUNDS = 30
COMPILED_FROM = 5_000  # cells: smaller models settle in numpy in well under the kernel's load time
_CELL = ("alive", "lam", "hold", "soj", "succ", "step", "trend", "lam_sum", "lam_stale")
_LINK = ("out", "calls", "fail", "thin", "call_time", "call_ok", "link_stale")


def _distinct(sorted_ids: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array (np.unique without its sort)."""
    first = np.ones(len(sorted_ids), bool)
    first[1:] = sorted_ids[1:] != sorted_ids[:-1]
    return sorted_ids[first]


def _seg(counts: np.ndarray) -> np.ndarray:
    """Segment id of each element when segment i has counts[i] elements."""
    return np.repeat(np.arange(len(counts)), counts)


class Flow:
    """The steady state of one model; :meth:`lose` evaluates a loss and puts the state back after.

    ``compiled=True`` runs the sweeps in :mod:`~outagesim.analysis.flow_kernel`; ``False`` runs the numpy
    sweeps below, which say the same thing readably and are what the kernel is tested against. Both give
    the same numbers, so the default (None) chooses by speed alone: compiled from ``COMPILED_FROM`` cells,
    below which loading the kernel (about 0.4 s per process, from numba's cache) costs more than it saves.
    """

    def __init__(self, net: FlowNet, *, queueing: bool = True, compiled: bool | None = None):
        self.net = net
        self.queueing = queueing  # False: a call takes the callee's hold, never a wait (unloaded)
        self.compiled = len(net.cell_zone) >= COMPILED_FROM if compiled is None else compiled
        n_c, n_l, n_p = len(net.cell_zone), len(net.link_cell), len(net.route_cell)
        self.alive = np.ones(n_c)
        self.lam, self.hold, self.soj, self.succ = np.zeros(n_c), net.own_s.copy(), net.own_s.copy(), np.ones(n_c)
        self.step, self.trend = np.ones(n_c), np.zeros(n_c)  # damping of hold updates (log-space step, sign)
        self.out, self.calls, self.fail, self.thin = np.zeros(n_l), np.zeros(n_l), np.zeros(n_l), np.ones(n_l)
        self.w = np.zeros(n_p)
        # the compiled sweeps' memory of sums over routes, redone only when an input was written (stale)
        self.lam_sum, self.lam_stale = np.zeros(n_c), np.ones(n_c, bool)
        self.call_time, self.call_ok, self.link_stale = np.zeros(n_l), np.zeros(n_l), np.ones(n_l, bool)
        level = net.service_level[net.cell_service]
        order = np.argsort(level, kind="stable")
        bounds = np.searchsorted(level[order], np.arange(int(level.max(initial=-1)) + 2))
        self.levels = [order[bounds[i]:bounds[i + 1]] for i in range(len(bounds) - 1)]
        self.entry = np.flatnonzero(net.link_cell < 0)
        self.out[self.entry] = net.peak_rps[net.link_tenant[self.entry]] * net.per_request[self.entry]
        # what a loss wrote, to put back after it (masks: the compiled sweeps set them in place)
        self._touched = {"cell": np.zeros(n_c, bool), "link": np.zeros(n_l, bool), "route": np.zeros(n_p, bool)}
        self._link_scratch = np.zeros(n_l, bool)  # all False between uses
        self.cell_level = level
        self._fwd = DirtyCells(n_c)  # cells whose arrivals must be recomputed (load flows down)
        self._bwd = DirtyCells(n_c)  # cells whose hold and success must be recomputed (failure flows up)
        self._fwd.mark(np.arange(n_c))
        self._bwd.mark(np.arange(n_c))
        self._reweigh(np.arange(n_l))
        if self.compiled:
            self._kernel_init()
        self._settle()
        if self.compiled:
            self._kernel_state_out()
        # Cells still moving after MAX_ROUNDS are left where they are, as after a loss, and their marks
        # dropped: left marked, the first loss evaluated would settle them further as part of its own, so
        # its answer would depend on the order of evaluation (and, with workers, on the split). On the
        # 100,000-service benchmark 200-300 cells, some past or near saturation, were still moving after
        # 330 rounds: they cycle rather than settle slowly, so more rounds would not help.
        self.base_unsettled = len(np.union1d(self._fwd.marked(), self._bwd.marked()))
        self._fwd.clear()
        self._bwd.clear()
        for mask in self._touched.values():
            mask[:] = False
        # Every loss starts its damping afresh (full step, no direction, no ceiling): the base's steps
        # were narrowed around the base's balance and would slow a cell's move to a new one.
        for arrays in (self, self._kernel_state) if self.compiled else (self,):
            arrays.step[:] = 1.0
            arrays.trend[:] = 0.0
        self.base = {k: getattr(self, k).copy() for k in (*_CELL, *_LINK, "w")}
        if self.compiled:  # the base in the kernel's numbering, to restore from (its touched masks unused)
            self._base_state = State(*(getattr(self._kernel_state, k).copy() for k in State._fields[:-2]),
                                     touched_cell=self._touched["cell"], touched_link=self._touched["link"])

    # ------------------------------------------------------------------ the compiled sweeps' numbering
    def _kernel_init(self) -> None:
        """The kernel's copy of the state, renumbered (flow_arrays.layout); from here on the dirty sets and
        touched masks are in the kernel's numbering (every cell is marked, as before)."""
        net, lay = self.net, layout(self.net)
        self._lay = lay
        self._kernel_net = net_arrays(lay.net, self.cell_level[lay.cell_old], cell_key=lay.cell_old)
        old = self._old_index()
        n_c, n_l, n_p = len(lay.cell_old), len(lay.link_old), len(lay.route_old)
        self._touched = {"cell": np.zeros(n_c, bool), "link": np.zeros(n_l, bool), "route": np.zeros(n_p, bool)}
        self._kernel_state = State(*(getattr(self, k)[old[k]] for k in State._fields[:-2]),
                                   touched_cell=self._touched["cell"], touched_link=self._touched["link"])
        self._fwd, self._bwd = DirtyCells(n_c), DirtyCells(n_c)
        self._fwd.mark(np.arange(n_c))
        self._bwd.mark(np.arange(n_c))
        routes = _ranges(net.route_start[self.entry], net.route_start[self.entry + 1])
        self._entry_routes = lay.route_new[routes]  # the entry links' routes, in _link_fail's order
        self._entry_seg = _seg(net.route_start[self.entry + 1] - net.route_start[self.entry])

    def _old_index(self) -> dict[str, np.ndarray]:
        """Per State field, the FlowNet index of each of the kernel's elements."""
        lay = self._lay
        links = {"out", "calls", "fail", "thin", "call_time", "call_ok", "link_stale"}
        return {k: lay.route_old if k == "w" else lay.link_old if k in links else lay.cell_old
                for k in State._fields[:-2]}

    def _kernel_state_out(self) -> None:
        """The kernel's state back into this object's arrays, in the FlowNet's numbering."""
        for k, idx in self._old_index().items():
            getattr(self, k)[idx] = getattr(self._kernel_state, k)

    # ------------------------------------------------------------------ outcomes
    def tenant_ok(self) -> np.ndarray:
        """Share of each tenant's demand served, float[T]."""
        net = self.net
        ok = 1.0 - self._link_fail(self.entry)
        return np.bincount(net.link_tenant[self.entry], net.per_request[self.entry] * ok,
                           minlength=len(net.tenants))

    def service_ok(self, services: np.ndarray, state: tuple | None = None) -> np.ndarray:
        """Share of each given service's arrivals served (1 with no arrivals and some capacity), float[n].
        ``state``: (lam, succ, alive, index of each FlowNet cell in them) instead of this object's arrays."""
        net = self.net
        lo, hi = net.svc_start[services], net.svc_start[services + 1]
        cells = _ranges(lo, hi)
        seg = _seg(hi - lo)
        lam_a, succ_a, alive_a, at = (self.lam, self.succ, self.alive, None) if state is None else state
        k = cells if at is None else at[cells]
        lam = np.bincount(seg, lam_a[k], minlength=len(services))
        good = np.bincount(seg, lam_a[k] * succ_a[k], minlength=len(services))
        cap = np.bincount(seg, net.workers[cells] * alive_a[k], minlength=len(services))
        return np.where(lam > 0, good / np.where(lam > 0, lam, 1.0), (cap > 0).astype(float))

    def entry_share_by_cell(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(tenant, cell, rate) of every entry route: where each tenant's requests enter."""
        net = self.net
        routes = _ranges(net.route_start[self.entry], net.route_start[self.entry + 1])
        links = net.route_link[routes]
        return net.link_tenant[links], net.route_cell[routes], self.out[links] * self.w[routes]

    # ------------------------------------------------------------------ a loss
    def lose(self, cells: np.ndarray, share: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lose ``share`` of ``cells``' instances; return (tenant_ok, touched services, their ok).

        The state is restored afterwards, so losses are evaluated one at a time from the base.
        """
        net = self.net
        if np.any(cells[1:] <= cells[:-1]):  # a component's cells come sorted and unique
            cells = np.unique(cells)
        if self.compiled:
            return self._lose_compiled(cells, share)
        self._write("cell", cells, alive=self.alive[cells] * (1.0 - share))
        self._fwd.mark(cells)
        self._bwd.mark(cells)
        into = net.in_route[_ranges(net.in_start[cells], net.in_start[cells + 1])]
        links = self._once(net.route_link[into])  # the links routing into the lost cells
        self._write("link", links, link_stale=True)  # a lost callee rejects at once
        self._reweigh(links)
        self._settle()
        tenants = self.tenant_ok()
        services = _distinct(net.cell_service[np.flatnonzero(self._touched["cell"])])  # cells grouped by service
        result = tenants, services, self.service_ok(services)
        self._restore()
        return result

    def _lose_compiled(self, cells: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """lose() on the kernel's state (its numbering): the same steps, the same numbers; this object's
        arrays stay at the base."""
        net, lay, kn, st = self.net, self._lay, self._kernel_net, self._kernel_state
        kc = lay.cell_new[cells]
        st.alive[kc] = st.alive[kc] * (1.0 - share)
        st.touched_cell[kc] = True
        self._fwd.mark(kc)
        self._bwd.mark(kc)
        into = kn.in_route[_ranges(kn.in_start[kc], kn.in_start[kc + 1])]
        links = self._once(kn.route_link[into])
        st.link_stale[links] = True  # a lost callee rejects at once
        st.touched_link[links] = True
        self._reweigh(links)
        self._settle()
        r = self._entry_routes
        fail = np.clip(1.0 - np.bincount(self._entry_seg, st.w[r] * st.succ[kn.route_cell[r]],
                                         minlength=len(self.entry)), 0.0, 1.0)  # _link_fail(entry)
        tenants = np.bincount(net.link_tenant[self.entry], net.per_request[self.entry] * (1.0 - fail),
                              minlength=len(net.tenants))
        services = _distinct(net.cell_service[np.sort(lay.cell_old[np.flatnonzero(st.touched_cell)])])
        result = tenants, services, self.service_ok(services, state=(st.lam, st.succ, st.alive, lay.cell_new))
        self._restore()
        return result

    def _once(self, links: np.ndarray) -> np.ndarray:
        """``links`` once each, in order: a mask and a scan, cheaper than np.unique's sort for the
        100,000s of links into a provider's cells."""
        seen = self._link_scratch
        seen[links] = True
        out = np.flatnonzero(seen)
        seen[out] = False
        return out

    def _write(self, kind: str, idx: np.ndarray, **values: np.ndarray) -> None:
        self._touched[kind][idx] = True
        for name, v in values.items():
            getattr(self, name)[idx] = v

    def _restore(self) -> None:
        if self.compiled:
            restore(self._kernel_state, self._base_state, *(np.flatnonzero(self._touched[k])
                                                            for k in ("cell", "link", "route")),
                    self._touched["route"])
            self._fwd.clear()
            self._bwd.clear()
            return
        arrays = {"cell": _CELL, "link": _LINK, "route": ("w",)}
        for kind, names in arrays.items():
            idx = np.flatnonzero(self._touched[kind])
            for name in names:
                getattr(self, name)[idx] = self.base[name][idx]
            self._touched[kind][idx] = False
        self._fwd.clear()
        self._bwd.clear()

    # ------------------------------------------------------------------ routing
    def _reweigh(self, links: np.ndarray) -> None:
        """Route weights of ``links`` from the cells' healthy shares (engine/network.py route_weights)."""
        if self.compiled and hasattr(self, "_base_state"):  # (the base's, over every link, in numpy)
            fwd, bwd = reweigh(links, self._kernel_net, self._kernel_state, TOL, self._touched["route"])
            self._fwd.mark(fwd)
            self._bwd.mark(bwd)
            return
        net = self.net
        counts = net.route_start[links + 1] - net.route_start[links]
        routes = _ranges(net.route_start[links], net.route_start[links + 1])
        seg = _seg(counts)
        n = len(links)
        cell = net.route_cell[routes]
        h = self.alive[cell]
        local = net.route_local[routes]
        remote_cap = np.where(local, 0.0, net.workers[cell] * h)
        remote_tot = np.bincount(seg, remote_cap, minlength=n)[seg]
        nominal = np.where(local, 0.0, net.workers[cell])
        nominal_tot = np.bincount(seg, nominal, minlength=n)[seg]
        has_local = np.bincount(seg, local, minlength=n)[seg] > 0
        local_share = np.bincount(seg, np.where(local, h, 0.0), minlength=n)[seg]
        remote_w = np.where(remote_tot > 0, remote_cap / np.where(remote_tot > 0, remote_tot, 1.0), 0.0)
        fallback = np.where(nominal_tot > 0, nominal / np.where(nominal_tot > 0, nominal_tot, 1.0), 0.0)
        remote_w = np.where((remote_tot <= 0) & ~has_local, fallback, remote_w)
        w = np.where(local, local_share, (1.0 - local_share) * remote_w)
        w = np.where(local & (remote_tot <= 0), 1.0, w)
        moved = np.abs(w - self.w[routes]) > TOL
        self._write("route", routes[moved], w=w[moved])
        self._write("cell", cell[moved], lam_stale=True)
        self._write("link", net.route_link[routes[moved]], link_stale=True)
        self._fwd.mark(cell[moved])  # their load changes
        callers = net.link_cell[net.route_link[routes[moved]]]
        self._bwd.mark(callers[callers >= 0])  # their calls' time and failure change

    def _link_fail(self, links: np.ndarray) -> np.ndarray:
        net = self.net
        routes = _ranges(net.route_start[links], net.route_start[links + 1])
        seg = _seg(net.route_start[links + 1] - net.route_start[links])
        ok = np.bincount(seg, self.w[routes] * self.succ[net.route_cell[routes]], minlength=len(links))
        return np.clip(1.0 - ok, 0.0, 1.0)

    # ------------------------------------------------------------------ sweeps
    def _settle(self) -> None:
        """Alternate load (down) and success (up) sweeps until no cell is dirty."""
        if self.compiled:
            fwd_left, bwd_left = settle(self._kernel_net, self._kernel_state, self._fwd.mask, self._bwd.mask,
                                        self._fwd.indices(), self._bwd.indices(), MAX_ROUNDS, TOL, self.queueing)
            self._fwd.resync(fwd_left)
            self._bwd.resync(bwd_left)
            return
        for _ in range(MAX_ROUNDS):
            if not (self._fwd.pending or self._bwd.pending):
                return
            for lv in range(len(self.levels)):
                x = self._fwd.take(self.cell_level, lv)
                if x.size:
                    self._forward(x)
            for lv in reversed(range(len(self.levels))):
                x = self._bwd.take(self.cell_level, lv)
                if x.size:
                    self._backward(x)

    def _forward(self, x: np.ndarray) -> None:
        """Arrivals of cells ``x`` from their inbound routes; then the calls they send down."""
        net = self.net
        counts = net.in_start[x + 1] - net.in_start[x]
        routes = net.in_route[_ranges(net.in_start[x], net.in_start[x + 1])]
        lam = np.bincount(_seg(counts), self.out[net.route_link[routes]] * self.w[routes], minlength=len(x))
        moved = np.abs(lam - self.lam[x]) > TOL * np.maximum(1.0, np.abs(lam))
        self._write("cell", x[moved], lam=lam[moved])
        self._bwd.mark(x[moved])
        links = _ranges(net.link_start[x], net.link_start[x + 1])
        if not links.size:
            return
        c = net.link_cell[links]
        served = np.minimum(self.lam[c], net.workers[c] * self.alive[c] / self.hold[c])
        out = served * net.per_request[links] * net.miss[c] * self.thin[links]
        moved = np.abs(out - self.out[links]) > TOL * np.maximum(1.0, np.abs(out))
        self._write("link", links[moved], out=out[moved])
        changed = links[moved]
        self._fwd.mark(net.route_cell[_ranges(net.route_start[changed], net.route_start[changed + 1])])

    def _backward(self, x: np.ndarray) -> None:
        """Time on and failure of cells ``x``'s calls; their hold time, capacity and success."""
        net = self.net
        counts = net.link_start[x + 1] - net.link_start[x]
        links = _ranges(net.link_start[x], net.link_start[x + 1])
        cseg = _seg(counts)
        n = len(x)
        if links.size:
            r_counts = net.route_start[links + 1] - net.route_start[links]
            routes = _ranges(net.route_start[links], net.route_start[links + 1])
            lseg = _seg(r_counts)
            rc = net.route_cell[routes]
            w = self.w[routes]
            timed = (self.alive[rc] > 0) & net.sync[links][lseg]  # a lost cell rejects; async: no wait
            each = np.where(timed, np.minimum(self.soj[rc], net.timeout_s[links][lseg]), 0.0)
            calls = np.bincount(lseg, w * each, minlength=len(links))
            fail = np.clip(1.0 - np.bincount(lseg, w * self.succ[rc], minlength=len(links)), 0.0, 1.0)
            hard = net.hard[links] & net.sync[links]
            pr = net.per_request[links]  # n calls and one more with probability frac, as the engines draw them
            f = np.minimum(fail, 1 - 1e-12)
            log_ok = np.where(hard, np.floor(pr) * np.log1p(-f) + np.log1p(-(pr - np.floor(pr)) * f), 0.0)
            csum = np.cumsum(log_ok)
            first = np.concatenate([[0], np.cumsum(counts)[:-1]])[cseg]
            thin = np.exp(csum - log_ok - (csum[first] - log_ok[first]))
            moved = (np.abs(calls - self.calls[links]) > TOL) | (np.abs(fail - self.fail[links]) > TOL)
            moved |= np.abs(thin - self.thin[links]) > TOL
            self._write("link", links[moved], calls=calls[moved], fail=fail[moved], thin=thin[moved])
            self._fwd.mark(net.link_cell[links[moved]])
            c = net.link_cell[links]
            spent = net.per_request[links] * net.miss[c] * thin * calls
            seq = net.sync[links] & ~net.parallel[links]
            par = net.sync[links] & net.parallel[links]
            longest = np.zeros(n)
            np.maximum.at(longest, cseg[par], spent[par])
            hold = net.own_s[x] + np.bincount(cseg[seq], spent[seq], minlength=n) + longest
            calls_ok = np.exp(np.bincount(cseg, log_ok, minlength=n))
        else:
            hold, calls_ok = net.own_s[x].copy(), np.ones(n)
        hold = self._damped(x, np.maximum(hold, 1e-12))
        mu = net.workers[x] * self.alive[x] / hold
        succ = own_ok(self.lam[x], mu, net.bounded[x]) * (1.0 - net.miss[x] + net.miss[x] * calls_ok)
        soj = hold + mean_wait(self.lam[x], hold, net.workers[x] * self.alive[x], net.cv[x]) if self.queueing \
            else hold
        old = self.soj[x]
        both = np.isfinite(soj) & np.isfinite(old)
        gap = np.abs(np.where(both, soj, 0.0) - np.where(both, old, 0.0))
        soj_moved = np.where(both, gap > TOL * np.where(both, soj, 0.0), np.isfinite(soj) != np.isfinite(old))
        moved = (np.abs(hold - self.hold[x]) > TOL * hold) | (np.abs(succ - self.succ[x]) > TOL) | soj_moved
        self._write("cell", x[moved], hold=hold[moved], soj=soj[moved], succ=succ[moved])
        changed = x[moved]
        self._fwd.mark(changed)  # capacity (served) may have moved
        into = net.in_route[_ranges(net.in_start[changed], net.in_start[changed + 1])]
        callers = net.link_cell[net.route_link[into]]
        self._bwd.mark(callers[callers >= 0])

    def _damped(self, x: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Move cells ``x``'s hold toward ``target`` in log space by their step: halve a cell's step when
        its direction reverses (a saturation loop converges instead of swinging), grow it by a tenth while
        the direction holds, up to a ceiling that starts at the whole way and halves at every reversal
        (kept in ``trend``: direction x ceiling), so the step cannot grow back between reversals as fast
        as they halve it (that kept a loop cycling)."""
        old = self.hold[x]
        ratio = np.log(target / old)
        sign = np.sign(ratio)
        trend = self.trend[x]
        flip = (sign * trend) < 0
        ceiling = np.where(trend != 0, np.abs(trend), 1.0)
        ceiling = np.where(flip, 0.5 * ceiling, ceiling)
        step = np.where(flip, 0.5 * self.step[x], np.minimum(ceiling, 1.1 * self.step[x]))
        self._write("cell", x, step=step, trend=np.where(sign != 0, sign * ceiling, trend))
        return old * np.exp(step * ratio)
