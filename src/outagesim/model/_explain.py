"""Turn pydantic validation errors into Problems a user can act on: file:line, key path, expected, found.

pydantic's ``loc`` tuples mix real keys with union-branch labels (``float``, ``tagged-union[...]``, a
discriminator tag); walking the plain data alongside separates the two, gives the key path as written
and drops the errors of union branches that clearly do not apply (a map is not a plain number).
"""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ..errors import Problem
from ._source import Locate, Path, describe, dotted
from .names import did_you_mean

_MISSING = object()
_SCALAR_LABELS = {"float", "int", "str", "bool", "none", "datetime"}
_DIST_EXAMPLE = "{dist: lognormal, median: ..., p90: ...}"
_NUMERIC_BOUNDS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "multiple_of"}


# -- the shape of the format, read from the pydantic classes -------------------------------------------

def members(tp: Any) -> list[Any]:
    """The alternatives of a possibly nested, possibly Annotated union (None excluded)."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        return [m for a in get_args(tp) if a is not type(None) for m in members(a)]
    return [tp]


def is_model(tp: Any) -> bool:
    """Whether ``tp`` is a settings class (a pydantic model)."""
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tags(model: type[BaseModel]) -> dict[str, tuple[Any, ...]]:
    fields = model.model_fields.items()
    return {n: get_args(f.annotation) for n, f in fields if get_origin(f.annotation) is Literal}


def branch(tp: Any, value: Any) -> Any | None:
    """The member of a union that applies to ``value``: the model whose tag matches, or the only fit."""
    options = members(tp)
    if len(options) == 1:
        return options[0]
    if isinstance(value, dict):
        maps = [m for m in options if is_model(m) or get_origin(m) is dict]
        for m in maps:
            if is_model(m) and any(value.get(k) in vals for k, vals in _tags(m).items()):
                return m
        return maps[0] if len(maps) == 1 else None
    scalars = [m for m in options if not is_model(m) and get_origin(m) is not dict]
    return scalars[0] if scalars else None


def step(tp: Any, key: Any, value: Any) -> Any | None:
    """The type found under ``key`` in a value of type ``tp`` (None when the format has no such key)."""
    tp = branch(tp, value)
    if tp is None:
        return None
    if is_model(tp):
        field = tp.model_fields.get(key) if isinstance(key, str) else None
        return field.annotation if field else None
    origin = get_origin(tp)
    if origin is dict:
        return get_args(tp)[1]
    if origin is list:
        return get_args(tp)[0]
    return None


def type_at(root: Any, path: Path, data: Any) -> Any | None:
    """The type the format expects at ``path``, using the data to pick union branches."""
    tp, value = root, data
    for key in path:
        tp = step(tp, key, value)
        if tp is None:
            return None
        value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
    return tp


def fields_at(root: Any, path: Path, data: Any) -> list[str]:
    """The keys allowed in the map at ``path`` when it is a settings object (not a map of names)."""
    tp = type_at(root, path, data)
    value = value_at(data, path)
    model = branch(tp, value if value is not _MISSING else {}) if tp is not None else None
    return list(model.model_fields) if is_model(model) else []


def value_at(data: Any, path: Path) -> Any:
    """The plain value at ``path`` in ``data``, or a sentinel when the path is not there."""
    for key in path:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return _MISSING
    return data


# -- pydantic errors -> Problems ---------------------------------------------------------------------

def explain(exc: ValidationError, data: Any, root: type[BaseModel], locate: Locate,
            extra_keys: dict[Path, list[str]] | None = None) -> list[Problem]:
    """Every error of ``exc`` as a Problem; duplicates (from union branches) merged.

    ``extra_keys`` names keys the loader accepts beyond the class's fields (``include`` at the top of
    a model), so they are suggested for misspellings too.
    """
    out: dict[tuple[str, str, str], Problem] = {}
    for err in exc.errors(include_url=False):
        path, labels, value = _split_loc(data, err["loc"], err["type"])
        if _wrong_branch(labels):
            continue
        p = _problem(err, path, labels, value, root, data, locate, extra_keys or {})
        out.setdefault((p.path, p.expected, p.found), p)
    return list(out.values())


def error_paths(exc: ValidationError, data: Any) -> list[tuple[Path, str]]:
    """The key paths (as written) that the errors of ``exc`` are about, each with its error type."""
    paths = []
    for err in exc.errors(include_url=False):
        path, labels, _ = _split_loc(data, err["loc"], err["type"])
        if not _wrong_branch(labels):
            paths.append((path, err["type"]))
    return paths


def _split_loc(data: Any, loc: tuple, typ: str) -> tuple[Path, list[tuple[Any, Any]], Any]:
    """Real key path, the union labels met on the way (with the value there), and the value found."""
    node, real, labels = data, [], []
    for i, el in enumerate(loc):
        if isinstance(node, dict) and el in node:
            real.append(el)
            node = node[el]
        elif isinstance(node, list) and isinstance(el, int) and 0 <= el < len(node):
            real.append(el)
            node = node[el]
        elif i == len(loc) - 1 and typ == "missing":
            real.append(el)
            node = _MISSING
        else:
            labels.append((el, node))
    return tuple(real), labels, node


def _wrong_branch(labels: list[tuple[Any, Any]]) -> bool:
    """Whether an error comes from a union branch that cannot apply (number vs map)."""
    for label, value in labels:
        text = str(label)
        if text in _SCALAR_LABELS and isinstance(value, dict):
            return True
        if (text.startswith("tagged-union[") or text.startswith("function-")) and not isinstance(value, dict):
            return True
    return False


def _problem(err: dict, path: Path, labels: list, value: Any, root: Any, data: Any,
             locate: Locate, extra_keys: dict[Path, list[str]]) -> Problem:
    typ, ctx = err["type"], err.get("ctx") or {}
    msg = str(ctx["error"]) if typ == "value_error" and "error" in ctx else err["msg"]
    hint, found = "", describe(value)
    if typ == "missing":
        where = dotted(path[:-1]) or "the top level"
        expected, found = f"the key '{path[-1]}'", f"no '{path[-1]}' in {where}"
    elif typ == "extra_forbidden":
        fields = fields_at(root, path[:-1], data) + extra_keys.get(path[:-1], [])
        expected = "one of the keys " + ", ".join(fields) if fields else "no such key"
        found, hint = f"the unknown key '{path[-1]}'", did_you_mean(str(path[-1]), fields)
    elif typ in ("union_tag_invalid", "union_tag_not_found"):
        disc = str(ctx.get("discriminator", "kind")).strip("'")
        tags = _union_tags(root, path, data, disc)
        path = path + (disc,)
        expected = f"'{disc}' to be one of " + ", ".join(f"'{t}'" for t in tags)
        tag = ctx.get("tag")
        found = repr(tag) if tag is not None else f"no '{disc}' key"
        hint = did_you_mean(str(tag), tags) if tag is not None else ""
    elif typ == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        expected, hint = str(ctx.get("expected", msg)), did_you_mean(str(value), options)
    elif "needs a 'timeout'" in msg:
        path = path + ("timeout",)
        expected = "a 'timeout' on a sync call (a caller that waits forever cannot fail over)"
        found, hint = "a sync call with no timeout", "add e.g. 'timeout: 2s', or make it 'mode: async'"
    elif typ.startswith(("float_", "int_")):
        with_dist = any(str(label) == "float" for label, _ in labels)
        expected = "a number" + (f" or a distribution like {_DIST_EXAMPLE}" if with_dist else "")
        if typ.startswith("int_"):
            expected = "a whole number"
    elif typ == "value_error":
        expected = _without_found(msg, value)
        if any(str(label).startswith("tagged-union[") for label, _ in labels):
            expected = "a valid distribution: " + expected
    elif typ in ("model_type", "model_attributes_type", "dict_type"):
        expected = "a map of settings (key: value)"
    elif typ in _NUMERIC_BOUNDS:
        expected = "a number " + msg.removeprefix("Input should be ")
    elif typ == "too_short":
        expected = re.sub(r"^\w+ should have ", "", msg).split(" after validation")[0].split(", not")[0]
    else:
        expected = msg.removeprefix("Input should be ").removeprefix("Value error, ")
    file, line = locate(path)
    return Problem(file, line, dotted(path), expected, found, hint)


def _without_found(msg: str, value: Any) -> str:
    """A validator message minus its own 'not X' / 'found X' tail (Problem adds what was found)."""
    for marker in (", not ", " not ", ", found "):
        i = msg.rfind(marker)
        if i > 0 and (repr(value) in msg[i:] or str(value) in msg[i:] or marker == ", found "):
            return msg[:i].rstrip(",;: ")
    return msg


def _union_tags(root: Any, path: Path, data: Any, disc: str) -> list[str]:
    tp = type_at(root, path, data)
    tags: list[str] = []
    for m in members(tp) if tp is not None else []:
        if is_model(m):
            tags += [str(t) for t in _tags(m).get(disc, ())]
    return tags
