"""outagesim: describe a cloud system in YAML, inject faults, and measure the cascade.

>>> import outagesim
>>> model, scenario = outagesim.load("examples/shop/model.yaml", "examples/shop/zone-loss.yaml")
>>> results = outagesim.simulate(model, scenario, replicas=4, seed=1)   # doctest: +SKIP
>>> results.to_pandas().head()                                          # doctest: +SKIP
"""

from .errors import (
    AnalysisError,
    ModelError,
    OutagesimError,
    Problem,
    ReportError,
    RunRefused,
    ScenarioError,
    StoreError,
    UnknownComponent,
)
from .model import Model, Scenario
from .model.load import apply_overrides, apply_variant, load, load_model, load_scenario, validate_files
from .model.schema import json_schema

_LAZY = {
    "RunRecord": ".record", "Results": ".results", "simulate": ".simulation",
    "Availability": ".analysis.windows", "impact": ".analysis.impact", "outage_windows": ".analysis.impact",
    "time_to_detect": ".analysis.impact",
    "compare": ".analysis.compare",
    "append_run": ".io.store", "list_runs": ".io.store", "read_run": ".io.store",
    "BlastRadius": ".analysis.blast", "Concentration": ".analysis.blast", "blast_radius": ".analysis.blast",
    "concentration": ".analysis.blast", "single_points_of_failure": ".analysis.blast",
    "list_replays": ".library", "replay_paths": ".library", "evaluate_milestones": ".analysis.milestones",
    "write_report": ".report.html",
}


def __getattr__(name: str):
    """Import the engine and analyses (numpy, numba, pandas, networkx) only when used: ``validate`` stays fast."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'outagesim' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = [
    "AnalysisError",
    "Availability",
    "BlastRadius",
    "Concentration",
    "Model",
    "ModelError",
    "OutagesimError",
    "Problem",
    "ReportError",
    "Results",
    "RunRecord",
    "RunRefused",
    "Scenario",
    "ScenarioError",
    "StoreError",
    "UnknownComponent",
    "append_run",
    "apply_overrides",
    "apply_variant",
    "blast_radius",
    "compare",
    "concentration",
    "evaluate_milestones",
    "impact",
    "json_schema",
    "list_replays",
    "list_runs",
    "load",
    "load_model",
    "load_scenario",
    "outage_windows",
    "read_run",
    "replay_paths",
    "simulate",
    "single_points_of_failure",
    "time_to_detect",
    "validate_files",
    "write_report",
]
