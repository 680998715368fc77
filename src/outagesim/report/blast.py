"""What ``outagesim blast`` prints: rich tables for people, stable JSON for scripts.

The JSON keys are fixed and lists are sorted (tenants and services by name, the ranking by what is lost),
so two runs on the same model give byte-identical output.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..analysis.blast import BlastRadius, Concentration


def _names(items: tuple[str, ...], limit: int = 6) -> str:
    if not items:
        return "-"
    shown = ", ".join(items[:limit])
    return shown + (f", ... (+{len(items) - limit})" if len(items) > limit else "")


def radius_json(b: BlastRadius) -> dict:
    """One component's blast radius as plain data."""
    return {"component": b.component, "kind": b.kind, "tenants_down": sorted(b.tenants_down),
            "users_down": round(b.users_down, 6), "services_down": sorted(b.services_down),
            "tenant_served": {t: round(v, 6) for t, v in sorted(b.tenant_served.items())}}


def concentration_json(c: Concentration) -> dict:
    return {"by_provider": {k: round(v, 6) for k, v in sorted(c.by_provider.items())},
            "by_region": {k: round(v, 6) for k, v in sorted(c.by_region.items())},
            "hhi_provider": round(c.hhi_provider, 6), "hhi_region": round(c.hhi_region, 6),
            "tenant_hhi_region": {k: round(v, 6) for k, v in sorted(c.tenant_hhi_region.items())}}


def ranking_json(ranking: list[BlastRadius], conc: Concentration, top: int) -> dict:
    rows = []
    for rank, b in enumerate(ranking[:top], start=1):
        row = radius_json(b)
        del row["tenant_served"]
        rows.append({"rank": rank, **row})
    return {"single_points_of_failure": rows, "components_evaluated": len(ranking),
            "concentration": concentration_json(conc)}


def print_radius(console: Console, b: BlastRadius) -> None:
    """The tenants and services one loss takes down, and every tenant's served share."""
    console.print(f"losing {b.kind} [bold]{b.component}[/bold] at peak demand takes down "
                  f"{len(b.tenants_down)} tenant(s) ({b.users_down:,.0f} users) and "
                  f"{len(b.services_down)} service(s)", highlight=False)
    t = Table(title="tenants (served share of peak demand after the loss; down below 50%)")
    for col in ("tenant", "served", "down"):
        t.add_column(col, justify="left" if col == "tenant" else "right")
    down = set(b.tenants_down)
    for tenant, served in sorted(b.tenant_served.items(), key=lambda kv: (kv[1], kv[0])):
        t.add_row(tenant, f"{100 * served:.1f}%", "DOWN" if tenant in down else "")
    console.print(t)
    console.print(f"services down: {_names(tuple(sorted(b.services_down)), limit=40)}", highlight=False)


def print_ranking(console: Console, ranking: list[BlastRadius], conc: Concentration, top: int) -> None:
    """The top of the single-point-of-failure ranking, then where the tenants' demand is concentrated."""
    t = Table(title=f"single points of failure (top {min(top, len(ranking))} of {len(ranking)} components, "
                    "static, at peak demand)")
    for col in ("rank", "component", "kind", "tenants down", "users down", "services down", "tenants"):
        t.add_column(col, justify="right" if col in ("rank", "tenants down", "users down", "services down")
                     else "left")
    for rank, b in enumerate(ranking[:top], start=1):
        t.add_row(str(rank), b.component, b.kind, str(len(b.tenants_down)), f"{b.users_down:,.0f}",
                  str(len(b.services_down)), _names(tuple(sorted(b.tenants_down))))
    console.print(t)
    c = Table(title=f"concentration of tenants' peak demand (HHI: provider {conc.hhi_provider:.3f}, "
                    f"region {conc.hhi_region:.3f})")
    for col in ("kind", "name", "share"):
        c.add_column(col, justify="right" if col == "share" else "left")
    for kind, shares in (("provider", conc.by_provider), ("region", conc.by_region)):
        for name, share in sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
            c.add_row(kind, name, f"{100 * share:.1f}%")
    console.print(c)
