"""A model file and everything it ``include:``s, merged into one plain map with file:line per key.

Include paths are relative to the including file. Collections (providers, services, tenants) merge by
item name and an item defined in two files is an error citing both places; other keys are taken from
the including file. Cycles and missing files are errors at the ``include`` line; a file reached twice
(a diamond) is read once.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import Problem
from ._source import Path, Source, describe, read_file
from .names import did_you_mean

COLLECTIONS = ("providers", "services", "tenants", "fleets", "vendors")
# maps of collections, merged collection by collection
NESTED = {"controllers": ("monitors", "operators", "health_checks", "dns_records", "autoscalers")}
Cache = dict[str, tuple[Source | None, list[Problem]]]


def read_cached(path: str, cache: Cache) -> tuple[Source | None, list[Problem]]:
    """Read a file once per load, keyed by its real path."""
    key = os.path.realpath(path)
    if key not in cache:
        cache[key] = read_file(path)
    return cache[key]


def top_map_problems(src: Source) -> list[Problem]:
    """A model or scenario file must hold a map at its top level."""
    if src.data is None:
        return [Problem(src.file, None, "", "a map of settings (key: value)", "an empty file")]
    if not isinstance(src.data, dict):
        return [Problem(src.file, 1, "", "a map of settings (key: value) at the top level",
                        describe(src.data))]
    return []


class Assembly:
    """The merged plain data of a model file and its includes; ``files`` holds every real path read."""

    def __init__(self, cache: Cache):
        self.cache = cache
        self.data: dict[str, Any] = {}
        self.where: dict[Path, tuple[str, int]] = {}
        self.problems: list[Problem] = []
        self.files: set[str] = set()

    def source(self, file: str) -> Source:
        """The merged data as one Source, located per key in the file that wrote it."""
        return Source(file, self.data, self.where)

    def visit(self, file: str, stack: tuple[str, ...] = (),
              via: tuple[str, int | None] | None = None) -> None:
        """Read ``file``, its includes first (depth first), then merge its own items."""
        real = os.path.realpath(file)
        if real in stack:
            chain = " -> ".join(os.path.basename(f) for f in stack[stack.index(real):] + (real,))
            at_file, at_line = via or (file, None)
            self.problems.append(Problem(at_file, at_line, "include", "includes without a cycle",
                                         f"the cycle {chain}"))
            return
        if real in self.files:
            return
        src, problems = read_cached(file, self.cache)
        self.problems += problems
        if src is None:
            return
        if top_map_problems(src):
            self.problems += top_map_problems(src)
            return
        self.files.add(real)
        for i, rel in enumerate(self._includes(src)):
            line = src.locate(("include", i))[1]
            target = os.path.normpath(os.path.join(os.path.dirname(file), rel))
            if os.path.isfile(target):
                self.visit(target, stack + (real,), (file, line))
                continue
            folder = os.path.dirname(target) or "."
            listed = os.listdir(folder) if os.path.isdir(folder) else []
            nearby = [f for f in listed if f.endswith((".yaml", ".yml"))]
            what = "is not a file" if os.path.exists(target) else "does not exist"
            self.problems.append(Problem(file, line, f"include.{i}", "the path of a YAML file to include",
                                         f"'{rel}', which {what}",
                                         did_you_mean(os.path.basename(rel), nearby)))
        self._merge(src)

    def _includes(self, src: Source) -> list[str]:
        inc = src.data.get("include", [])
        inc = [inc] if isinstance(inc, str) else inc
        if isinstance(inc, list) and all(isinstance(x, str) for x in inc):
            return inc
        file, line = src.locate(("include",))
        self.problems.append(Problem(file, line, "include", "a list of file paths", describe(inc)))
        return []

    def _merge_named(self, src: Source, bucket: dict, value: dict, prefix: tuple[str, ...], items: set) -> None:
        """Add a file's items to a collection by name; a name defined twice is an error citing both."""
        for name, item in value.items():
            if name in bucket:
                first_file, first_line = self.where.get(prefix + (name,), ("?", None))
                self.problems.append(Problem(
                    src.file, src.locate(prefix + (name,))[1], ".".join(prefix + (name,)),
                    f"one definition of {prefix[-1].rstrip('s')} '{name}'",
                    f"a second one (the first is at {first_file}:{first_line})"))
            else:
                bucket[name] = item
                items.add(prefix + (name,))

    def _merge(self, src: Source) -> None:
        """Merge one file: collections by item name (twice is an error), other keys replaced."""
        items: set[Path] = set()
        replaced: set[str] = set()
        for key, value in src.data.items():
            if key == "include":
                continue
            bucket = self.data.get(key)
            if key in COLLECTIONS and isinstance(value, dict) and isinstance(bucket, dict):
                self._merge_named(src, bucket, value, (key,), items)
            elif key in NESTED and isinstance(value, dict) and isinstance(bucket, dict):
                for sub, sub_value in value.items():
                    inner = bucket.get(sub)
                    if sub in NESTED[key] and isinstance(sub_value, dict) and isinstance(inner, dict):
                        self._merge_named(src, inner, sub_value, (key, sub), items)
                    else:
                        bucket[sub] = dict(sub_value) if isinstance(sub_value, dict) else sub_value
                        items.add((key, sub))
            else:
                # a shallow copy: later files add items to it, and the cached Source must stay as read
                self.data[key] = dict(value) if isinstance(value, dict) else value
                replaced.add(key)
        for path, loc in src.where.items():
            if not path:
                self.where[path] = loc  # the outermost file is merged last: top-level problems go there
            elif path[0] in replaced:
                self.where[path] = loc
            elif path[0] == "include":
                continue
            elif len(path) == 1:
                self.where.setdefault(path, loc)
            elif path[:2] in items or path[:3] in items:
                self.where[path] = loc
