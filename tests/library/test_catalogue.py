"""The incident library's catalogue: listing replays, finding their files, and the CLI's `replays`."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from outagesim.cli import app
from outagesim.errors import OutagesimError
from outagesim.library import list_replays, replay_paths


def test_list_replays_names_s3_2017_with_date_and_summary():
    """list_replays gives each bundled replay's name, date and a one-line summary."""
    got = {r.name: r for r in list_replays()}
    assert "s3-2017" in got
    assert got["s3-2017"].date == "2017-02-28"
    assert "index" in got["s3-2017"].summary and "\n" not in got["s3-2017"].summary


def test_replay_paths_point_at_existing_files():
    """replay_paths returns the model, scenario, observed and sources files of a replay, all present."""
    p = replay_paths("s3-2017")
    for f in (p.model, p.scenario, p.observed, p.sources):
        assert f.is_file(), f


def test_unknown_replay_is_a_clear_error_with_did_you_mean():
    """An unknown name raises OutagesimError naming the close match and the known replays."""
    with pytest.raises(OutagesimError) as e:
        replay_paths("s3-2071")
    assert "did you mean 's3-2017'" in str(e.value) and "outagesim replays" in str(e.value)


def test_cli_replays_lists_one_line_each():
    """`outagesim replays` prints one line per replay: name, date, what happened."""
    res = CliRunner().invoke(app, ["replays"])
    assert res.exit_code == 0
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("s3-2017"))
    assert "2017-02-28" in line


def test_cli_replay_unknown_name_exits_2_without_traceback():
    """`outagesim replay NOPE` exits 2 with a message, not a traceback."""
    res = CliRunner().invoke(app, ["replay", "s3-2018"])
    assert res.exit_code == 2
    assert "no bundled replay named 's3-2018'" in res.stderr and "Traceback" not in res.stderr
