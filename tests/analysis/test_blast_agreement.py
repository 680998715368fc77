"""Static blast radius against brute-force simulation: every failure domain of small random models lost
in turn, at peak demand, in the fluid engine; a tenant is dynamically down when its goodput stays below
50% of its demand for 5 minutes (analysis/windows.py ``down_mask``)."""

from __future__ import annotations

import pytest

import outagesim
from outagesim.analysis.blast import StaticBlast
from outagesim.analysis.components import Component, components
from outagesim.model import Model

from .random_models import failure_scenario, random_model

FAULT = {"zone": "zone_down", "region": "region_down", "provider": "region_down", "service": "service_down",
         "cell": "service_down"}
# A permanent loss from t = 0 and a 10-minute run: an overloaded FIFO queue needs up to ~4 minutes to
# collapse (its backlog must outgrow the callers' timeouts), and "down" needs 5 minutes below 50%.
RUN = "10m"


def dynamic_down(model: Model, comp: Component) -> tuple[tuple[str, ...], dict[str, float]]:
    """Tenants down in the fluid engine after losing ``comp``, and each one's served share at the end."""
    results = outagesim.simulate(model, failure_scenario(FAULT[comp.kind], comp.name, duration=RUN),
                                 replicas=1, seed=1, noise=False)
    out = results.outcomes["base"]
    tenants = out[out.entity_kind == "tenant"]
    rec = results.runs["base"]
    served = {t: float(rec.get("tenant", t, "goodput")[0][-6:].sum() / rec.get("tenant", t, "demand")[0][-6:].sum())
              for t in model.tenants}
    return tuple(sorted(tenants[tenants.minutes_down > 0].entity)), served


def compare(seeds: list[int], attempts: int = 1) -> tuple[int, list[str]]:
    """(cases, differences) of static vs dynamic downed tenants over every failure domain of each model."""
    cases, diffs = 0, []
    for seed in seeds:
        model = random_model(seed, attempts=attempts, client_attempts=attempts)
        static = StaticBlast(model)
        for comp in components(static.net):
            radius = static.loss(comp)
            dyn, served = dynamic_down(model, comp)
            cases += 1
            if tuple(sorted(radius.tenants_down)) != dyn:
                shares = ", ".join(f"{t} {radius.tenant_served[t]:.2f}/{served[t]:.2f}" for t in sorted(served))
                diffs.append(f"seed {seed} {comp.kind} {comp.name}: static {radius.tenants_down}, "
                             f"simulated {dyn} (served static/simulated at the end: {shares})")
    return cases, diffs


def _assert_agreement(cases: int, diffs: list[str]) -> None:
    agree = cases - len(diffs)
    assert agree >= 0.95 * cases, f"{agree}/{cases} agree; differences:\n" + "\n".join(diffs)


def test_static_blast_radius_agrees_with_simulation():
    """Losing each zone, region, provider and service of a random model in turn, the static and simulated
    sets of downed tenants agree in at least 95% of cases."""
    _assert_agreement(*compare([1]))


@pytest.mark.slow
def test_static_blast_radius_agrees_with_simulation_on_eight_models():
    """Over eight random models (about 140 losses) static and simulated downed tenants agree in >= 95% of cases."""
    _assert_agreement(*compare(list(range(1, 9))))


def _soft_cache_model(attempts: int) -> Model:
    """api (two zones, 20 workers each, 5 req/s each) calls a soft cache (two zones at utilisation 0.6)
    with a 2 s timeout and ``attempts`` attempts."""
    retry = {"max_attempts": attempts, "backoff": {"base": "500ms", "multiplier": 2}, "jitter": "full"}
    return Model.model_validate({
        "providers": {"cloud": {"regions": {"r1": {"zones": {"a": {}, "b": {}}}}}},
        "services": {
            "api": {"instances": {"a": 1, "b": 1}, "concurrency": 20, "service_time": {"mean": "200ms"},
                    "calls": {"cache": {"required": "soft", "timeout": "2s", "retry": retry}}},
            "cache": {"instances": {"a": 1, "b": 1}, "concurrency": 2, "service_time": {"mean": "240ms"}}},
        "tenants": {"web": {"entry": "api", "demand": {"peak_rps": 10}, "client": {"timeout": "30s"}}}})


def test_retries_make_the_static_answer_optimistic():
    """Losing one cache cell overloads the other (0.6 -> 1.2): statically api waits one 2 s timeout per
    request (utilisation 0.55, up); with three attempts the engine holds api's workers for three timeouts
    and backoffs (about 1.7), so the tenant goes down although the static answer, and the run without
    retries, say up."""
    lost = "cache@a"
    for attempts, simulated in ((1, ()), (3, ("web",))):
        model = _soft_cache_model(attempts)
        static = StaticBlast(model)
        comp = next(c for c in components(static.net, ("cell",)) if c.name == "cache@cloud/r1/a")
        radius = static.loss(comp)
        assert radius.tenants_down == () and radius.tenant_served["web"] == 1.0
        assert radius.services_down == ("cache",)
        dyn, _ = dynamic_down(model, Component("cell", lost, comp.cells))
        assert dyn == simulated, (attempts, dyn)
