"""outagesim: describe a cloud system in YAML, inject faults, and measure the cascade.

>>> import outagesim
>>> model, scenario = outagesim.load("examples/shop/model.yaml", "examples/shop/zone-loss.yaml")
>>> results = outagesim.simulate(model, scenario, replicas=4, seed=1)   # doctest: +SKIP
>>> results.to_pandas().head()                                          # doctest: +SKIP
"""

from .errors import ModelError, OutagesimError, Problem, ReportError, RunRefused, ScenarioError
from .model import Model, Scenario
from .model.load import apply_overrides, apply_variant, load, load_model, load_scenario, validate_files
from .model.schema import json_schema

_LAZY = {"RunRecord": ".record", "Results": ".results", "simulate": ".simulate", "write_report": ".report.html"}


def __getattr__(name: str):
    """Import the engine and report (numpy, numba, pandas, plotly) only when used: ``outagesim validate`` stays fast."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'outagesim' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = [
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
    "apply_overrides",
    "apply_variant",
    "json_schema",
    "load",
    "load_model",
    "load_scenario",
    "simulate",
    "validate_files",
    "write_report",
]
