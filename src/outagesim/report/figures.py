"""Results -> plotly figures for the HTML report, one function per chart.

Every number comes from :mod:`outagesim.report.data` (downsampled there, see its rule), so the page and
the PNGs agree. Arrays go to plotly as float32: they travel as compact base64 typed arrays in the page.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..results import Results
from . import data

STATE_COLOURS = {"healthy": "#2ca02c", "degraded": "#f0b400", "failing": "#d62728", "idle": "#b8b8b8"}
# green at full goodput, through amber, to red at none
HEALTH_SCALE = [[0.0, "#d62728"], [data.FAILING_BELOW, "#f0b400"], [data.HEALTHY_AT, "#b7d77a"],
                [1.0, "#2ca02c"]]
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]
TEMPLATE = "plotly_white"


def _f32(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def timeline(results: Results, variant: str = "base") -> go.Figure:
    """Tenants' goodput and demand over time above a row per fault, event kind and observed milestone."""
    record = results.runs[variant]
    k = data.bucket_size(len(record.t_s))
    t = data.bucket_times(record, k)
    x = data.utc(results, t)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.55, 0.45], vertical_spacing=0.06)
    for i, tenant in enumerate(data.entities(record, "tenant")):
        colour = PALETTE[i % len(PALETTE)]
        band = [data.stat_series(record, ("tenant", tenant, "goodput"), s) for s in ("p5", "p95")]
        if band[0] is not None and band[1] is not None:
            fig.add_trace(go.Scatter(x=x, y=_f32(data.bucket_mean(band[0], k)), mode="lines", line={"width": 0},
                                     showlegend=False, hoverinfo="skip", legendgroup=tenant), 1, 1)
            fig.add_trace(go.Scatter(x=x, y=_f32(data.bucket_mean(band[1], k)), mode="lines", line={"width": 0},
                                     fill="tonexty", fillcolor=_rgba(colour, 0.2), name=f"{tenant} goodput p5-p95",
                                     hoverinfo="skip", legendgroup=tenant), 1, 1)
        for metric, dash in (("goodput", "solid"), ("demand", "dot")):
            values = data.stat_series(record, ("tenant", tenant, metric))
            if values is not None:
                fig.add_trace(go.Scatter(x=x, y=_f32(data.bucket_mean(values, k)), mode="lines",
                                         line={"color": colour, "dash": dash}, name=f"{tenant} {metric} (mean)",
                                         legendgroup=tenant), 1, 1)
    rows: list[str] = []
    for name, t0, t1 in data.fault_windows(record):
        end = t1 if t1 is not None else float(record.t_s[-1] + record.interval_s)
        label = f"fault {name}"
        rows.append(label)
        fig.add_trace(go.Scatter(x=data.utc(results, [t0, end]), y=[label, label], mode="lines+markers",
                                 line={"color": "#d62728", "width": 10}, showlegend=False,
                                 hovertext=f"{name}: {t0:g} s to {end:g} s after the anchor", hoverinfo="text"), 2, 1)
        fig.add_vrect(x0=data.utc(results, [t0])[0], x1=data.utc(results, [end])[0], fillcolor="#d62728",
                      opacity=0.08, line_width=0, row=1, col=1)
    marks = data.event_marks(record, k * record.interval_s)
    for (kind, entity), g in marks.groupby(["kind", "entity"], sort=True):
        label = f"{kind} {entity}"
        rows.append(label)
        text = [f"{kind} {entity}: {c} event(s) in {r} replica(s)" for c, r in zip(g["count"], g["replicas"],
                                                                                 strict=True)]
        fig.add_trace(go.Scatter(x=data.utc(results, g["t_s"].to_numpy()), y=[label] * len(g), mode="markers",
                                 marker={"symbol": "diamond", "size": 8, "color": "#444"}, hovertext=text,
                                 hoverinfo="text", showlegend=False), 2, 1)
    observed = data.milestones(results)
    for m in observed:
        label = f"observed {m.id}"
        rows.append(label)
        colour = "#1f77b4" if m.kind == "calibration" else "#9467bd"
        fig.add_trace(go.Scatter(x=data.utc(results, [m.t_s - m.tolerance_s, m.t_s + m.tolerance_s]),
                                 y=[label, label], mode="lines", line={"color": colour, "width": 2},
                                 showlegend=False, hoverinfo="skip"), 2, 1)
        fig.add_trace(go.Scatter(x=data.utc(results, [m.t_s]), y=[label], mode="markers",
                                 marker={"symbol": "star", "size": 12, "color": colour}, showlegend=False,
                                 hovertext=f"{m.id} ({m.kind}) {m.predicate}; tolerance {m.tolerance_s:g} s",
                                 hoverinfo="text"), 2, 1)
    fig.update_yaxes(title_text="requests/s", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(rows)), row=2, col=1, automargin=True)
    fig.update_xaxes(title_text="UTC", row=2, col=1)
    # open on the run and its milestones; a milestone's tolerance may reach further (zoom out to see it)
    span = [0.0, float(record.t_s[-1] + record.interval_s) if len(record.t_s) else 0.0, *(m.t_s for m in observed)]
    fig.update_xaxes(range=data.utc(results, [min(span), max(span)]))
    fig.update_layout(template=TEMPLATE, height=360 + 22 * len(rows), title=f"Timeline ({variant})",
                      margin={"t": 60})
    return fig


def health_heatmap(results: Results) -> go.Figure:
    """Goodput share (goodput / arrivals) of every service over time, one heatmap per variant."""
    fig = go.Figure()
    variants = results.variants
    for i, variant in enumerate(variants):
        h = data.health(results, variant)
        fig.add_trace(go.Heatmap(
            x=data.utc(results, h.t_s), y=h.services, z=_f32(h.ratio), zmin=0.0, zmax=1.0,
            colorscale=HEALTH_SCALE, colorbar={"title": {"text": "goodput share"}, "tickformat": ".0%"},
            hovertemplate="%{y} at %{x}: %{z:.1%} of arrivals served<extra></extra>",
            visible=i == 0, name=variant))
    if len(variants) > 1:
        buttons = [{"label": v, "method": "update", "args": [{"visible": [j == i for j in range(len(variants))]},
                                                              {"title.text": f"Service health ({v})"}]}
                   for i, v in enumerate(variants)]
        fig.update_layout(updatemenus=[{"type": "buttons", "direction": "right", "buttons": buttons, "x": 0,
                                        "y": 1.15, "xanchor": "left", "showactive": True}])
    n = len(fig.data[0].y) if fig.data else 1
    fig.update_layout(template=TEMPLATE, title=f"Service health ({variants[0]})", height=220 + 26 * n,
                      yaxis={"autorange": "reversed", "automargin": True}, xaxis={"title": "UTC"}, margin={"t": 100})
    return fig


def dependency_graph(results: Results, variant: str = "base") -> go.Figure:
    """The resolved call graph, nodes coloured by state, with a time slider (one frame per bucket).

    It opens on the bucket where the services' mean goodput share is lowest.
    """
    g = data.call_graph(results)
    pos = data.graph_layout(g)
    nodes = list(pos)
    record = results.runs[variant]
    k = data.bucket_size(len(record.t_s), data.MAX_FRAMES)
    t = data.bucket_times(record, k)
    shares = np.array([data.node_share(results, variant, n, k) for n in nodes]).reshape(len(nodes), -1)
    states = data.state_of(shares)
    fig = go.Figure()
    for style, test in (("solid", lambda a: a["sync"] and a["hard"]), ("dash", lambda a: a["sync"] and not a["hard"]),
                        ("dot", lambda a: not a["sync"])):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for u, v, attrs in g.edges(data=True):
            if test(attrs):
                xs += [pos[u][0], pos[v][0], None]
                ys += [pos[u][1], pos[v][1], None]
        if xs:
            name = {"solid": "sync, hard", "dash": "sync, soft", "dot": "async"}[style]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#888", "dash": style, "width": 1.5},
                                     name=name, hoverinfo="skip"))
    for u, v, attrs in g.edges(data=True):
        fig.add_annotation(x=pos[v][0], y=pos[v][1], ax=pos[u][0], ay=pos[u][1], xref="x", yref="y", axref="x",
                           ayref="y", showarrow=True, arrowhead=2, arrowsize=1.2, arrowcolor="#888", standoff=16,
                           text="", hovertext=f"{u} -> {v}, up to {attrs['max_attempts']} attempt(s)")
    node_trace = len(fig.data)
    worst = int(np.nanargmin(np.nan_to_num(np.nanmean(shares, axis=0), nan=1.0))) if shares.size else 0

    def colours(i: int) -> list[str]:
        return [STATE_COLOURS[s] for s in states[:, i]] if shares.size else []

    def hover(i: int) -> list[str]:
        return [f"{n}: {'idle' if np.isnan(s) else f'{s:.1%} served'}" for n, s in zip(nodes, shares[:, i],
                                                                                          strict=True)]

    fig.add_trace(go.Scatter(
        x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes], mode="markers+text", text=nodes,
        textposition="top center", marker={"size": 26, "color": colours(worst), "line": {"color": "#333", "width": 1}},
        hovertext=hover(worst), hoverinfo="text", showlegend=False))
    for state, colour in STATE_COLOURS.items():  # legend entries for the node colours
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", marker={"size": 12, "color": colour},
                                 name=state))
    labels = data.utc(results, t)
    fig.frames = [go.Frame(name=str(i), traces=[node_trace],
                           data=[go.Scatter(marker={"color": colours(i)}, hovertext=hover(i))])
                  for i in range(len(t))]
    span_days = len(t) and (t[-1] - t[0]) >= 86400.0
    steps = [{"label": labels[i][5:16].replace("T", " ") if span_days else labels[i][11:19], "method": "animate",
              "args": [[str(i)], {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
                                  "transition": {"duration": 0}}]} for i in range(len(t))]
    fig.update_layout(
        template=TEMPLATE, title=f"Dependency graph ({variant}), coloured by goodput share", height=520,
        xaxis={"visible": False}, yaxis={"visible": False}, legend={"orientation": "h", "y": -0.05},
        sliders=[{"active": worst, "steps": steps, "currentvalue": {"prefix": "UTC "}, "pad": {"t": 30}}])
    return fig


def variant_comparison(results: Results) -> go.Figure:
    """Per variant and tenant: each impact measure's mean across replicas, with p5-p95 error bars."""
    table = data.tenant_impact(results)
    measures = list(data.IMPACT_MEASURES)
    fig = make_subplots(rows=1, cols=len(measures), subplot_titles=[data.IMPACT_MEASURES[m] for m in measures])
    for i, (tenant, g) in enumerate(table.groupby("tenant", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        for j, m in enumerate(measures):
            mean = g[f"{m}_mean"].to_numpy()
            scale = 100.0 if m == "failed_share" else 1.0
            fig.add_trace(go.Bar(
                x=g["variant"].tolist(), y=_f32(mean * scale), name=tenant, legendgroup=tenant, showlegend=j == 0,
                marker_color=colour, error_y={"type": "data", "symmetric": False,
                                              "array": _f32((g[f"{m}_p95"].to_numpy() - mean) * scale),
                                              "arrayminus": _f32((mean - g[f"{m}_p5"].to_numpy()) * scale)},
                hovertemplate=f"{tenant} %{{x}}: %{{y:.4g}}<extra>{data.IMPACT_MEASURES[m]}</extra>"), 1, j + 1)
    fig.update_yaxes(title_text="%", row=1, col=1)
    fig.update_layout(template=TEMPLATE, barmode="group", height=420,
                      title="Variants compared (mean over replicas; bars span p5 to p95)")
    return fig


def variant_goodput(results: Results) -> go.Figure:
    """Each tenant's goodput share (goodput / demand) over time, one line per variant."""
    fig = go.Figure()
    for i, variant in enumerate(results.variants):
        record = results.runs[variant]
        k = data.bucket_size(len(record.t_s))
        x = data.utc(results, data.bucket_times(record, k))
        for tenant in data.entities(record, "tenant"):
            fig.add_trace(go.Scatter(x=x, y=_f32(data.share(record, "tenant", tenant, k)), mode="lines",
                                     name=f"{variant}: {tenant}", line={"color": PALETTE[i % len(PALETTE)]}))
    fig.update_layout(template=TEMPLATE, title="Goodput share per variant (mean goodput / mean demand)", height=380,
                      yaxis={"tickformat": ".0%", "range": [0, 1.05]}, xaxis={"title": "UTC"})
    return fig
