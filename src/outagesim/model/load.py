"""YAML files -> validated Model and Scenario, with every problem reported at once as file:line.

``include:`` paths are relative to the including file; included items merge by name and an item
defined twice is an error citing both places. The loader remembers the plain data each object was read
from, so variants (merge patches) and ``--set`` overrides change the model as written, and problems
after a change still point at the line that caused them.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import weakref
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ..errors import ModelError, Problem
from ._explain import branch, error_paths, explain, is_model, members, type_at, value_at
from ._include import Assembly, Cache, read_cached, top_map_problems
from ._patch import OVERRIDE_FILE, as_written, merge_patch, parse_assignment, patch_problems, set_override
from ._source import Locate, Path, dotted
from .checks import check_model, check_scenario, errors
from .names import did_you_mean
from .scenario import Scenario
from .system import Model

__all__ = ["apply_overrides", "apply_variant", "load", "load_model", "load_scenario", "set_override",
           "validate_files"]

_SALVAGE_ROUNDS = 4

# id(object) -> (plain data as written, locate); entries vanish with their object.
_WRITTEN: dict[int, tuple[dict, Locate]] = {}


def _remember(obj: BaseModel, data: dict, locate: Locate) -> None:
    """Keep the plain data and locations an object was validated from, for variants and overrides."""
    _WRITTEN[id(obj)] = (data, locate)
    weakref.finalize(obj, _WRITTEN.pop, id(obj), None)


def _written(obj: BaseModel) -> tuple[dict, Locate]:
    """The plain data an object came from (rebuilt from the object when it was not loaded here)."""
    if id(obj) in _WRITTEN:
        return _WRITTEN[id(obj)]
    label = f"<{type(obj).__name__.lower()}>"
    return as_written(obj), lambda path: (label, None)


# -- validation with salvage, so name and graph checks still run when some items are broken --------------

def _cut(path: Path, typ: str, root: Any, data: Any) -> Path | None:
    """The smallest part to drop so the rest may validate: an unknown key, or the named item holding it."""
    if typ == "extra_forbidden":
        return path
    for k in range(len(path), 1, -1):
        kind = type_at(root, path[:k - 1], data)
        kind = branch(kind, {}) if kind is not None else None
        if get_origin(kind) is dict and all(is_model(m) for m in members(get_args(kind)[1])):
            return path[:k]
    return None


def _validate(root: type[BaseModel], data: dict, locate: Locate) -> tuple[Any, Any, list[Problem], set]:
    """(object, salvaged object, problems, removed items).

    When validation fails, broken items (a call, a service, a fault) are dropped, a few rounds at most,
    so the name and graph checks can still run on the rest: every problem is reported at once.
    """
    try:
        return root.model_validate(data), None, [], set()
    except ValidationError as exc:
        problems = explain(exc, data, root, locate, {(): ["include"]} if root is Model else None)
        failure = exc
    pruned, removed = copy.deepcopy(data), set()
    for _ in range(_SALVAGE_ROUNDS):
        cuts = [_cut(p, t, root, pruned) for p, t in error_paths(failure, pruned)]
        if not cuts or any(c is None for c in cuts):
            break
        for cut in sorted(set(cuts), key=len, reverse=True):
            parent = value_at(pruned, cut[:-1])
            if isinstance(parent, dict):
                parent.pop(cut[-1], None)
        removed |= {c[:2] for c in cuts if c is not None and len(c) == 2}
        try:
            return None, root.model_validate(pruned), problems, removed
        except ValidationError as exc:
            failure = exc
    return None, None, problems, set()


def _check_model_data(data: dict, locate: Locate) -> tuple[Model | None, list[Problem]]:
    """Validate and check plain model data: the Model (None on any error) and every problem."""
    model, salvaged, problems, removed = _validate(Model, data, locate)
    if model is not None:
        problems += check_model(model, locate)
    elif salvaged is not None:
        problems += errors(check_model(salvaged, locate, removed=removed))
    return (model if not errors(problems) else None), problems


def _check_scenario_data(data: dict, locate: Locate,
                         model: Model | None) -> tuple[Scenario | None, list[Problem]]:
    """Validate and check plain scenario data: the Scenario (None on any error) and every problem."""
    scenario, salvaged, problems, _ = _validate(Scenario, data, locate)
    if scenario is not None or salvaged is not None:
        problems += check_scenario(scenario or salvaged, model, locate)
    return (scenario if not errors(problems) else None), problems


def _model(path: str, cache: Cache) -> tuple[Model | None, list[Problem], set[str]]:
    """Load one model file with its includes: the Model or None, problems, and the files read."""
    asm = Assembly(cache)
    asm.visit(path)
    if not asm.files:
        return None, asm.problems, asm.files
    src = asm.source(path)
    model, problems = _check_model_data(asm.data, src.locate)
    problems = asm.problems + problems
    if errors(problems):
        return None, problems, asm.files
    assert model is not None
    _remember(model, asm.data, src.locate)
    return model, problems, asm.files


def _scenario(path: str, cache: Cache, model: Model | None) -> tuple[Scenario | None, list[Problem]]:
    """Load one scenario file, checking its faults against ``model`` when there is one."""
    src, problems = read_cached(path, cache)
    if src is None:
        return None, problems
    if top_map_problems(src):
        return None, top_map_problems(src)
    scenario, problems = _check_scenario_data(src.data, src.locate, model)
    if scenario is not None:
        _remember(scenario, src.data, src.locate)
    return scenario, problems


def _raise(problems: list[Problem]) -> None:
    """Raise ModelError (errors first, then warnings) when any problem is an error."""
    if errors(problems):
        raise ModelError(sorted(problems, key=lambda p: p.severity != "error"))


def load_model(path: str | os.PathLike, *, warnings: list[Problem] | None = None) -> Model:
    """Read, include, validate and check a model file; ModelError lists every problem found."""
    model, problems, _ = _model(os.fspath(path), {})
    _raise(problems)
    if warnings is not None:
        warnings += problems
    assert model is not None
    return model


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario file on its own (fault targets are checked by ``load``)."""
    scenario, problems = _scenario(os.fspath(path), {}, None)
    _raise(problems)
    assert scenario is not None
    return scenario


def load(model_path: str | os.PathLike, scenario_path: str | os.PathLike | None = None, *,
         warnings: list[Problem] | None = None) -> tuple[Model, Scenario | None]:
    """Load a model and optionally its scenario, checking faults and every variant against the model."""
    cache: Cache = {}
    model, problems, _ = _model(os.fspath(model_path), cache)
    scenario = None
    if scenario_path is not None:
        scenario, more = _scenario(os.fspath(scenario_path), cache, model)
        problems += more
        if model is not None and scenario is not None:
            problems += _variant_problems(model, scenario, problems)
    _raise(problems)
    if warnings is not None:
        warnings += problems
    assert model is not None
    return model, scenario


# -- variants and overrides ----------------------------------------------------------------------------

def _overlay(base: Locate, patch: Any, patched: Locate) -> Locate:
    """Locate keys set by ``patch`` at the patch's own lines, everything else where it was written."""

    def locate(path: Path) -> tuple[str, int | None]:
        node = patch
        for i, key in enumerate(path):
            if not isinstance(node, dict):
                return patched(path[:i])
            if key not in node:
                return base(path)
            node = node[key]
        return patched(path) if path else base(path)

    return locate


def _variant_problems(model: Model, scenario: Scenario, known: list[Problem]) -> list[Problem]:
    """Problems of every variant, leaving out those the base case already has."""
    seen = {(p.file, p.line, p.path, p.expected, p.found) for p in known}
    out = []
    for name in scenario.variants:
        for p in _variant(model, scenario, name)[2]:
            if (p.file, p.line, p.path, p.expected, p.found) not in seen:
                out.append(p)
    return out


def _in_variant(problems: list[Problem], name: str, patch: Any, prefix: str) -> list[Problem]:
    """Mark problems as the variant's; those in keys the patch set get the patch's own key path."""
    note = f"in variant '{name}'"
    out = []
    for p in problems:
        node, from_patch = patch, bool(p.path)
        for key in p.path.split(".") if p.path else ():
            if not isinstance(node, dict):
                break
            if key not in node:
                from_patch = False
                break
            node = node[key]
        path = f"{prefix}.{p.path}" if from_patch else p.path
        out.append(dataclasses.replace(p, path=path, hint=f"{note}; {p.hint}" if p.hint else note))
    return out


def _variant(model: Model, scenario: Scenario,
             name: str) -> tuple[Model | None, Scenario | None, list[Problem]]:
    """Apply one variant: the patched objects (None on any error) and the variant's problems."""
    mdata, mloc = _written(model)
    sdata, sloc = _written(scenario)
    if name not in scenario.variants:
        file, _ = sloc(())
        return None, None, [Problem(file, sloc(("variants",))[1], f"variants.{name}", "the name of a variant",
                                    f"'{name}'", did_you_mean(name, list(scenario.variants)))]
    raw = (sdata.get("variants") or {}).get(name) or as_written(scenario.variants[name])
    mpatch, spatch = raw.get("model_patch") or {}, raw.get("scenario_patch") or {}
    mprefix, sprefix = ("variants", name, "model_patch"), ("variants", name, "scenario_patch")
    problems = patch_problems(mdata, mpatch, Model, prefix=mprefix, locate=sloc)
    problems += patch_problems(sdata, spatch, Scenario, prefix=sprefix, locate=sloc)
    if problems:
        return None, None, problems
    mnew, snew = merge_patch(mdata, mpatch), merge_patch(sdata, spatch)
    mloc2 = _overlay(mloc, mpatch, lambda p: sloc(mprefix + p))
    sloc2 = _overlay(sloc, spatch, lambda p: sloc(sprefix + p))
    model2, mprobs = _check_model_data(mnew, mloc2)
    scen2, sprobs = _check_scenario_data(snew, sloc2, model2 or model)
    if model2 is not None and scen2 is not None:
        _remember(model2, mnew, mloc2)
        _remember(scen2, snew, sloc2)
    return model2, scen2, (_in_variant(mprobs, name, mpatch, dotted(mprefix))
                           + _in_variant(sprobs, name, spatch, dotted(sprefix)))


def apply_variant(model: Model, scenario: Scenario, name: str) -> tuple[Model, Scenario]:
    """The model and scenario with variant ``name``'s merge patches applied (RFC 7396) and re-validated."""
    model2, scen2, problems = _variant(model, scenario, name)
    _raise(problems)
    assert model2 is not None and scen2 is not None
    return model2, scen2


def apply_overrides(model: Model, scenario: Scenario | None,
                    assignments: list[str]) -> tuple[Model, Scenario | None]:
    """Apply ``--set path=value`` overrides (model keys to the model, the rest to the scenario)."""
    if not assignments:
        return model, scenario
    mdata, mloc = _written(model)
    sdata, sloc = _written(scenario) if scenario is not None else ({}, mloc)
    mset: dict = {}
    sset: dict = {}
    problems: list[Problem] = []
    for text in assignments:
        try:
            parts, _ = parse_assignment(text)
            if parts[0] in Model.model_fields:
                mdata = set_override(mdata, text, Model)
                _mark(mset, parts)
            elif scenario is None:
                problems.append(Problem(OVERRIDE_FILE, None, ".".join(parts),
                                        "a model key (no scenario given)", f"'{parts[0]}'",
                                        did_you_mean(parts[0], list(Model.model_fields))))
            else:
                sdata = set_override(sdata, text, Scenario)
                _mark(sset, parts)
        except ModelError as exc:
            problems += exc.problems
    _raise(problems)
    mloc2, sloc2 = _overlay(mloc, mset, _on_command_line), _overlay(sloc, sset, _on_command_line)
    model2, problems = _check_model_data(mdata, mloc2)
    scen2 = None
    if scenario is not None:
        scen2, more = _check_scenario_data(sdata, sloc2, model2 or model)
        problems += more
    _raise(problems)
    assert model2 is not None
    _remember(model2, mdata, mloc2)
    if scen2 is not None:
        _remember(scen2, sdata, sloc2)
    return model2, scen2


def _on_command_line(path: Path) -> tuple[str, int | None]:
    return OVERRIDE_FILE, None


def _mark(tree: dict, parts: list[str]) -> None:
    for key in parts[:-1]:
        tree = tree.setdefault(key, {})
    tree[parts[-1]] = True


# -- outagesim validate ----------------------------------------------------------------------------------

def validate_files(paths: list[str]) -> list[Problem]:
    """Every problem (errors and warnings) in the given model and scenario files, found all at once.

    A file with an ``anchor`` is a scenario; the rest are models, and a model included by another given
    file is checked as part of it. Scenarios are checked against the only model given, or else the only
    one in their folder; variants are applied and checked too.
    """
    cache: Cache = {}
    problems: list[Problem] = []
    models: dict[str, tuple[Model | None, list[Problem], set[str]]] = {}
    scenarios: list[str] = []
    for path in dict.fromkeys(os.fspath(p) for p in paths):
        src, read_problems = read_cached(path, cache)
        if src is None:
            problems += read_problems
        elif isinstance(src.data, dict) and "anchor" in src.data:
            scenarios.append(path)
        else:
            models[path] = _model(path, cache)
    real = {p: os.path.realpath(p) for p in models}
    roots = {p: r for p, r in models.items()
             if not any(real[p] in r2[2] and real[q] not in r[2] for q, r2 in models.items() if q != p)}
    for _, model_problems, _ in roots.values():
        problems += model_problems
    for path in scenarios:
        pair = _pair(path, roots)
        model = roots[pair][0] if pair else None
        scenario, more = _scenario(path, cache, model)
        problems += more
        if pair is None:
            problems.append(Problem(path, None, "faults", "one model file given with the scenario",
                                    f"{len(roots)} model files",
                                    "fault targets and variants were not checked",
                                    severity="warning"))
        elif model is not None and scenario is not None:
            problems += _variant_problems(model, scenario, problems)
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.file, p.line or 0))


def _pair(scenario: str, roots: dict[str, Any]) -> str | None:
    """The model a scenario is checked against: the only one given, or the only one in its folder."""
    if len(roots) == 1:
        return next(iter(roots))
    folder = os.path.dirname(os.path.realpath(scenario))
    here = [p for p in roots if os.path.dirname(os.path.realpath(p)) == folder]
    return here[0] if len(here) == 1 else None
