"""Milestone helpers the replay tests share: the predictions that missed, and ad-hoc milestones' times."""

from __future__ import annotations

from collections.abc import Callable

from outagesim.analysis.milestones import evaluate_milestones


def missed_predictions(results, observed, *, skip: tuple[str, ...] = ()) -> list[tuple]:
    """(id, observed s, simulated s) of every prediction not within its tolerance; asserts there are >= 3."""
    rows = [r for r in evaluate_milestones(results, observed) if r.kind == "prediction"]
    assert len(rows) >= 3
    return [(r.id, r.observed_s, r.simulated_s) for r in rows if not r.within and r.id not in skip]


def when(results, observed, variant: str, sustain_s: Callable[[str], float] = lambda entity: 300.0,
         **milestones: tuple) -> dict[str, float | None]:
    """Simulated times (s after the anchor) of ad-hoc milestones, each ``id=(entity, metric, op, threshold,
    after)``, held for ``sustain_s(entity)``; None where it never happened."""
    spec = {"trigger": observed["trigger"], "milestones": {}}
    for mid, (entity, metric, op, threshold, after) in milestones.items():
        spec["milestones"][mid] = {"utc": None, "kind": "prediction", "predicate": {
            "entity": entity, "metric": metric, "op": op, "threshold": threshold,
            "sustain_s": sustain_s(entity), "after": after}}
    return {r.id: r.simulated_s for r in evaluate_milestones(results, spec, variant)}
