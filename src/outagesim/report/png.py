"""The report's main figures as PNG files for slides: matplotlib on the Agg backend, one function per chart.

The same numbers as the page (:mod:`outagesim.report.data`); static, so the dependency graph is drawn
at the worst moment (the bucket with the lowest mean goodput share over services). Each file is
rendered in memory and written atomically.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot  # noqa: E402
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..errors import ReportError  # noqa: E402
from ..io import write_bytes  # noqa: E402
from ..results import Results  # noqa: E402
from . import data  # noqa: E402
from .figures import HEALTH_SCALE, PALETTE, STATE_COLOURS  # noqa: E402

DPI = 150


def _times(results: Results, t_s) -> list[datetime]:
    return [datetime.fromisoformat(s) for s in data.utc(results, t_s)]


def _utc_axis(ax) -> None:
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("UTC")


def timeline_png(results: Results, variant: str = "base") -> Figure:
    """Tenants' goodput and demand with fault windows and observed milestones marked."""
    record = results.runs[variant]
    k = data.bucket_size(len(record.t_s))
    x = _times(results, data.bucket_times(record, k))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for i, tenant in enumerate(data.entities(record, "tenant")):
        colour = PALETTE[i % len(PALETTE)]
        lo, hi = (data.stat_series(record, ("tenant", tenant, "goodput"), s) for s in ("p5", "p95"))
        if lo is not None and hi is not None:
            ax.fill_between(x, data.bucket_mean(lo, k), data.bucket_mean(hi, k), color=colour, alpha=0.2, lw=0)
        for metric, style in (("goodput", "-"), ("demand", ":")):
            values = data.stat_series(record, ("tenant", tenant, metric))
            if values is not None:
                ax.plot(x, data.bucket_mean(values, k), style, color=colour, label=f"{tenant} {metric}")
    end = float(record.t_s[-1] + record.interval_s) if len(record.t_s) else 0.0
    for name, t0, t1 in data.fault_windows(record):
        a, b = _times(results, [t0, end if t1 is None else t1])
        ax.axvspan(a, b, color="#d62728", alpha=0.12, lw=0)
        ax.annotate(f"fault {name}", (a, 1.0), xycoords=("data", "axes fraction"), va="top", fontsize=8)
    for m in data.milestones(results):
        (at,) = _times(results, [m.t_s])
        ax.axvline(at, color="#1f77b4" if m.kind == "calibration" else "#9467bd", ls="--", lw=1)
        ax.annotate(m.id, (at, 0.02), xycoords=("data", "axes fraction"), rotation=90, fontsize=7, va="bottom")
    ax.set_ylabel("requests/s")
    ax.set_ylim(bottom=0)
    _utc_axis(ax)
    ax.set_title(f"Timeline ({variant}): goodput (band p5-p95) and demand")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def health_png(results: Results, variant: str = "base") -> Figure:
    """Goodput share of every service over time as a heatmap."""
    h = data.health(results, variant)
    cmap = LinearSegmentedColormap.from_list("health", [(p, c) for p, c in HEALTH_SCALE]).with_extremes(bad="#ffffff")
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.35 * max(len(h.services), 1)))
    x = mdates.date2num(_times(results, np.append(h.t_s, h.t_s[-1] + h.bucket_s))) if len(h.t_s) else [0, 1]
    mesh = ax.pcolormesh(x, np.arange(len(h.services) + 1), np.ma.masked_invalid(h.ratio), cmap=cmap, vmin=0, vmax=1)
    ax.set_yticks(np.arange(len(h.services)) + 0.5, h.services)
    ax.invert_yaxis()
    ax.xaxis_date()
    _utc_axis(ax)
    fig.colorbar(mesh, ax=ax, label="goodput / arrivals")
    ax.set_title(f"Service health ({variant})")
    fig.tight_layout()
    return fig


def graph_png(results: Results, variant: str = "base") -> Figure:
    """The call graph with nodes coloured by state at the worst moment."""
    g = data.call_graph(results)
    pos = data.graph_layout(g)
    nodes = list(pos)
    record = results.runs[variant]
    k = data.bucket_size(len(record.t_s), data.MAX_FRAMES)
    shares = np.array([data.node_share(results, variant, n, k) for n in nodes]).reshape(len(nodes), -1)
    worst = int(np.nanargmin(np.nan_to_num(np.nanmean(shares, axis=0), nan=1.0))) if shares.size else 0
    states = data.state_of(shares[:, worst]) if shares.size else np.array(["idle"] * len(nodes))
    fig, ax = plt.subplots(figsize=(10, 5))
    for u, v, attrs in g.edges(data=True):
        style = "-" if attrs["sync"] and attrs["hard"] else ("--" if attrs["sync"] else ":")
        ax.annotate("", xy=pos[v], xytext=pos[u],
                    arrowprops={"arrowstyle": "->", "color": "#888", "ls": style, "shrinkA": 14, "shrinkB": 14})
    ax.scatter([pos[n][0] for n in nodes], [pos[n][1] for n in nodes], s=500, zorder=3, edgecolors="#333",
               c=[STATE_COLOURS[s] for s in states])
    for n in nodes:
        ax.annotate(n, pos[n], xytext=(0, 14), textcoords="offset points", ha="center", fontsize=8)
    for state, colour in STATE_COLOURS.items():
        ax.scatter([], [], c=colour, label=state, s=60)
    ax.legend(fontsize=8, loc="lower right")
    when = data.utc(results, data.bucket_times(record, k)[worst:worst + 1])
    ax.set_title(f"Dependency graph ({variant}) at {when[0] if when else '-'} UTC (the worst moment)")
    ax.axis("off")
    ax.margins(0.12)
    fig.tight_layout()
    return fig


def variants_png(results: Results) -> Figure:
    """Per variant and tenant: mean failed share and user-minutes lost, with p5-p95 error bars."""
    table = data.tenant_impact(results)
    measures = ("failed_share", "user_minutes_lost", "minutes_down")
    fig, axes = plt.subplots(1, len(measures), figsize=(12, 4))
    tenants = list(dict.fromkeys(table["tenant"]))
    variants = list(dict.fromkeys(table["variant"]))
    width = 0.8 / max(len(tenants), 1)
    for ax, m in zip(axes, measures, strict=True):
        scale = 100.0 if m == "failed_share" else 1.0
        for i, tenant in enumerate(tenants):
            g = table[table["tenant"] == tenant].set_index("variant").reindex(variants)
            mean = g[f"{m}_mean"].to_numpy() * scale
            err = np.vstack([mean - g[f"{m}_p5"].to_numpy() * scale, g[f"{m}_p95"].to_numpy() * scale - mean])
            ax.bar(np.arange(len(variants)) + i * width, mean, width, yerr=np.clip(err, 0, None), capsize=3,
                   color=PALETTE[i % len(PALETTE)], label=tenant)
        ax.set_xticks(np.arange(len(variants)) + width * (len(tenants) - 1) / 2, variants, rotation=30, ha="right")
        ax.set_title(data.IMPACT_MEASURES[m] + (" (%)" if m == "failed_share" else ""))
    axes[0].legend(fontsize=8)
    fig.suptitle("Variants compared (mean over replicas; bars p5 to p95)")
    fig.tight_layout()
    return fig


def write_pngs(results: Results, out_dir: str | Path) -> list[Path]:
    """Write timeline.png, health.png, graph.png and (with variants) variants.png into ``out_dir``."""
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise ReportError(f"expected a directory for the PNG files at {folder}, found a file")
    charts = {"timeline": timeline_png, "health": health_png, "graph": graph_png}
    if len(results.variants) > 1:
        charts["variants"] = variants_png
    written = []
    for name, draw in charts.items():
        fig = draw(results)
        buffer = io.BytesIO()
        try:
            fig.savefig(buffer, format="png", dpi=DPI)
        finally:
            plt.close(fig)
        path = folder / f"{name}.png"
        try:
            write_bytes(path, buffer.getvalue())
        except OSError as exc:
            raise ReportError(f"could not write {path}: {exc.strerror or exc}") from exc
        written.append(path)
    return written
