"""`outagesim replay NAME`: the timeline table, tenant impact, and a results directory with observed.json."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from outagesim.cli import app


def test_replay_prints_the_timeline_and_writes_observed_json(tmp_path):
    """A short replay prints observed vs simulated milestones and writes observed.json, the replay's name
    and its report (whose timeline takes the observed milestones, including one that never happens)."""
    out = tmp_path / "res"
    res = CliRunner().invoke(app, ["replay", "s3-2017", "--replicas", "1", "--set", "duration=20m",
                                   "--out", str(out), "--report"])
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "timeline (base)" in res.stdout and "s3-get-down" in res.stdout and "tenant impact" in res.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    observed = json.loads((out / "observed.json").read_text())
    assert manifest["replay"] == "s3-2017" and observed["replay"] == "s3-2017"
    assert observed["milestones"]["s3-get-down"]["kind"] == "prediction"
    assert observed["milestones"]["amazon-retail-stays-up"]["utc"] is None
    assert "s3-get-down" in (out / "report.html").read_text()


def test_replay_with_variants_prints_the_paired_comparison(tmp_path):
    """With a variant, replay also prints each metric's paired difference against the base (same seeds)."""
    res = CliRunner().invoke(app, ["replay", "s3-2017", "--variant", "index-cells", "--replicas", "2",
                                   "--set", "duration=20m", "--out", str(tmp_path / "res")])
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "timeline (index-cells)" in res.stdout and "variant − base, paired by replica" in res.stdout
