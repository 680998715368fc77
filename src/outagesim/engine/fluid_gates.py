"""What happens to calls on their links before they reach a cell, and the events it makes: open circuit
breakers and controllers (a throttle, an unresolvable DNS name) fail them at once; retry budgets run out
and refill. A mixin of :class:`~.fluid.FluidEngine`; the mechanisms themselves live in ``mechanisms/``
and ``controllers.py``.
"""

from __future__ import annotations

import numpy as np

from ..record import Event
from .mechanisms.calls import scatter_add


class LinkGates:
    """Breakers' and controllers' rejections on links; the controllers' view of each control period."""

    def _break(self, links: np.ndarray, active: np.ndarray) -> None:
        """Open or half-open breakers on ``links`` fail calls at once: off the link, into ``_blocked``."""
        sent = self.link_out[links]
        share = self.breakers.admit(links, sent.sum(axis=2), active, self._t)
        if np.any(share < 1.0):
            self._blocked[links] += sent.sum(axis=2) * (1.0 - share)
            self.link_out[links] = sent * share[:, :, None]

    def _reject(self, links: np.ndarray, active: np.ndarray) -> None:
        """Calls a controller does not admit (a throttle, an unresolvable DNS name) fail at once, off the
        link into ``_bounced``: failed attempts that took no time, which the caller retries by its policy
        (as SDKs retry a 429 or a failed lookup)."""
        share = np.where(active[None, :], self._admit[links], 1.0)
        if np.any(share < 1.0):
            sent = self.link_out[links]
            self._bounced[links] += sent * (1.0 - share)[:, :, None]
            self.link_out[links] = sent * share[:, :, None]

    @staticmethod
    def _bin_totals(n_c: int, n_t: int, n_l: int, r: int) -> dict[str, np.ndarray]:
        """What controllers observe of each control period (a bin, or ``control_k`` bins), summed over its
        updates: per cell, tenant and link."""
        sizes = {"arrivals": n_c, "goodput": n_c, "busy": n_c, "workers": n_c, "demand": n_t,
                 "tenant_goodput": n_t, "link_ok": n_l, "link_failed": n_l}
        return {k: np.zeros((n, r)) for k, n in sizes.items()}

    def _gather(self, counts, h_r, servers, first, link_succ, final) -> None:
        """Add one cell update's outcomes to the period's totals (busy and workers weighted by its length)."""
        b, su = self._bin, self.su
        b["arrivals"] += counts["arrivals"]
        b["goodput"] += counts["goodput"]
        b["busy"] += counts["in_service"] * h_r
        b["workers"] += servers * h_r
        b["demand"] += first
        scatter_add(b["tenant_goodput"], su.link_tenant[su.entry_links], link_succ[su.entry_links])
        b["link_ok"] += link_succ
        b["link_failed"] += final

    def _observe(self, t_end: float, cap: np.ndarray) -> None:
        """Report the period's outcomes to the controllers (network cell order), then clear them."""
        order, b = self.su.layout.cell_order, self._bin

        def network_order(x: np.ndarray) -> np.ndarray:  # engine cells -> network cells, replicas first
            out = np.empty_like(x)
            out[order] = x
            return out.T

        busy = np.where(b["workers"] > 0, b["busy"] / np.maximum(b["workers"], 1e-12), 0.0)
        self.control.observe(t_end, network_order(b["arrivals"]), network_order(b["goodput"]), network_order(cap),
                             b["demand"].T, b["tenant_goodput"].T, b["link_ok"].T, b["link_failed"].T,
                             network_order(busy))
        self._clear_totals()

    def _clear_totals(self) -> None:
        """Start a new control period: nothing observed yet."""
        for v in self._bin.values():
            v[:] = 0.0

    def _log(self, moves) -> None:
        """Events (kind, link, local replica) at the current bin's time."""
        names = None
        for kind, lk, r in moves:
            names = names or self.net.link_names()
            self.events.append(Event(self._t, kind, names[lk], "", int(r) + self.net.first_replica))

    def _budget_events(self, active: np.ndarray) -> None:
        """Log a link's retry budget running out (it denied 0.01 requests or more in an update) and
        coming back (refilled to half its cap)."""
        if not self._has_budgets:
            return
        out = (self._denied >= 0.01) & ~self._budget_out & active
        back = self._budget_out & (self.budget >= 0.5 * self.su.link_budget_cap) & active
        if out.any() or back.any():
            for kind, mask in (("retry_budget_exhausted", out), ("retry_budget_refilled", back)):
                self._log((kind, lk, r) for lk, r in zip(*np.nonzero(mask), strict=True))
            self._budget_out = (self._budget_out | out) & ~back
