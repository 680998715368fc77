"""What a bin starts from: fault effects at t, the route weights callers' load balancers see, and the
demand noise of the step. A mixin of :class:`~.fluid.FluidEngine`: it reads the network, keeps what
changes only at change times (or with the controllers' capacity) until it changes, and moves nothing.
"""

from __future__ import annotations

import numpy as np

from .network import route_weights


class BinInputs:
    """Fault effects, route weights and demand noise for the bin at t."""

    def _weights(self, t: float, control_cap: np.ndarray | None = None) -> np.ndarray:
        """Route weights as the callers' load balancers see capacity: faults after ``lb_detect_s``,
        controllers' changes (a target taken out, a restart) at once."""
        view = self.net.capacity_factor(max(t - self.net.lb_detect_s, 0.0))
        if control_cap is not None:
            view = view * control_cap
        key = view.tobytes()
        if key != self._w_key:
            self._w_key = key
            self._w = np.ascontiguousarray(route_weights(self.net, view).T)  # (P, R)
        return self._w

    def _faults_at(self, t: float):
        """Fault effects at t, recomputed only when t enters a new interval between change times."""
        net, order = self.net, self.su.layout.cell_order
        if self._effects is None or not (self._effects_t[0] <= t < self._effects_t[1]):
            times = self._change_times
            i = int(np.searchsorted(times, t, side="right"))
            lo = times[i - 1] if i > 0 else -np.inf
            hi = times[i] if i < len(times) else np.inf
            self._effects_t = (lo, hi)
            self._effects = (
                np.ascontiguousarray(net.capacity_factor(t)[:, order].T),
                np.ascontiguousarray(net.added_latency(t)[:, order].T),
                np.ascontiguousarray(net.error_fraction(t)[:, order].T),
                self._weights(t),
            )
        return self._effects

    def _normals(self, noisy: bool):
        """The step's standard normals for demand noise (log-rate and arrival count), per tenant and replica,
        drawn by Philox keyed by (seed, step) row by row, so replica k's do not depend on the replica count."""
        if not (self.noise and noisy) or len(self.net.tenants) == 0:
            return None
        n_t = len(self.net.tenants)
        gen = np.random.Generator(np.random.Philox(key=np.array([self.net.seed, self.step_index], np.uint64)))
        first = self.net.first_replica
        z = gen.standard_normal((first + self.net.replicas, 2 * n_t))[first:]  # row k = replica k, whatever R is
        return z[:, :n_t].T, z[:, n_t:].T
