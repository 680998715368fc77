"""The components whose loss blast radius measures, each as the cells it takes with it.

One function per kind, registered in ``KINDS``: a provider, region or zone takes every cell placed in
it, a service every cell of its own, a cell itself, a fleet every cell of the services that run on it,
a vendor every fleet that runs its agent. A new kind is one more function yielding :class:`Component` s,
whose ``share`` says what part of each cell's instances it takes. Names are the qualified names of
DESIGN.md; a zone may also be named by its bare name when that is unique.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import UnknownComponent
from ..model.names import did_you_mean
from .flow_net import FlowNet


@dataclass(frozen=True)
class Component:
    """A failure domain: its kind, qualified name, and the share of which cells' instances it takes."""

    kind: str
    name: str
    cells: np.ndarray  # int[k]
    share: float = 1.0


def _grouped(keys: np.ndarray, n: int) -> list[np.ndarray]:
    """Cell indices grouped by key 0..n-1."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n + 1))
    return [order[bounds[i]:bounds[i + 1]] for i in range(n)]


def providers(net: FlowNet) -> Iterator[Component]:
    cell_provider = net.region_provider[net.cell_region]
    for name, cells in zip(net.providers, _grouped(cell_provider, len(net.providers)), strict=True):
        yield Component("provider", name, cells)


def regions(net: FlowNet) -> Iterator[Component]:
    for name, cells in zip(net.regions, _grouped(net.cell_region, len(net.regions)), strict=True):
        yield Component("region", name, cells)


def zones(net: FlowNet) -> Iterator[Component]:
    for name, cells in zip(net.zones, _grouped(net.cell_zone, len(net.zones)), strict=True):
        yield Component("zone", name, cells)


def services(net: FlowNet) -> Iterator[Component]:
    for s, name in enumerate(net.services):
        yield Component("service", name, np.arange(net.svc_start[s], net.svc_start[s + 1]))


def cells(net: FlowNet) -> Iterator[Component]:
    for c in range(len(net.cell_zone)):
        yield Component("cell", net.cell_name(c), np.array([c]))


def _service_cells(net: FlowNet, svcs) -> np.ndarray:
    parts = [np.arange(net.svc_start[s], net.svc_start[s + 1]) for s in sorted(set(svcs))]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def fleets(net: FlowNet) -> Iterator[Component]:
    """A fleet's loss (every host crashed) takes every cell of the services that run on it."""
    for name, svcs in net.fleet_services.items():
        yield Component("fleet", f"fleet:{name}", _service_cells(net, svcs))


def vendors(net: FlowNet) -> Iterator[Component]:
    """A vendor's bad release takes every fleet that runs its agent, and what runs on them."""
    for name, fleet_names in net.vendor_fleets.items():
        svcs = [s for f in fleet_names for s in net.fleet_services.get(f, ())]
        yield Component("vendor", f"vendor:{name}", _service_cells(net, svcs))


KINDS: dict[str, Callable[[FlowNet], Iterator[Component]]] = {
    "provider": providers, "region": regions, "zone": zones, "service": services, "cell": cells,
    "fleet": fleets, "vendor": vendors,
}
RANKED = ("zone", "region", "provider", "service", "fleet", "vendor")  # what a SPOF ranking covers


def components(net: FlowNet, kinds: tuple[str, ...] = RANKED) -> list[Component]:
    """Every component of the given kinds, in the order of ``kinds``."""
    return [c for kind in kinds for c in KINDS[kind](net)]


def zone_aliases(net: FlowNet) -> dict[str, int]:
    """Each accepted spelling of a zone -> its index: qualified, or bare when the bare name is unique."""
    out = {z: i for i, z in enumerate(net.zones)}
    shorts: dict[str, list[int]] = {}
    for i, z in enumerate(net.zones):
        shorts.setdefault(z.rsplit("/", 1)[1], []).append(i)
    out.update({s: ix[0] for s, ix in shorts.items() if len(ix) == 1 and s not in out})
    return out


def resolve(net: FlowNet, name: str) -> Component:
    """The component named ``name``; UnknownComponent (with a suggestion) when there is none."""
    aliases = zone_aliases(net)
    if "@" in name:
        svc, zone = name.split("@", 1)
        if svc not in net.services:
            raise UnknownComponent(f"expected a cell 'service@zone', found no service '{svc}' in '{name}'"
                                   + _hint(svc, net.services))
        if zone not in aliases:
            raise UnknownComponent(f"expected a cell 'service@zone', found no zone '{zone}' in '{name}'"
                                   + _hint(zone, aliases))
        s, z = net.services.index(svc), aliases[zone]
        lo, hi = net.svc_start[s], net.svc_start[s + 1]
        hit = lo + np.flatnonzero(net.cell_zone[lo:hi] == z)
        if not hit.size:
            placed = [net.zones[i] for i in net.cell_zone[lo:hi]]
            raise UnknownComponent(f"expected a cell of '{svc}' (it runs in {', '.join(placed)}), "
                                   f"found none in '{net.zones[z]}'")
        return Component("cell", net.cell_name(int(hit[0])), hit)
    if name in aliases and name not in net.zones:
        name = net.zones[aliases[name]]
    for prefix in ("fleet", "vendor"):
        if name.startswith(prefix + ":"):
            for comp in KINDS[prefix](net):
                if comp.name == name:
                    return comp
    for kind in ("provider", "region", "zone", "service"):
        for comp in _named(net, kind, name):
            return comp
    choices = [*net.providers, *net.regions, *aliases, *net.services, *(f"fleet:{f}" for f in net.fleet_services),
               *(f"vendor:{v}" for v in net.vendor_fleets)]
    raise UnknownComponent(f"expected a provider, region, zone, service, cell (service@zone), fleet:NAME or "
                           f"vendor:NAME, found "
                           f"'{name}', which the model does not have" + _hint(name, choices))


def _named(net: FlowNet, kind: str, name: str) -> Iterator[Component]:
    """The component of ``kind`` named ``name``, if any, without building every one of a big kind."""
    if kind == "service":
        if name in net.services:
            s = net.services.index(name)
            yield Component("service", name, np.arange(net.svc_start[s], net.svc_start[s + 1]))
        return
    names = {"provider": net.providers, "region": net.regions, "zone": net.zones}[kind]
    if name in names:
        yield from (c for c in KINDS[kind](net) if c.name == name)


def _hint(word: str, choices) -> str:
    h = did_you_mean(word, list(choices))
    return f" ({h})" if h else ""
