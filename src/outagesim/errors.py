"""The one error root of outagesim.

Hierarchy::

    OutagesimError            anything a user can cause; the CLI prints it and exits 2
    ├── ModelError            a model or scenario file is wrong (carries every Problem found)
    ├── ScenarioError         a scenario cannot be applied to this model
    ├── RunRefused            a run would exceed a stated limit (e.g. the DES cost estimate)
    ├── AnalysisError         an analysis cannot be done on these results (a missing variant, no
    │                         per-replica series, mismatched replicas, a bad threshold)
    ├── StoreError            a results store is missing, not a store, in use, or lacks a run
    ├── UnknownComponent      a component name (``blast --fail``) the model does not have
    └── ReportError           a report cannot be made from its input or written where asked
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where, what was expected, what was found."""

    file: str
    line: int | None
    path: str
    expected: str
    found: str
    hint: str = ""
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" at '{self.path}'" if self.path else ""
        text = f"{where}{key}: expected {self.expected}, found {self.found}"
        return f"{text} ({self.hint})" if self.hint else text


class OutagesimError(Exception):
    """Root of every error a user can cause; never shown as a traceback."""


class ModelError(OutagesimError):
    """One or more problems in model or scenario files, all reported at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        super().__init__("\n".join(lines) if lines else "invalid model")


class ScenarioError(OutagesimError):
    """A scenario refers to something the model does not have, or cannot be run as given."""


class RunRefused(OutagesimError):
    """A run would exceed a stated limit; the message says how to force it."""


class AnalysisError(OutagesimError):
    """An analysis asked of Results that cannot answer it; the message says what was expected and found."""


class StoreError(OutagesimError):
    """A results store (DuckDB file) is missing, unreadable, locked, or does not hold the run asked for."""


class UnknownComponent(OutagesimError):
    """A component name (provider, region, zone, service, cell) that the model does not have."""


class ReportError(OutagesimError):
    """A report's input is not what it should be, or its output cannot be written where asked."""
