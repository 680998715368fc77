"""The HTML report: one self-contained page that loads nothing, shows every section, and stays small."""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs

from outagesim import ReportError, write_report
from outagesim.report import data
from outagesim.results import Results

URL_ATTRS = {"src", "href", "action", "formaction", "poster", "data", "srcset", "background", "xlink:href",
             "manifest", "ping", "longdesc", "cite", "codebase"}
LOADING_TAGS = {"link", "iframe", "img", "object", "embed", "base", "audio", "video", "source", "track", "frame"}


class _Page(HTMLParser):
    """Collects every tag with its attributes, and each script's text by id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self._text: list[str] = []
        self.outside: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script, self._text = dict(attrs), []

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None

    def handle_data(self, text):
        (self._text if self._script is not None else self.outside).append(text)


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def figure_specs(page: _Page) -> dict[str, dict]:
    return {a["id"][4:]: json.loads(text) for a, text in page.scripts if a.get("type") == "application/json"}


@pytest.fixture(scope="module")
def storm_page(storm_dir, tmp_path_factory) -> Path:
    return write_report(storm_dir, tmp_path_factory.mktemp("page") / "report.html")


def test_the_page_references_nothing_over_the_network(storm_page):
    """No tag loads anything (no src, href, link, img, iframe ...), and outside plotly.js no text names an
    http(s) address, a CSS url() or a font to fetch; plotly.js is the bundle plotly ships, inlined."""
    page = parse(storm_page)
    for tag, attrs in page.tags:
        assert tag not in LOADING_TAGS, tag
        assert not URL_ATTRS & set(attrs), (tag, attrs)
        for value in attrs.values():
            assert not re.search(r"(https?:|//|url\()", value or ""), (tag, attrs)
    bundle = [text for attrs, text in page.scripts if attrs.get("id") == "plotly-js"]
    assert bundle == [get_plotlyjs()]
    ours = [text for attrs, text in page.scripts if attrs.get("id") != "plotly-js"] + page.outside
    for text in ours:
        for pattern in (r"https?://", r"url\(", r"@import", r"@font-face", r"\bfetch\(", r"XMLHttpRequest"):
            assert not re.search(pattern, text), pattern


def test_the_page_has_every_section(storm_page):
    """Headline numbers, timeline, health heatmap, dependency graph with frames, impact table and, with a
    variant, the comparison charts are all on the page."""
    text = storm_page.read_text(encoding="utf-8")
    for heading in ("Headline", "Timeline", "Service health", "Dependency graph", "Tenant impact",
                    "Variants compared", "Goodput share per variant"):
        assert f"<h2>{heading}</h2>" in text, heading
    for label in ("requests failed", "user-minutes lost", "money lost to failed requests", "minutes down"):
        assert label in text, label
    specs = figure_specs(parse(storm_page))
    assert list(specs) == ["timeline", "health", "graph", "variants", "variant-goodput"]
    graph = specs["graph"]
    assert len(graph["frames"]) == len(graph["layout"]["sliders"][0]["steps"]) >= 2
    nodes = graph["data"][graph["frames"][0]["traces"][0]]["text"]
    assert {"tenant:shoppers", "frontend", "catalog", "catalog-db"} <= set(nodes)
    assert {t["name"] for t in specs["health"]["data"]} == {"base", "lifo"}


def test_a_single_variant_page_has_no_comparison(storm_results, tmp_path):
    """With only the base case, the page leaves out the variant comparison."""
    base_only = Results(manifest=storm_results.manifest, runs={"base": storm_results.runs["base"]},
                        outcomes={"base": storm_results.outcomes["base"]})
    page = write_report(base_only, tmp_path / "r.html")
    assert list(figure_specs(parse(page))) == ["timeline", "health", "graph"]
    assert "Tenant impact" in page.read_text(encoding="utf-8")


def test_observed_milestones_appear_only_when_the_results_have_them(storm_page, replay_dir, tmp_path):
    """A replay's milestones are rows of the timeline; without observed.json there are none."""
    def rows(path: Path) -> set[str]:
        timeline = figure_specs(parse(path))["timeline"]
        return {y for trace in timeline["data"] if isinstance(trace.get("y"), list) for y in trace["y"]
                if isinstance(y, str)}

    replay = write_report(replay_dir, tmp_path / "replay.html")
    assert {"observed catalog-down", "observed shop-stuck"} <= rows(replay)
    assert not any(r.startswith("observed ") for r in rows(storm_page))
    assert "fault catalog-db-restarts" in rows(storm_page)


def test_the_page_stays_small_on_a_long_run(storm_page, long_dir, tmp_path):
    """A one-day run (8640 intervals, a breaker event a minute per replica) gives a page within 1 MB of the
    60 s run's, with at most MAX_POINTS columns in the heatmap and MAX_FRAMES graph frames."""
    t0 = time.perf_counter()
    long_page = write_report(long_dir, tmp_path / "long.html")
    seconds = time.perf_counter() - t0
    short_size, long_size = storm_page.stat().st_size, long_page.stat().st_size
    assert long_size - short_size < 1_000_000, (short_size, long_size)
    assert long_size < 6_500_000
    specs = figure_specs(parse(long_page))
    assert all(len(t["x"]) <= data.MAX_POINTS for t in specs["health"]["data"])
    assert len(specs["graph"]["frames"]) <= data.MAX_FRAMES
    marks = [t for t in specs["timeline"]["data"]
             if isinstance(t.get("y"), list) and t["y"][:1] == ["breaker_open frontend->catalog"]]
    assert len(marks) == 1 and len(marks[0]["x"]) <= data.MAX_POINTS
    assert seconds < 60, seconds


def test_a_report_that_cannot_be_built_leaves_the_old_one(storm_results, tmp_path):
    """A results set the report cannot read raises ReportError and leaves an existing report untouched."""
    out = tmp_path / "report.html"
    out.write_text("old report")
    broken = Results(manifest={**storm_results.manifest, "dependency_graph": None}, runs=storm_results.runs,
                     outcomes=storm_results.outcomes)
    with pytest.raises(ReportError, match="dependency_graph"):
        write_report(broken, out)
    assert out.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_names_from_the_model_are_escaped(storm_results, tmp_path):
    """Text from the results (a tenant's name) is escaped in the page's HTML, never interpreted as markup."""
    outcomes = {k: v.assign(entity=v["entity"].replace("shoppers", "<b>shop</b>")) for k, v in
                storm_results.outcomes.items()}
    page = write_report(Results(manifest=storm_results.manifest, runs=storm_results.runs, outcomes=outcomes),
                        tmp_path / "r.html")
    text = page.read_text(encoding="utf-8")
    assert "&lt;b&gt;shop&lt;/b&gt;" in text and "<b>shop</b>" not in text
