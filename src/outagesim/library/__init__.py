"""The bundled incident replays and the reference internet model they share (package data).

Each replay is a folder ``library/<name>/`` holding ``replay.yaml`` (name, date, one-line summary),
``model.yaml`` (which includes files from ``library/reference/``), ``scenario.yaml``, ``observed.yaml``
(the milestones, read only for comparison, never by the engine) and ``sources.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from ..errors import OutagesimError
from ..model.names import did_you_mean

__all__ = ["Replay", "ReplayPaths", "list_replays", "replay_paths"]


@dataclass(frozen=True)
class Replay:
    """One bundled replay as ``outagesim replays`` lists it."""

    name: str
    date: str
    summary: str


@dataclass(frozen=True)
class ReplayPaths:
    """Where a bundled replay's files are."""

    name: str
    folder: Path
    model: Path
    scenario: Path
    observed: Path
    sources: Path


def _root() -> Path:
    # A regular (unzipped) install: the package's resources are plain files on disk, which the loader
    # needs because model files include each other by relative path.
    return Path(str(files(__name__)))


def _folders() -> list[Path]:
    return sorted(p for p in _root().iterdir() if (p / "replay.yaml").is_file())


def _read_info(folder: Path) -> Replay:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load((folder / "replay.yaml").read_text(encoding="utf-8")) or {}
    return Replay(name=str(data.get("name", folder.name)), date=str(data.get("date", "")),
                  summary=" ".join(str(data.get("summary", "")).split()))


def list_replays() -> list[Replay]:
    """The bundled replays, oldest first: name, date and what happened, from each ``replay.yaml``."""
    return sorted((_read_info(f) for f in _folders()), key=lambda r: (r.date, r.name))


def replay_paths(name: str) -> ReplayPaths:
    """The files of the bundled replay ``name``; an unknown name is an OutagesimError with a did-you-mean."""
    names = [f.name for f in _folders()]
    if name not in names:
        hint = did_you_mean(name, names)
        listed = ", ".join(names) or "none"
        raise OutagesimError(f"no bundled replay named '{name}'{f' ({hint})' if hint else ''}; "
                             f"the library has: {listed} (see 'outagesim replays')")
    folder = _root() / name
    return ReplayPaths(name=name, folder=folder, model=folder / "model.yaml", scenario=folder / "scenario.yaml",
                       observed=folder / "observed.yaml", sources=folder / "sources.md")
