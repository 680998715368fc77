"""outagesim: describe a cloud system in YAML, inject faults, and measure the cascade.

>>> import outagesim
>>> model, scenario = outagesim.load("examples/shop/model.yaml", "examples/shop/zone-loss.yaml")
>>> results = outagesim.simulate(model, scenario, replicas=4, seed=1)   # doctest: +SKIP
>>> results.to_pandas().head()                                          # doctest: +SKIP
"""

from .errors import ModelError, OutagesimError, Problem, RunRefused, ScenarioError
from .model import Model, Scenario
from .model.load import apply_overrides, apply_variant, load, load_model, load_scenario, validate_files
from .model.schema import json_schema
from .record import RunRecord
from .results import Results
from .simulate import simulate

__version__ = "0.1.0"

__all__ = [
    "Model",
    "ModelError",
    "OutagesimError",
    "Problem",
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
]
