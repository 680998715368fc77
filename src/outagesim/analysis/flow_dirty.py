"""The static flow's worklist: cells whose values must be recomputed after a change (``flow.Flow``)."""

from __future__ import annotations

import numpy as np


class DirtyCells:
    """Cells waiting to be recomputed: a mask, and the indices marked since the last take (so a sweep
    looks only at what was marked, not at every cell of a 100,000-service model)."""

    def __init__(self, n: int):
        self.mask = np.zeros(n, bool)
        self.pending: list[np.ndarray] = []

    def mark(self, idx: np.ndarray) -> None:
        if idx.size:
            self.mask[idx] = True
            self.pending.append(idx)

    def take(self, level: np.ndarray, lv: int) -> np.ndarray:
        """The marked cells of level ``lv`` (unmarked on return); the others stay marked."""
        if not self.pending:
            return np.zeros(0, np.int64)
        idx = np.concatenate(self.pending) if len(self.pending) > 1 else self.pending[0]
        idx = idx[self.mask[idx]]
        here = level[idx] == lv
        self.pending = [idx[~here]] if (~here).any() else []
        out = np.unique(idx[here])
        self.mask[out] = False
        return out

    def clear(self) -> None:
        self.mask[:] = False
        self.pending = []

    def marked(self) -> np.ndarray:
        """Every marked cell, once."""
        if not self.pending:
            return np.zeros(0, np.int64)
        idx = np.concatenate(self.pending)
        return np.unique(idx[self.mask[idx]])

    def indices(self) -> np.ndarray:
        """The indices marked since the last take, with repeats and cells since unmarked (the compiled
        sweeps drop both as they read them, cheaper than a sort here)."""
        if not self.pending:
            return np.zeros(0, np.int64)
        return np.concatenate(self.pending) if len(self.pending) > 1 else self.pending[0]

    def resync(self, left: np.ndarray) -> None:
        """Pending = ``left``, the cells the compiled sweeps left marked in the mask (updated in place)."""
        self.pending = [left] if left.size else []
