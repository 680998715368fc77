"""Qualified names (DESIGN.md): provider ``aws``, region ``aws/us-east-1``, zone
``aws/us-east-1/use1-az1`` (or ``use1-az1`` when unique), service ``checkout``, cell ``checkout@use1-az1``.

Resolution lives here so the loader's checks and the compiler agree on what a name means.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .system import Model


@dataclass(frozen=True)
class Target:
    """What a qualified name resolves to: its kind and the qualified zones and services it covers."""

    kind: str  # provider | region | zone | service | cell
    name: str
    zones: tuple[str, ...]
    services: tuple[str, ...]  # empty = every service in those zones


def qualified_zones(model: Model) -> list[str]:
    return [
        f"{p}/{r}/{z}"
        for p, prov in model.providers.items()
        for r, reg in prov.regions.items()
        for z in reg.zones
    ]


def zone_aliases(model: Model) -> dict[str, str]:
    """Every accepted spelling of a zone -> its qualified name (short names only when unique)."""
    full = qualified_zones(model)
    aliases = {q: q for q in full}
    shorts: dict[str, list[str]] = {}
    for q in full:
        shorts.setdefault(q.rsplit("/", 1)[1], []).append(q)
    for short, qs in shorts.items():
        if len(qs) == 1 and short not in aliases:
            aliases[short] = qs[0]
    return aliases


def did_you_mean(word: str, choices: list[str] | set[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def resolve_zone(model: Model, name: str) -> str:
    aliases = zone_aliases(model)
    if name in aliases:
        return aliases[name]
    hint = did_you_mean(name, aliases)
    raise KeyError(f"no zone '{name}'" + (f"; {hint}" if hint else ""))


def resolve_target(model: Model, name: str) -> Target:
    """Resolve a fault or blast target; raises KeyError with a did-you-mean message."""
    zones = qualified_zones(model)
    if "@" in name:
        svc, zone = name.split("@", 1)
        if svc not in model.services:
            raise KeyError(f"no service '{svc}' in cell '{name}'" + _hint(svc, model.services))
        q = resolve_zone(model, zone)
        return Target("cell", name, (q,), (svc,))
    if name in model.services:
        return Target("service", name, tuple(zones), (name,))
    if name in model.providers:
        return Target("provider", name, tuple(z for z in zones if z.startswith(name + "/")), ())
    regions = {z.rsplit("/", 1)[0] for z in zones}
    if name in regions:
        return Target("region", name, tuple(z for z in zones if z.rsplit("/", 1)[0] == name), ())
    aliases = zone_aliases(model)
    if name in aliases:
        return Target("zone", name, (aliases[name],), ())
    choices = set(model.services) | set(model.providers) | regions | set(aliases)
    raise KeyError(f"no provider, region, zone, service or cell named '{name}'" + _hint(name, choices))


def _hint(word: str, choices) -> str:
    h = did_you_mean(word, list(choices))
    return f"; {h}" if h else ""


PREFIXED = {"tenant": "tenants", "fleet": "fleets", "vendor": "vendors", "dns": "controllers.dns_records"}


def resolve_prefixed(model: Model, name: str, prefix: str) -> str:
    """The item named by ``prefix:NAME`` (tenant, fleet, vendor, dns); raises KeyError with a hint."""
    items = {"tenant": model.tenants, "fleet": model.fleets, "vendor": model.vendors,
             "dns": model.controllers.dns_records}[prefix]
    if not name.startswith(prefix + ":"):
        raise KeyError(f"'{name}' is not of the form '{prefix}:NAME'")
    item = name.split(":", 1)[1]
    if item not in items:
        raise KeyError(f"no {PREFIXED[prefix]} item '{item}'" + _hint(item, items))
    return item
