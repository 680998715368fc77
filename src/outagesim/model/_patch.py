"""Changing a model as written: RFC 7396 merge patches (variants) and ``--set path=value`` overrides.

Both work on the plain data the YAML was read into (durations still '250ms', names as written), never
on the validated objects, so the result validates exactly like a file would. A patch or override that
names a key the target does not have is an error with did-you-mean, not a silent new key; a new item in
a map of named items (a service, a zone count) is allowed when it stands on its own.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import ModelError, Problem
from ._explain import branch, is_model, type_at, value_at
from ._source import Locate, Path, describe, dotted, read_text
from .names import did_you_mean
from .quantities import Seconds, parse_duration
from .scenario import Scenario
from .system import Model

OVERRIDE_FILE = "--set"
_DIST_PARAMS = ("value", "median", "p90", "low", "high", "mode", "mean", "sd")
_DURATION_FUNCS = (get_args(Seconds)[1].func, parse_duration)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: maps merge key by key, null deletes, anything else replaces; inputs are not mutated."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _container(root: Any, path: Path, data: Any) -> Any:
    """The format's type for the map at ``path`` (a settings class, dict[...] of named items, or None)."""
    tp = type_at(root, path, data)
    value = value_at(data, path)
    return branch(tp, value if isinstance(value, dict) else {}) if tp is not None else None


def _stands_alone(tp: Any, value: Any) -> bool:
    """Whether ``value`` validates as a complete new item of type ``tp``."""
    try:
        TypeAdapter(tp).validate_python(value)
    except (ValidationError, TypeError, ValueError):
        return False
    return True


def patch_problems(target: dict, patch: Any, root: type[BaseModel], *, prefix: Path,
                   locate: Locate) -> list[Problem]:
    """Keys of ``patch`` that name nothing in ``target``; each Problem cites the patch's own line."""
    out: list[Problem] = []
    if not isinstance(patch, dict):
        return out

    def walk(node: Any, sub: dict, path: Path) -> None:
        for key, value in sub.items():
            p = path + (key,)
            if isinstance(node, dict) and key in node:
                if isinstance(value, dict) and isinstance(node[key], dict):
                    walk(node[key], value, p)
                continue
            kind = _container(root, path, target)
            existing = list(node) if isinstance(node, dict) else []
            file, line = locate(prefix + p)
            if value is None:
                out.append(Problem(file, line, dotted(prefix + p), "a key that exists, to delete",
                                   f"'{dotted(p)}', which is not there", did_you_mean(str(key), existing)))
            elif is_model(kind):
                if key not in kind.model_fields:
                    fields = list(kind.model_fields)
                    out.append(Problem(file, line, dotted(prefix + p), "one of the keys " + ", ".join(fields),
                                       f"the unknown key '{key}'", did_you_mean(str(key), fields)))
            elif get_origin(kind) is dict:
                if not _stands_alone(get_args(kind)[1], value):
                    out.append(Problem(file, line, dotted(prefix + p),
                                       f"an existing item of '{dotted(path)}' (or a complete new one)",
                                       f"'{key}', which is not there", did_you_mean(str(key), existing)))
            else:
                out.append(Problem(file, line, dotted(prefix + p), "a key path that exists",
                                   f"'{dotted(p)}', under {describe(node)}"))

    walk(target, patch, ())
    return out


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """Split ``'a.b.c=value'`` into the key path and the value read as YAML (``a.b=`` sets null)."""
    key, eq, raw = text.partition("=")
    parts = key.strip().split(".")
    if not eq or not all(p.strip() for p in parts):
        raise ModelError([Problem(OVERRIDE_FILE, None, key.strip(),
                                  "path=value, e.g. services.api.concurrency=8", repr(text))])
    src, problems = read_text(raw, OVERRIDE_FILE)
    if src is None:
        raise ModelError([Problem(OVERRIDE_FILE, None, key.strip(), "a YAML value after '='",
                                  f"{raw!r}: {problems[0].found}")])
    return [p.strip() for p in parts], src.data


def set_override(data: dict, assignment: str, root: type[BaseModel] | None = None) -> dict:
    """A copy of ``data`` with one ``path=value`` set; the path must exist unless the format allows it.

    A missing key is accepted when it is a setting of the object there (left at its default in the
    file) or a new item in a map of named items; otherwise ModelError with did-you-mean. ``root``
    defaults to Model when the first key is a model key, else Scenario.
    """
    parts, value = parse_assignment(assignment)
    root = root or (Model if parts[0] in Model.model_fields else Scenario)
    new = copy.deepcopy(data)
    node: Any = new
    real: Path = ()
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        key: str | int = part
        where = dotted(real + (part,))
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ModelError([Problem(OVERRIDE_FILE, None, where, f"an index from 0 to {len(node) - 1}",
                                          repr(part))])
            key = int(part)
        elif isinstance(node, dict):
            if part not in node:
                kind = _container(root, real, new)
                fields = list(kind.model_fields) if is_model(kind) else []
                if part not in fields and get_origin(kind) is not dict:
                    hint = did_you_mean(part, sorted(set(node) | set(fields)))
                    raise ModelError([Problem(OVERRIDE_FILE, None, where,
                                              f"a key that exists under '{dotted(real) or 'the top level'}'",
                                              f"'{part}'", hint)])
                if not last:
                    node[part] = {}
        else:
            raise ModelError([Problem(OVERRIDE_FILE, None, where, f"a map at '{dotted(real)}'",
                                      describe(node))])
        if last:
            node[key] = value
        else:
            node = node[key]
            real = real + (key,)
    return new


# -- validated objects back to the form they are written in ------------------------------------------

def is_duration(tp: Any, metadata: list[Any]) -> bool:
    """Whether a field holds seconds parsed from a duration (Seconds or FixedSeconds)."""
    metas = list(metadata)
    for t in (tp, *get_args(tp)):
        if get_origin(t) is Annotated:
            metas += list(get_args(t)[1:])
    return any(getattr(m, "func", None) in _DURATION_FUNCS for m in metas)


def as_written(obj: BaseModel) -> dict:
    """The plain YAML form of a validated object not read from a file (durations as '...s' text)."""
    return _written(obj.model_dump(mode="json"), type(obj), [])


def _written(value: Any, tp: Any, metadata: list[Any]) -> Any:
    if is_duration(tp, metadata):
        if isinstance(value, dict):
            return {k: f"{v!r}s" if k in _DIST_PARAMS and isinstance(v, int | float) else v
                    for k, v in value.items()}
        return f"{value!r}s" if isinstance(value, int | float) and not isinstance(value, bool) else value
    if isinstance(value, dict):
        kind = branch(tp, value)
        if is_model(kind):
            fields = kind.model_fields
            return {k: _written(v, fields[k].annotation, list(fields[k].metadata)) if k in fields else v
                    for k, v in value.items()}
        if get_origin(kind) is dict:
            return {k: _written(v, get_args(kind)[1], []) for k, v in value.items()}
    if isinstance(value, list):
        kind = branch(tp, value)
        if get_origin(kind) is list:
            return [_written(v, get_args(kind)[0], []) for v in value]
    return value
