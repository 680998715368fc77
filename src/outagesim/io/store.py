"""The results store: a DuckDB file that keeps every run appended to it, for listing and querying later.

Tables (plain SQL, so a user can query them with DuckDB directly)::

    outagesim_store   key, value                   the store's schema version
    runs              run_id (primary key), created_at (UTC), scenario_name, model_hash,
                      scenario_hash, variants (list, base first), seed, replicas, engine,
                      engine_version (outagesim's version), results_dir, manifest (JSON text)
    outcomes          run_id, variant, then the per-replica outcome columns of replicas.parquet

An append is one transaction: the run's row and all its outcomes, or nothing. A store that did not exist
before a failed append is removed again, so a failure leaves the file system as it was.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from ..errors import StoreError
from ..results import Results

SCHEMA_VERSION = "1"
RUN_COLUMNS = ["run_id", "created_at", "scenario_name", "model_hash", "scenario_hash", "variants", "seed",
               "replicas", "engine", "engine_version", "results_dir"]
_CREATE = [
    "CREATE TABLE IF NOT EXISTS outagesim_store (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, scenario_name VARCHAR, model_hash VARCHAR,
        scenario_hash VARCHAR, variants VARCHAR[], seed BIGINT, replicas INTEGER, engine VARCHAR,
        engine_version VARCHAR, results_dir VARCHAR, manifest VARCHAR)""",
]


@dataclass(frozen=True)
class StoredRun:
    """One run read back from a store: its row of ``runs`` and its outcomes (one row per replica, entity)."""

    info: dict
    manifest: dict
    outcomes: pd.DataFrame


def _describe(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@contextmanager
def _connect(path: Path, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store, turning DuckDB's failures into a StoreError that names the file."""
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        text = _describe(exc)
        if "lock" in text.lower():
            raise StoreError(f"the results store {path} is in use by another process ({text})") from exc
        raise StoreError(f"expected a DuckDB results store at {path}, found a file DuckDB cannot open "
                         f"({text})") from exc
    try:
        yield con
    finally:
        con.close()


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def _check_is_store(con: duckdb.DuckDBPyConnection, path: Path, *, empty_ok: bool) -> None:
    tables = _tables(con)
    if "outagesim_store" in tables or (empty_ok and not tables):
        return
    raise StoreError(f"expected an outagesim results store at {path}, found a DuckDB file with tables "
                     f"{', '.join(sorted(tables)) or 'none'} and no 'outagesim_store' table")


def _existing(store: str | os.PathLike[str]) -> Path:
    path = Path(store)
    if not path.is_file():
        raise StoreError(f"no results store at {path}: expected a DuckDB file written by "
                         "'outagesim run --store', found nothing there")
    return path


def check_store(store: str | os.PathLike[str]) -> None:
    """Fail early, before a long run, when ``store`` could not take an append.

    It must be an outagesim store or an empty DuckDB file, or not exist yet in an existing folder.
    """
    path = Path(store)
    if path.exists():
        if not path.is_file():
            raise StoreError(f"expected a DuckDB results store at {path}, found a directory")
        with _connect(path, read_only=True) as con:
            _check_is_store(con, path, empty_ok=True)
    elif not path.parent.is_dir():
        raise StoreError(f"cannot create the results store {path}: the folder {path.parent} does not exist")


def new_run_id(now: datetime) -> str:
    """A readable, sortable, unique-enough id: UTC time to the second and 4 random hex digits."""
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _outcomes(results: Results, run_id: str) -> pd.DataFrame:
    frames = [df.assign(run_id=run_id, variant=name) for name, df in results.outcomes.items() if len(df)]
    if not frames:
        return pd.DataFrame({"run_id": pd.Series(dtype=object), "variant": pd.Series(dtype=object)})
    table = pd.concat(frames, ignore_index=True)
    return table[["run_id", "variant", *[c for c in table.columns if c not in ("run_id", "variant")]]]


def _insert_outcomes(con: duckdb.DuckDBPyConnection, table: pd.DataFrame) -> None:
    """Insert by column name; outcome columns new to the store are added first (older rows get NULL)."""
    con.register("new_outcomes", table)
    try:
        if "outcomes" not in _tables(con):
            con.execute("CREATE TABLE outcomes AS SELECT * FROM new_outcomes LIMIT 0")
        have = {r[0] for r in con.execute("DESCRIBE outcomes").fetchall()}
        for name, kind, *_ in con.execute("DESCRIBE SELECT * FROM new_outcomes").fetchall():
            if name not in have:
                con.execute(f'ALTER TABLE outcomes ADD COLUMN "{name}" {kind}')
        con.execute("INSERT INTO outcomes BY NAME SELECT * FROM new_outcomes")
    finally:
        con.unregister("new_outcomes")


def append_run(store: str | os.PathLike[str], results: Results, *, scenario_name: str,
               results_dir: str | os.PathLike[str] | None = None, run_id: str | None = None,
               created_at: datetime | None = None) -> str:
    """Append a run (its manifest facts and per-replica outcomes) to ``store`` in one transaction.

    The file is created when missing. Returns the run id.
    """
    path = Path(store)
    check_store(path)
    created = not path.exists()
    now = (created_at or datetime.now(UTC)).astimezone(UTC)
    run_id = run_id or new_run_id(now)
    m = results.manifest
    row = [run_id, now.replace(tzinfo=None), scenario_name, m.get("model_hash"), m.get("scenario_hash"),
           list(results.variants), m.get("seed"), m.get("replicas"), m.get("engine"),
           m.get("versions", {}).get("outagesim"), None if results_dir is None else str(results_dir),
           json.dumps(m, sort_keys=True, default=str)]
    try:
        with _connect(path, read_only=False) as con:
            con.begin()
            try:
                for sql in _CREATE:
                    con.execute(sql)
                con.execute("INSERT OR IGNORE INTO outagesim_store VALUES ('schema_version', ?)", [SCHEMA_VERSION])
                con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                _insert_outcomes(con, _outcomes(results, run_id))
                con.commit()
            except BaseException:
                con.rollback()
                raise
    except BaseException as exc:
        if created:  # the transaction left an empty store behind: remove it, as if never created
            for leftover in (path, path.with_name(path.name + ".wal")):
                leftover.unlink(missing_ok=True)
        if isinstance(exc, duckdb.Error):
            raise StoreError(f"could not append run {run_id} to {path}; the store is unchanged "
                             f"({_describe(exc)})") from exc
        raise
    return run_id


def list_runs(store: str | os.PathLike[str]) -> pd.DataFrame:
    """Every run in the store, oldest first: :data:`RUN_COLUMNS`."""
    path = _existing(store)
    with _connect(path, read_only=True) as con:
        _check_is_store(con, path, empty_ok=False)
        if "runs" not in _tables(con):
            return pd.DataFrame(columns=RUN_COLUMNS)
        return con.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs ORDER BY created_at, run_id").df()


def read_run(store: str | os.PathLike[str], run_id: str) -> StoredRun:
    """One run: its row, manifest and outcomes; a StoreError naming the latest ids when there is no such run."""
    path = _existing(store)
    with _connect(path, read_only=True) as con:
        _check_is_store(con, path, empty_ok=False)
        tables = _tables(con)
        found = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).df() if "runs" in tables else None
        if found is None or found.empty:
            ids = ([r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 3").fetchall()]
                   if "runs" in tables else [])
            have = f"latest: {', '.join(ids)}" if ids else "it holds no runs"
            raise StoreError(f"no run '{run_id}' in the results store {path} ({have}; see 'outagesim runs list')")
        outcomes = (con.execute("SELECT * FROM outcomes WHERE run_id = ? ORDER BY rowid", [run_id]).df()
                    if "outcomes" in tables else pd.DataFrame())
    info = found.iloc[0].to_dict()
    manifest = json.loads(info.pop("manifest") or "{}")
    info["variants"] = list(info["variants"])
    return StoredRun(info=info, manifest=manifest, outcomes=outcomes.drop(columns=["run_id"], errors="ignore"))
