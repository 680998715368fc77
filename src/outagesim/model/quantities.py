"""Numbers that may be uncertain, durations with units, and the time grammar.

Durations are ``N(ms|s|m|h|d)`` strings (a bare ``0`` is also accepted); everything inside outagesim is
SI seconds. Any number may instead be a distribution, ``{dist: lognormal, median: 4h, p90: 7h}``, from
which each replica draws its own value.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_UNITS = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)\s*$")
_OFFSET = re.compile(r"^\s*\+(\d+):([0-5]\d)(?::([0-5]\d(?:\.\d+)?))?\s*$")
_Z_BOUND = 1.2815515655446004  # standard normal 90th percentile


def parse_duration(value: Any) -> float:
    """Seconds from ``'250ms'``, ``'5m'``, ``'1.5h'``; a bare number is refused (its unit is ambiguous)."""
    if isinstance(value, bool):
        raise ValueError(f"a duration like '30s' or '250ms', not {value!r}")
    if isinstance(value, int | float):
        if value == 0:
            return 0.0
        raise ValueError(f"a duration with a unit (ms, s, m, h, d) like '{value}s', not the bare number {value}")
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _UNITS[m.group(2)]
        raise ValueError(f"a duration like '30s', '250ms', '2h' (units ms, s, m, h, d), not {value!r}")
    raise ValueError(f"a duration like '30s', not {type(value).__name__}")


def parse_utc(value: Any) -> datetime:
    """An ISO-8601 UTC time ending in ``Z``, e.g. ``2017-02-28T17:37:00Z``."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a UTC time ending in 'Z', found one without a time zone")
        return value.astimezone(UTC)
    if not isinstance(value, str) or not value.strip().endswith("Z"):
        raise ValueError(f"an ISO-8601 UTC time ending in 'Z' like '2017-02-28T17:37:00Z', not {value!r}")
    try:
        return datetime.fromisoformat(value.strip()[:-1] + "+00:00").astimezone(UTC)
    except ValueError:
        raise ValueError(f"an ISO-8601 UTC time like '2017-02-28T17:37:00Z', not {value!r}") from None


def parse_offset(value: Any, anchor: datetime | None) -> float:
    """Seconds after the anchor from ``'+01:30'``, a duration ``'90m'``, or an absolute ``...Z`` time."""
    if isinstance(value, str):
        m = _OFFSET.match(value)
        if m:
            return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3) or 0)
        if value.strip().endswith("Z"):
            when = parse_utc(value)
            if anchor is None:
                raise ValueError("an offset; an absolute time needs the scenario's anchor")
            return (when - anchor).total_seconds()
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError(
            f"a time: '+HH:MM[:SS]' after the anchor, a duration like '10m', or a UTC time ending in 'Z', "
            f"not {value!r}"
        ) from None


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def draw(self, rng: np.random.Generator) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def central(self) -> float:
        """A representative value (the median) used by static checks."""
        raise NotImplementedError  # pragma: no cover


class Fixed(_Dist):
    dist: Literal["fixed"]
    value: float

    def draw(self, rng: np.random.Generator) -> float:
        return self.value

    def central(self) -> float:
        return self.value


class Lognormal(_Dist):
    """Lognormal given by its median and 90th percentile (the way experts state a range)."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    p90: float

    @model_validator(mode="after")
    def _order(self) -> Lognormal:
        if not self.p90 > self.median:
            raise ValueError(f"p90 ({self.p90}) must be above the median ({self.median})")
        return self

    def draw(self, rng: np.random.Generator) -> float:
        sigma = math.log(self.p90 / self.median) / _Z_BOUND
        return float(self.median * math.exp(sigma * rng.standard_normal()))

    def central(self) -> float:
        return self.median


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if not self.high >= self.low:
            raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
        return self

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def central(self) -> float:
        return 0.5 * (self.low + self.high)


class Triangular(_Dist):
    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("low <= mode <= high with low < high")
        return self

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.triangular(self.low, self.mode, self.high))

    def central(self) -> float:
        return self.mode


class Normal(_Dist):
    """Normal truncated at zero (quantities here are never negative)."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(ge=0)

    def draw(self, rng: np.random.Generator) -> float:
        return float(max(0.0, self.mean + self.sd * rng.standard_normal()))

    def central(self) -> float:
        return max(0.0, self.mean)


Distribution = Annotated[Fixed | Lognormal | Uniform | Triangular | Normal, Field(discriminator="dist")]
_DIST_KINDS = ("fixed", "lognormal", "uniform", "triangular", "normal")
_DIST_PARAMS = ("value", "median", "p90", "low", "high", "mode", "mean", "sd")


def _seconds_or_dist(value: Any) -> Any:
    if isinstance(value, dict) and "dist" in value:
        return {k: (parse_duration(v) if k in _DIST_PARAMS else v) for k, v in value.items()}
    return parse_duration(value)


def _number_or_dist(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"a number, not {value!r}")
    return value


# A duration in seconds, or a distribution over durations.
Seconds = Annotated[float | Distribution, BeforeValidator(_seconds_or_dist)]
# A plain number, or a distribution over numbers.
Number = Annotated[float | Distribution, BeforeValidator(_number_or_dist)]
# A fixed duration (structural settings such as dt may not be uncertain).
FixedSeconds = Annotated[float, BeforeValidator(parse_duration)]


def central(value: float | _Dist) -> float:
    """The representative value of a possibly uncertain number."""
    return value.central() if isinstance(value, _Dist) else float(value)


def is_uncertain(value: Any) -> bool:
    return isinstance(value, _Dist)
