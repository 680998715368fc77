"""The JSON Schema of model and scenario files, for editors (``outagesim schema``).

pydantic describes the validated types; the files are written with durations as text ('250ms') and
a model may ``include:`` others, so those parts of the schema are widened to what the files accept.
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ._explain import is_model, members
from ._patch import is_duration
from .scenario import Scenario
from .system import Model

DURATION_PATTERN = r"^\s*(\d+(\.\d*)?|\.\d+)\s*(ms|s|m|h|d)\s*$"
_DURATION = {"type": "string", "pattern": DURATION_PATTERN,
             "description": "a duration like '250ms', '30s', '2h'"}


def json_schema() -> dict[str, Any]:
    """One schema accepting either a model file or a scenario file (JSON Schema 2020-12)."""
    _, top = models_json_schema([(Model, "validation"), (Scenario, "validation")],
                                title="outagesim model or scenario file")
    defs = top["$defs"]
    for cls in _classes(Model) | _classes(Scenario):
        props = defs.get(cls.__name__, {}).get("properties", {})
        for name, field in cls.model_fields.items():
            if name in props and is_duration(field.annotation, list(field.metadata)):
                props[name] = {"anyOf": [_DURATION, {"const": 0}, props[name]],
                               **({"default": props[name]["default"]} if "default" in props[name] else {})}
    defs["Model"]["properties"]["include"] = {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        "description": "model files to merge in, relative to this file; items merge by name",
    }
    entry = defs["Tenant"]["properties"]["entry"]
    defs["Tenant"]["properties"]["entry"] = {"anyOf": [{"type": "string"}, entry],
                                             "description": entry.get("description", "")}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": top.get("title", "outagesim"),
        "anyOf": [{"$ref": "#/$defs/Model"}, {"$ref": "#/$defs/Scenario"}],
        "$defs": defs,
    }


def _classes(root: type[BaseModel]) -> set[type[BaseModel]]:
    """Every settings class reachable from ``root`` through field types."""
    seen: set[type[BaseModel]] = set()
    todo: list[Any] = [root]
    while todo:
        tp = todo.pop()
        for m in members(tp):
            if is_model(m) and m not in seen:
                seen.add(m)
                todo += [f.annotation for f in m.model_fields.values()]
            elif get_origin(m) in (dict, list):
                todo += list(get_args(m))
    return seen
