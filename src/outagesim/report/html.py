"""One self-contained HTML page per results directory: plotly.js inlined, no network, written atomically.

The page loads nothing: no CDN, no web fonts (system fonts only), no images by URL. Figures travel as
JSON in ``<script type="application/json">`` blocks and are drawn by one inline script, which marks
``<body data-ready="1">`` once every figure is drawn. Its size is plotly.js (about 4.8 MB) plus the
figures, which :mod:`outagesim.report.data` keeps bounded whatever the run's length.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from ..errors import ReportError
from ..io import write_text
from ..results import Results
from . import data, figures

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "showLink": False, "showSendToCloud": False,
                 "showEditInChartStudio": False, "toImageButtonOptions": {"format": "png", "scale": 2}}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0 auto;
max-width:1200px;padding:16px 24px;color:#222;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
.info{color:#555;font-size:.9em}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:.6em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:150px}
.card .v{font-size:1.6em;font-weight:600}.card .k{color:#555;font-size:.85em}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}th,td{border-bottom:1px solid #e4e4e4;
padding:4px 10px;text-align:right}th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}
.spread{color:#777;font-size:.85em}.note{color:#555;font-size:.85em;max-width:900px}
"""

_DRAW = """
(function () {
  var config = %s;
  var ids = %s;
  Promise.all(ids.map(function (id) {
    var spec = JSON.parse(document.getElementById("fig-" + id).textContent);
    var div = document.getElementById(id);
    return Plotly.newPlot(div, spec.data, spec.layout, config).then(function () {
      return spec.frames && spec.frames.length ? Plotly.addFrames(div, spec.frames) : null;
    });
  })).then(function () { document.body.setAttribute("data-ready", "1"); },
           function (e) { document.body.setAttribute("data-ready", "error"); console.error(e); });
})();
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(x: float, pct: bool = False) -> str:
    if not np.isfinite(x):
        return "-"
    if pct:
        return f"{100 * x:.2f}%"
    if abs(x) >= 1e6:
        return f"{x / 1e6:.2f}M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.1f}k"
    return f"{x:.1f}" if abs(x) < 100 else f"{x:.0f}"


def _headline(impact: pd.DataFrame) -> str:
    """Big numbers for the base case per tenant, then the same means for every variant in a table."""
    if impact.empty:
        return "<p>No tenant outcomes in these results.</p>"
    parts = []
    for row in impact[impact["variant"] == impact["variant"].iloc[0]].itertuples(index=False):
        cards = [(_num(row.failed_share_mean, pct=True), "requests failed"),
                 (_num(row.user_minutes_lost_mean), "user-minutes lost"),
                 (_num(row.money_failed_requests_mean), "money lost to failed requests"),
                 (_num(row.money_downtime_mean), "money lost to downtime"),
                 (_num(row.minutes_down_mean), "minutes down"),
                 (f"{row.stuck}/{row.replicas}", "replicas stuck at the end")]
        body = "".join(f'<div class="card"><div class="v">{v}</div><div class="k">{k}</div></div>' for v, k in cards)
        parts.append(f"<h3>{_e(row.tenant)} ({_e(row.variant)})</h3><div class=\"cards\">{body}</div>")
    if impact["variant"].nunique() > 1:
        head = "".join(f"<th>{h}</th>" for h in ("variant", "tenant", "failed", "user-min lost", "money, failed req",
                                                 "money, downtime", "min down", "stuck"))
        rows = "".join(
            f"<tr><td>{_e(r.variant)}</td><td>{_e(r.tenant)}</td><td>{_num(r.failed_share_mean, True)}</td>"
            f"<td>{_num(r.user_minutes_lost_mean)}</td><td>{_num(r.money_failed_requests_mean)}</td>"
            f"<td>{_num(r.money_downtime_mean)}</td><td>{_num(r.minutes_down_mean)}</td>"
            f"<td>{r.stuck}/{r.replicas}</td></tr>" for r in impact.itertuples(index=False))
        parts.append(f"<table><tr>{head}</tr>{rows}</table>")
    return "".join(parts)


def _impact_table(impact: pd.DataFrame) -> str:
    """Mean across replicas with the p5-p95 spread under it, per variant and tenant."""
    if impact.empty:
        return "<p>No tenant outcomes in these results.</p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in ("variant", "tenant", "replicas", *data.IMPACT_MEASURES.values(),
                                                 "stuck"))
    rows = []
    for r in impact.to_dict("records"):
        cells = []
        for m in data.IMPACT_MEASURES:
            pct = m == "failed_share"
            cells.append(f"<td>{_num(r[f'{m}_mean'], pct)}<br><span class=\"spread\">{_num(r[f'{m}_p5'], pct)} to "
                         f"{_num(r[f'{m}_p95'], pct)}</span></td>")
        rows.append(f"<tr><td>{_e(r['variant'])}</td><td>{_e(r['tenant'])}</td><td>{r['replicas']}</td>"
                    f"{''.join(cells)}<td>{r['stuck']}</td></tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _vulnerability(manifest: dict) -> str:
    vuln = manifest.get("vulnerability")
    if not isinstance(vuln, dict) or not vuln:
        return ""
    rows = []
    for svc, v in vuln.items():
        margin = v.get("margin")
        text = "-" if not v.get("storm_possible") else (
            f"none up to a {100 * v.get('deepest', 0):.0f}% loss" if margin is None
            else f"{100 * margin:.0f}% capacity loss for {v.get('hold_s', 0):g} s")
        rows.append(f"<tr><td>{_e(svc)}</td><td>{'exists' if v.get('storm_possible') else 'no'}</td>"
                    f"<td>{_e(text)}</td><td>{'THIN' if v.get('thin') else ''}</td></tr>")
    return ("<h2>Vulnerability (base case)</h2><table><tr><th>service</th><th>storm equilibrium</th>"
            f"<th>tipping margin</th><th>flag</th></tr>{''.join(rows)}</table>")


def _run_info(results: Results) -> str:
    m = results.manifest
    record = results.runs["base"]
    k = data.bucket_size(len(record.t_s))
    bits = [f"engine {m.get('engine', '?')}", f"{m.get('replicas', '?')} replica(s)", f"seed {m.get('seed', '?')}",
            f"anchor {m.get('anchor', '?')}", f"duration {float(m.get('duration_s') or 0):g} s",
            f"variants {', '.join(results.variants)}", f"outagesim {m.get('versions', {}).get('outagesim', '?')}"]
    if m.get("replay"):
        bits.insert(0, f"replay {m['replay']}")
    sampling = (f"Series were recorded every {record.interval_s:g} s ({len(record.t_s)} intervals); this page shows "
                f"them in buckets of {k * record.interval_s:g} s ({k} interval(s) each, at most {data.MAX_POINTS} "
                f"per series, the graph at most {data.MAX_FRAMES} frames): rates and levels as the bucket's mean, "
                "goodput shares as the bucket's goodput over its arrivals.")
    return f'<p class="info">{_e("; ".join(bits))}</p><p class="note">{_e(sampling)}</p>'


def _figures(results: Results) -> list[tuple[str, str, go.Figure, str]]:
    """(id, heading, figure, note) of every chart on the page, in page order."""
    out = [
        ("timeline", "Timeline", figures.timeline(results),
         "Tenants' goodput and demand (requests/s, mean over replicas, band p5 to p95); below, each fault's window, "
         "each kind of event (per-replica events grouped per bucket; hover for how many replicas) and, for a "
         "replay, each observed milestone with its tolerance."),
        ("health", "Service health", figures.health_heatmap(results),
         "Share of each service's arriving attempts that succeeded in time (goodput / arrivals). Blank: nothing "
         "arrived."),
        ("graph", "Dependency graph", figures.dependency_graph(results),
         f"Healthy: at least {data.HEALTHY_AT:.0%} of arrivals served; degraded: {data.FAILING_BELOW:.0%} to "
         f"{data.HEALTHY_AT:.0%}; failing: below {data.FAILING_BELOW:.0%} (down once it lasts 5 minutes); idle: "
         "nothing arrived. Tenants are coloured by goodput over demand. Drag the slider to move through time; "
         "the page opens at the worst moment."),
    ]
    if len(results.variants) > 1:
        out += [
            ("variants", "Variants compared", figures.variant_comparison(results),
             "Same seeds for every variant. Money lost to failed requests and to downtime are separate measures, "
             "never added."),
            ("variant-goodput", "Goodput share per variant", figures.variant_goodput(results), ""),
        ]
    return out


def _json(fig: go.Figure) -> str:
    # "<" only occurs inside JSON strings, where \u003c is the same character and cannot close the script tag
    return fig.to_json(validate=False, remove_uids=True).replace("<", "\\u003c")


def render_html(results: Results) -> str:
    """The whole page as one string (the report without writing it anywhere)."""
    impact = data.tenant_impact(results)
    figs = _figures(results)
    title = f"outagesim report: {results.manifest.get('replay') or 'run'}"
    body = [f"<h1>{_e(title)}</h1>", _run_info(results), "<h2>Headline</h2>", _headline(impact)]
    for fid, heading, _fig, note in figs:
        if fid == "variants":
            body += ["<h2>Tenant impact</h2>", _impact_table(impact)]
        body += [f"<h2>{_e(heading)}</h2>", f'<div id="{fid}"></div>',
                 f'<p class="note">{_e(note)}</p>' if note else ""]
    if not any(fid == "variants" for fid, *_ in figs):
        body += ["<h2>Tenant impact</h2>", _impact_table(impact)]
    body.append(_vulnerability(results.manifest))
    payloads = "".join(f'<script type="application/json" id="fig-{fid}">{_json(fig)}</script>'
                       for fid, _h, fig, _n in figs)
    draw = _DRAW % (json.dumps(PLOTLY_CONFIG), json.dumps([fid for fid, *_ in figs]))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
            f"<style>{_STYLE}</style><script id=\"plotly-js\">{get_plotlyjs()}</script></head>"
            f"<body>{''.join(body)}{payloads}<script>{draw}</script></body></html>\n")


def _source(source: Results | str | Path) -> tuple[Results, Path | None]:
    if isinstance(source, Results):
        return source, None
    root = Path(source)
    if not root.exists():
        raise ReportError(f"expected a results directory at {root}, found nothing there")
    if not root.is_dir():
        raise ReportError(f"expected a results directory at {root}, found a file")
    return Results.read(root), root


def check_outputs(out: str | Path | None, png_dir: str | Path | None = None) -> None:
    """Raise ReportError unless the report file and the PNG folder can be created where asked.

    Checked before anything is written (and by ``run --report`` before simulating), so a mistake in a
    path never leaves half of the outputs.
    """
    for target, want in ((out, "file"), (png_dir, "folder")):
        if target is None:
            continue
        path = Path(target)
        if want == "file" and path.is_dir():
            raise ReportError(f"expected a file path for the report, found the directory {path}")
        if want == "folder" and path.exists() and not path.is_dir():
            raise ReportError(f"expected a folder for the PNG files at {path}, found a file")
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise ReportError(f"cannot write {path}: expected {blocker} to be a folder, found a file")


def write_report(source: Results | str | Path, out: str | Path | None = None, *,
                 png_dir: str | Path | None = None) -> Path:
    """Write the HTML report of a results directory (or Results) to ``out``, atomically; return its path.

    ``out`` defaults to ``RESULTS_DIR/report.html`` when ``source`` is a directory. With ``png_dir`` the
    main figures are also written there as PNG files (matplotlib), for slides.
    """
    results, root = _source(source)
    if out is None:
        if root is None:
            raise ReportError("expected an output path for a report of results held in memory, found none")
        out = root / "report.html"
    path = Path(out)
    check_outputs(path, png_dir)
    page = render_html(results)
    try:
        write_text(path, page)
    except OSError as exc:
        raise ReportError(f"could not write the report to {path}: {exc.strerror or exc}") from exc
    if png_dir is not None:
        from .png import write_pngs

        write_pngs(results, png_dir)
    return path
