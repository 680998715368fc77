"""A lease-renewal storm (issue 4, "metastability both ways"; the EC2 lease manager of Oct 2025).

droplets (the hosts of a fleet) renew leases with dwfm (4 x 4 workers, 20 ms: 640 req/s) at 300 req/s;
dwfm records each renewal in ddb, reached through the DNS record ddb-endpoint (TTL 30 s). Hosts time out
after 1 s and retry up to 6 attempts (backoff 0.5 s, capped at 5 s, full jitter): renewal work is
requeued. The record is empty from 60 s to 360 s. While it is, renewals fail and every host retries, so
dwfm sees up to 6x its demand and its queue fills with work whose hosts have given up; when ddb is back,
that load (1,800 attempts/s for 640 req/s of capacity) keeps the queue past the hosts' timeout: the
storm outlives its trigger. Restarting dwfm at 9 minutes empties its queue but the retrying hosts fill
it again; restarting it while throttling the hosts to 20% for 3 minutes lets it recover, as AWS did.
"""

from __future__ import annotations

import pytest

from outagesim.engine.fluid import simulate_fluid
from tests.engine import nets

RESTART = {"kind": "restart", "target": "dwfm", "at": "+00:09"}
THROTTLE = {"kind": "throttle", "target": "tenant:droplets", "admit": 0.2, "at": "+00:09", "duration": "3m"}


def goodput_share_at_the_end(actions: dict) -> float:
    """Renewals that succeed, as a share of demand, over the last 2 minutes of 15."""
    dwfm = nets.service(4, mean_s=20e-3, concurrency=4, startup_s=30.0, calls={"ddb": nets.call(0.5)})
    m = nets.model({"dwfm": dwfm, "ddb": nets.service(4, mean_s=5e-3, concurrency=16)},
                   {"droplets": nets.tenant("dwfm", 300.0, timeout_s=1.0, attempts=6, base_s=0.5, cap_s=5.0,
                                            jitter="full")})
    m["controllers"] = {"dns_records": {"ddb-endpoint": {"service": "ddb", "ttl": "30s"}}}
    sc = nets.scenario(900.0, record_every_s=10.0, dt_s=0.2)
    sc["faults"] = {"race": {"kind": "dns_record_emptied", "target": "dns:ddb-endpoint", "at": "60s",
                             "duration": "5m"}}
    sc["actions"] = actions
    rec = simulate_fluid(nets.build(m, sc, seed=2), noise=False)
    good, demand = rec.get("tenant", "droplets", "goodput")[0], rec.get("tenant", "droplets", "demand")[0]
    return float(good[-12:].sum() / demand[-12:].sum())


@pytest.mark.parametrize("actions, recovers", [
    ({}, False),
    pytest.param({"restart": RESTART}, False, marks=pytest.mark.slow),
    ({"restart": RESTART, "throttle": THROTTLE}, True),
], ids=["left-alone", "restart-only", "restart-and-throttle"])
def test_lease_storm_stays_collapsed_until_the_work_is_throttled(actions, recovers):
    """Left alone, or only restarted, dwfm serves under 5% of renewals 9 minutes after ddb is back;
    restarted with the hosts throttled, it serves over 95% once the throttle lifts."""
    share = goodput_share_at_the_end(actions)
    assert (share > 0.95) if recovers else (share < 0.05), share
