"""PNG export for slides: the main figures as real, non-blank PNG files, drawn with matplotlib (Agg)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from PIL import Image

from outagesim import ReportError
from outagesim.report.png import DPI, write_pngs
from outagesim.results import Results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_main_figures_are_written_as_non_blank_pngs(storm_dir, tmp_path):
    """With a variant, timeline, health, graph and variants PNGs are written: valid PNG, slide-sized, not blank."""
    written = write_pngs(Results.read(storm_dir), tmp_path / "png")
    assert [p.name for p in written] == ["timeline.png", "health.png", "graph.png", "variants.png"]
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == sorted(p.name for p in written)
    for path in written:
        blob = path.read_bytes()
        assert blob[:8] == PNG_SIGNATURE and len(blob) > 10_000, path.name
        pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).astype(np.int64)
        assert Image.open(path).width >= 8 * DPI, path.name
        assert (pixels.min(axis=1) < 200).mean() > 0.01 and len(np.unique(pixels @ [65536, 256, 1])) > 20, path.name
    assert matplotlib.get_backend().lower() == "agg"


def test_a_replay_s_milestones_and_a_single_variant_still_draw(replay_dir, tmp_path):
    """A results directory with observed milestones and no variant gives three PNGs (no comparison)."""
    results = Results.read(replay_dir)
    base_only = Results(manifest=results.manifest, runs={"base": results.runs["base"]},
                        outcomes={"base": results.outcomes["base"]}, observed=results.observed)
    written = write_pngs(base_only, tmp_path)
    assert [p.name for p in written] == ["timeline.png", "health.png", "graph.png"]
    assert all(p.stat().st_size > 10_000 for p in written)


def test_a_file_where_the_folder_should_be_is_a_report_error(storm_dir, tmp_path):
    """``write_pngs`` into a path that is a file raises ReportError and leaves the file as it was."""
    blocker = tmp_path / "slides"
    blocker.write_text("not a folder")
    with pytest.raises(ReportError, match="found a file"):
        write_pngs(Results.read(storm_dir), blocker)
    assert blocker.read_text() == "not a folder"
