"""Scalar outcomes per replica: what each tenant and service lost in a run.

user-minutes lost = Σ users × (1 − goodput/demand) × interval / 60, users = users_per_rps × demand;
money is reported twice and never summed: per failed request, and per minute down.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..record import RunRecord
from .windows import down_mask


def replica_outcomes(rec: RunRecord, tenants: dict[str, dict]) -> pd.DataFrame:
    """One row per replica and tenant or service: failed requests, user-minutes, money, time down, stuck.

    ``tenants`` maps tenant name -> {users_per_rps, value_per_failed, value_per_minute_down}.
    """
    dt = rec.interval_s
    rows = []
    for name, info in tenants.items():
        demand = rec.get("tenant", name, "demand")
        good = rec.get("tenant", name, "goodput")
        errors = rec.get("tenant", name, "errors")
        for k in range(rec.replicas):
            down = down_mask(good[k], demand[k], dt)
            lost_share = np.clip(1 - good[k] / np.maximum(demand[k], 1e-12), 0, 1)
            failed = float(errors[k].sum() * dt)
            minutes_down = float(down.sum() * dt / 60)
            rows.append({
                "replica": k, "entity_kind": "tenant", "entity": name,
                "requests": float(demand[k].sum() * dt), "failed_requests": failed,
                "user_minutes_lost": float((info["users_per_rps"] * demand[k] * lost_share).sum() * dt / 60),
                "money_failed_requests": failed * info["value_per_failed"],
                "money_downtime": minutes_down * info["value_per_minute_down"],
                "minutes_down": minutes_down, "stuck": bool(down[-1]) if len(down) else False,
            })
    services: dict[str, list[str]] = {}
    for kind, entity, _ in rec.series:
        if kind == "cell":
            services.setdefault(entity.split("@", 1)[0], []).append(entity)
    for svc, cells in services.items():
        cells = sorted(set(cells))
        arr = sum(rec.get("cell", c, "arrivals") for c in cells)
        good = sum(rec.get("cell", c, "goodput") for c in cells)
        errs = sum(rec.get("cell", c, "errors") for c in cells)
        for k in range(rec.replicas):
            down = down_mask(good[k], arr[k], dt)
            rows.append({
                "replica": k, "entity_kind": "service", "entity": svc,
                "requests": float(arr[k].sum() * dt), "failed_requests": float(errs[k].sum() * dt),
                "user_minutes_lost": np.nan, "money_failed_requests": np.nan, "money_downtime": np.nan,
                "minutes_down": float(down.sum() * dt / 60), "stuck": bool(down[-1]) if len(down) else False,
            })
    return pd.DataFrame(rows)
