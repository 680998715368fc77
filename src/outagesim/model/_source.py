"""Safe YAML reading: text -> plain dicts, lists and scalars, plus the file:line of every key.

No object is ever constructed from a YAML tag: the text is only parsed and composed into nodes (ruamel's
round-trip parser), and each node is converted here by hand, so ``!!python/...`` and other tags are
reported as problems, never executed. The guards (size, encoding, nesting depth, alias expansion) turn
hostile or broken files into Problems instead of tracebacks or hangs.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import CollectionStartEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from ..errors import Problem

MAX_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 2_000_000  # after alias expansion: refuses "billion laughs" files

Key = str | int
Path = tuple[Key, ...]
# Where a key path was written: (file, 1-based line or None when unknown).
Locate = Callable[[Path], tuple[str, int | None]]

_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_STD}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_MERGE = f"{_STD}merge"


@dataclass
class Source:
    """Plain data read from YAML and the file:line where each key path was written."""

    file: str
    data: Any
    where: dict[Path, tuple[str, int]] = field(default_factory=dict)

    def locate(self, path: Path) -> tuple[str, int | None]:
        """The file and line of the longest written prefix of ``path`` (a missing key -> its parent)."""
        for n in range(len(path), -1, -1):
            hit = self.where.get(tuple(path[:n]))
            if hit:
                return hit
        return self.file, None


class _Refused(Exception):
    """Internal: a node that cannot be converted; carries the Problem to report."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def short_tag(tag: str) -> str:
    """The tag as written in YAML ('!!python/...'), for messages."""
    return "!!" + tag[len(_STD):] if tag.startswith(_STD) else tag


def describe(value: Any) -> str:
    """A short description of a found value, for 'found ...' texts."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        keys = ", ".join(str(k) for k in list(value)[:5])
        return f"a map with keys {keys}" + (", ..." if len(value) > 5 else "") if value else "an empty map"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def read_file(path: str) -> tuple[Source | None, list[Problem]]:
    """Read one YAML file safely; on failure return None and the problems (never raise)."""
    try:
        if os.path.isdir(path):
            return None, [Problem(path, None, "", "a YAML file", "a directory")]
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            return None, [Problem(path, None, "", f"a file of at most {MAX_BYTES / 2**20:g} MB",
                                  f"{size / 2**20:.1f} MB")]
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None, [Problem(path, None, "", "an existing file", "no such file")]
    except OSError as exc:
        return None, [Problem(path, None, "", "a readable file", exc.strerror or type(exc).__name__)]
    return read_bytes(raw, path)


def read_bytes(raw: bytes, file: str) -> tuple[Source | None, list[Problem]]:
    """Decode and parse YAML bytes; binary or non-UTF-8 input is a Problem with its line."""
    if len(raw) > MAX_BYTES:
        return None, [Problem(file, None, "", f"a file of at most {MAX_BYTES / 2**20:g} MB", "a larger file")]
    nul = raw.find(b"\x00")
    if nul >= 0:
        return None, [Problem(file, raw.count(b"\n", 0, nul) + 1, "", "YAML text",
                              "binary data (a NUL byte)")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, [Problem(file, line, "", "UTF-8 text",
                              f"the byte 0x{raw[exc.start]:02x}, which is not UTF-8 (binary data?)")]
    return read_text(text, file)


def read_text(text: str, file: str) -> tuple[Source | None, list[Problem]]:
    """Parse YAML text into a Source; an empty document gives data None and no problem."""
    yaml = YAML(typ="rt")
    yaml.Composer = _ShallowComposer
    try:
        node = yaml.compose(io.StringIO(text))
    except _TooDeep as exc:
        return None, [Problem(file, exc.line, "", f"nesting at most {MAX_DEPTH} levels deep",
                              "deeper nesting")]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = f" at column {mark.column + 1}" if mark else ""
        what = ": ".join(str(x) for x in (exc.context, exc.problem) if x)
        return None, [Problem(file, line, "", "valid YAML", f"a syntax error{col} ({what})")]
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        return None, [Problem(file, line, "", "YAML text",
                              f"the control character #x{char:04x}, not allowed in YAML (binary data?)")]
    except (YAMLError, RecursionError, ValueError) as exc:
        # ruamel raises a few unmarked errors (e.g. unacceptable characters); report, never trace back
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, [Problem(file, None, "", "valid YAML", f"a file ruamel.yaml cannot read: {first}")]
    src = Source(file, None)
    if node is None:
        return src, []
    bomb = _check_expansion(node, file)
    if bomb:
        return None, [bomb]
    try:
        src.data = _Converter(file, src.where).convert(node, ())
    except _Refused as exc:
        return None, [exc.problem]
    return src, []


class _TooDeep(Exception):
    def __init__(self, line: int | None):
        super().__init__(line)
        self.line = line


class _ShallowComposer(Composer):
    """ruamel's composer recurses once per nesting level: stop at MAX_DEPTH, before Python's limit."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        opens = self.parser.check_event(CollectionStartEvent)
        if opens:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                mark = self.parser.peek_event().start_mark
                raise _TooDeep(mark.line + 1 if mark else None)
        try:
            return super().compose_node(parent, index)
        finally:
            if opens:
                self.depth -= 1


def _check_expansion(root: Node, file: str) -> Problem | None:
    """Refuse files whose aliases expand to more than MAX_VALUES values, counting each node once."""
    sizes: dict[int, int] = {}

    def size(node: Node) -> int:
        if id(node) not in sizes:
            sizes[id(node)] = 1  # placeholder; composed YAML cannot be cyclic, but stay safe
            kids = [n for pair in node.value for n in pair] if isinstance(node, MappingNode) else \
                node.value if isinstance(node, SequenceNode) else []
            sizes[id(node)] = 1 + sum(size(k) for k in kids)
        return sizes[id(node)]

    if size(root) <= MAX_VALUES:
        return None
    worst = root
    while isinstance(worst, MappingNode | SequenceNode) and worst.value:
        kids = [v for _, v in worst.value] if isinstance(worst, MappingNode) else worst.value
        biggest = max(kids, key=size)
        if size(biggest) * 2 < size(worst) and worst is not root:
            break
        worst = biggest
    return Problem(file, worst.start_mark.line + 1, "",
                   f"at most {MAX_VALUES:,} values after expanding aliases",
                   f"{size(root):,} (an alias bomb?)")


class _Converter:
    """Nodes -> plain data, recording the line of every key and list item."""

    def __init__(self, file: str, where: dict[Path, tuple[str, int]]):
        self.file, self.where = file, where
        self.active: set[int] = set()  # nodes being converted: an alias inside its own anchor loops

    def refuse(self, node: Node, path: Path, expected: str, found: str) -> _Refused:
        return _Refused(Problem(self.file, node.start_mark.line + 1, dotted(path), expected, found))

    def convert(self, node: Node, path: Path) -> Any:
        self.where.setdefault(path, (self.file, node.start_mark.line + 1))
        if id(node) in self.active:
            raise self.refuse(node, path, "aliases that do not contain themselves", "a recursive alias")
        self.active.add(id(node))
        try:
            return self._convert(node, path)
        finally:
            self.active.discard(id(node))

    def _convert(self, node: Node, path: Path) -> Any:
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != f"{_STD}seq":
                raise self.refuse(node, path, "plain YAML without tags", f"the tag '{short_tag(node.tag)}'")
            return [self.convert(item, path + (i,)) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != f"{_STD}map":
                raise self.refuse(node, path, "plain YAML without tags", f"the tag '{short_tag(node.tag)}'")
            return self.mapping(node, path)
        raise self.refuse(node, path, "a YAML value", type(node).__name__)  # pragma: no cover

    def mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: list[tuple[Node, Path]] = []
        for knode, vnode in node.value:
            if isinstance(knode, ScalarNode) and knode.tag == _MERGE:
                sources = vnode.value if isinstance(vnode, SequenceNode) else [vnode]
                merged += [(s, path) for s in sources]
                continue
            if not isinstance(knode, ScalarNode) or knode.tag not in _SCALAR_TAGS:
                raise self.refuse(knode, path, "a plain key (text)", "a complex key")
            key = knode.value
            if key in out:
                raise self.refuse(knode, path + (key,), "each key once in a map", f"'{key}' again")
            self.where[path + (key,)] = (self.file, knode.start_mark.line + 1)
            out[key] = self.convert(vnode, path + (key,))
        for src, p in merged:  # YAML merge keys ('<<: *defaults'): explicit keys win
            if not isinstance(src, MappingNode):
                raise self.refuse(src, p, "a map to merge with '<<'", "something else")
            sub = _Converter(self.file, {})
            added = {k: v for k, v in sub.mapping(src, p).items() if k not in out}
            out.update(added)
            for wp, loc in sub.where.items():
                if len(wp) > len(p) and wp[len(p)] in added:
                    self.where.setdefault(wp, loc)
        return out

    def scalar(self, node: ScalarNode, path: Path) -> Any:
        tag, text = node.tag, node.value
        try:
            if tag == f"{_STD}str" or tag == f"{_STD}timestamp":
                return text  # times stay as written; the time grammar parses them
            if tag == f"{_STD}null":
                return None
            if tag == f"{_STD}bool":
                return text.lower() in ("true", "yes", "on", "y")
            if tag == f"{_STD}int":
                return _int(text)
            if tag == f"{_STD}float":
                return _float(text)
        except ValueError:
            raise self.refuse(node, path, f"a value of type {short_tag(tag)}", repr(text)) from None
        raise self.refuse(node, path, "plain YAML without tags", f"the tag '{short_tag(tag)}'")


def _int(text: str) -> int:
    t = text.replace("_", "")
    try:
        return int(t, 0)
    except ValueError:
        return int(t, 10)  # YAML 1.2 reads '017' as decimal


def _float(text: str) -> float:
    t = text.replace("_", "").lower()
    if t.lstrip("+-") in (".inf", "inf"):
        return float("-inf") if t.startswith("-") else float("inf")
    if t in (".nan", "nan"):
        return float("nan")
    return float(t)


def dotted(path: Path) -> str:
    """A key path as the dotted text used in messages and --set, e.g. services.a.calls.b."""
    return ".".join(str(p) for p in path)
