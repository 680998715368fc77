"""Building Problems: where (file:line from the key path), what was expected, what was found."""

from __future__ import annotations

import math
from typing import Any

from ..errors import Problem
from ._source import Locate, Path, dotted
from .quantities import Fixed, Triangular, Uniform, central, parse_offset


def _nowhere(path: Path) -> tuple[str, int | None]:
    return "<model>", None


def _problem(locate: Locate, path: Path, expected: str, found: str, hint: str = "",
             severity: str = "error") -> Problem:
    file, line = locate(path)
    return Problem(file, line, dotted(path), expected, found, hint, severity)


def _lowest(value: Any) -> float:
    """The smallest value a possibly uncertain number can take (its median when unbounded)."""
    if isinstance(value, Uniform | Triangular):
        return value.low
    if isinstance(value, Fixed):
        return value.value
    return central(value)


def _range(locate: Locate, path: Path, value: Any, expected: str, *, low: float, strict: bool = False,
           high: float | None = None) -> list[Problem]:
    if value is None:
        return []
    lo, mid = _lowest(value), central(value)
    hi = value.high if isinstance(value, Uniform | Triangular) else mid
    bad = not (math.isfinite(lo) and math.isfinite(hi))
    bad = bad or (lo <= low if strict else lo < low) or (high is not None and hi > high)
    if not bad:
        return []
    found = f"{mid:g}" if isinstance(value, float | int) else f"a distribution from {lo:g} to {hi:g}"
    return [_problem(locate, path, expected, found)]


def check_time(locate: Locate, path: Path, value: Any, scenario: Any, what: str) -> list[Problem]:
    """A point on the scenario's timeline (``at``): it must parse and not be before the anchor; past the
    run's end it is a warning (``what`` never happens)."""
    try:
        at = parse_offset(value, scenario.anchor)
    except ValueError as exc:
        return [_problem(locate, path, str(exc).split(", not ")[0], repr(value))]
    if at < 0:
        return [_problem(locate, path, "a time at or after the anchor", f"{-at:g} s before it")]
    if at >= scenario.duration:
        return [_problem(locate, path, f"a time within the run ({scenario.duration:g} s)", f"{at:g} s after the anchor",
                         f"the {what} never happens", severity="warning")]
    return []

