"""``outagesim report`` and ``run --report``: what they write, and clear errors (exit 2) for user mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import assert_user_error, invoke

from .conftest import SHOP

SHORT_RUN = ["--replicas", "1", "--set", "duration=30s", "--set", "faults.catalog-db-restarts.at=10s",
             "--set", "faults.catalog-db-restarts.duration=10s"]


def test_report_writes_the_page_into_the_results_directory_by_default(storm_dir):
    """``report DIR`` writes DIR/report.html, a complete page, and says where it went."""
    target = storm_dir / "report.html"
    target.unlink(missing_ok=True)
    result = invoke("report", storm_dir)
    assert result.exit_code == 0, result.output
    assert target.is_file() and target.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert "report written to" in result.output


def test_report_writes_where_asked_and_pngs_for_slides(storm_dir, tmp_path):
    """``report DIR -o FILE --png FOLDER`` writes the page to FILE and non-empty PNG files into FOLDER."""
    result = invoke("report", storm_dir, "-o", tmp_path / "out" / "page.html", "--png", tmp_path / "slides")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "page.html").stat().st_size > 1_000_000
    pngs = sorted(p.name for p in (tmp_path / "slides").iterdir())
    assert pngs == ["graph.png", "health.png", "timeline.png", "variants.png"]
    assert all((tmp_path / "slides" / p).stat().st_size > 10_000 for p in pngs)


def _not_results(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    return folder


BAD_REPORTS = {
    "missing directory": (lambda tmp, good: [tmp / "nowhere"], ["expected a results directory", "found nothing"]),
    "a file": (lambda tmp, good: [good / "manifest.json"], ["expected a results directory", "found a file"]),
    "not results": (lambda tmp, good: [_not_results(tmp)], ["not an outagesim results directory", "manifest.json"]),
    "output is a folder": (lambda tmp, good: [good, "-o", tmp], ["expected a file path", "found the directory"]),
    "output under a file": (lambda tmp, good: [good, "-o", good / "manifest.json" / "r.html"],
                            ["to be a folder, found a file"]),
    "png folder is a file": (lambda tmp, good: [good, "-o", tmp / "r.html", "--png", good / "manifest.json"],
                             ["expected a folder for the PNG files", "found a file"]),
}


@pytest.mark.parametrize("case", list(BAD_REPORTS))
def test_report_rejects_bad_paths_and_writes_nothing(storm_dir, tmp_path, case):
    """A missing or non-results directory, or an output that cannot be written, exits 2 naming what was
    expected and found, and writes no report (nor a temporary file) anywhere."""
    make, needles = BAD_REPORTS[case]
    work = tmp_path / "work"
    work.mkdir()
    before = sorted(p.name for p in storm_dir.iterdir())
    assert_user_error(invoke("report", *make(work, storm_dir)), *needles, unwrap=True)
    assert not list(work.rglob("*.html")) and not list(work.rglob("*.tmp-*"))
    assert sorted(p.name for p in storm_dir.iterdir()) == before


def test_run_with_report_writes_results_and_report(tmp_path):
    """``run --report`` (no value, followed by another option) writes RESULTS_DIR/report.html after the results."""
    out = tmp_path / "out"
    result = invoke("run", SHOP / "model.yaml", SHOP / "retry-storm.yaml", "--report", *SHORT_RUN, "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").is_file() and (out / "report.html").stat().st_size > 1_000_000
    assert json.loads((out / "manifest.json").read_text())["variants"] == ["base"]


def test_run_with_report_path_writes_there(tmp_path):
    """``run --report FILE`` writes the report to FILE and none into the results directory."""
    out, page = tmp_path / "out", tmp_path / "pages" / "storm.html"
    result = invoke("run", SHOP / "model.yaml", SHOP / "retry-storm.yaml", *SHORT_RUN, "--out", out, "--report", page)
    assert result.exit_code == 0, result.output
    assert page.stat().st_size > 1_000_000 and not (out / "report.html").exists()


def test_run_with_an_unwritable_report_path_fails_before_simulating(tmp_path):
    """``run --report`` under a file exits 2 before the run, so no results directory is written."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = tmp_path / "out"
    result = invoke("run", SHOP / "model.yaml", SHOP / "retry-storm.yaml", *SHORT_RUN, "--out", out,
                    "--report", blocker / "r.html")
    assert_user_error(result, "to be a folder, found a file", unwrap=True)
    assert not out.exists()


def test_compare_with_report_writes_the_comparison_page(tmp_path):
    """``compare --report`` writes RESULTS_DIR/report.html with the variant comparison charts."""
    out = tmp_path / "out"
    result = invoke("compare", SHOP / "model.yaml", SHOP / "retry-storm.yaml", "--variant", "lifo", *SHORT_RUN,
                    "--replicas", "2", "--out", out, "--report")
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2>Variants compared</h2>" in page and 'id="fig-variants"' in page
