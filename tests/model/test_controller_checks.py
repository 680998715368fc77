"""Controllers, fleets and actions are checked like the rest of the model: every mistake is reported with
the file and line, what was expected and what was found."""

from __future__ import annotations

from pathlib import Path

import pytest

import outagesim
from outagesim.errors import ModelError

MODEL = """\
providers:
  aws: {regions: {us-east-1: {zones: {use1-az1: {}}}}}
services:
  api:
    instances: {use1-az1: 2}
    service_time: {mean: 10ms}
    runs_on: {runs_on}
  metrics:
    instances: {use1-az1: 1}
    service_time: {mean: 1ms}
tenants:
  users: {entry: api, demand: {peak_rps: 10}}
vendors: {sensor: {}}
fleets:
  pos: {hosts: 100, agents: [{agent}]}
controllers:
  monitors:
    probe: {watches: {watches}, kind: external, interval: 30s}
    internal: {watches: api, depends_on: [metrics]}
  operators:
    oncall:
      alerted_by: [{monitor}]
      actions:
        bounce: {kind: restart, target: api, after: 1m}
  health_checks:
    nlb: {target: api, probe_path: [{probe}]}
  dns_records:
    api-endpoint: {service: api, ttl: 60s}
"""

SCENARIO = """\
anchor: '2026-03-02T15:00:00Z'
duration: 1h
faults:
  race: {kind: dns_record_emptied, target: {dns}, at: 10m, duration: 5m}
  channel: {kind: bad_artifact, target: {artifact}, at: 10m, duration: 78m}
actions:
  shed: {kind: throttle, target: {throttle}, admit: {admit}, at: 20m, duration: 5m}
"""

GOOD = {"runs_on": "pos", "agent": "sensor", "watches": "api", "monitor": "probe", "probe": "metrics",
        "dns": "'dns:api-endpoint'", "artifact": "'vendor:sensor'", "throttle": "'tenant:users'", "admit": "0.1"}


def load(tmp_path: Path, **bad: str):
    values = GOOD | bad
    m, s = MODEL, SCENARIO
    for key, value in values.items():
        m, s = m.replace("{" + key + "}", value), s.replace("{" + key + "}", value)
    (tmp_path / "m.yaml").write_text(m)
    (tmp_path / "s.yaml").write_text(s)
    return outagesim.load(tmp_path / "m.yaml", tmp_path / "s.yaml")


def test_a_model_using_every_controller_loads(tmp_path):
    """The good files load (so each bad case below fails for its own mistake)."""
    model, scenario = load(tmp_path)
    assert set(model.controllers.monitors) == {"probe", "internal"}
    assert scenario.actions["shed"].admit == 0.1


@pytest.mark.parametrize("key, value, path, line, expected", [
    ("runs_on", "poss", "services.api.runs_on", 7, "the name of a fleet"),
    ("agent", "sensr", "fleets.pos.agents.0", 15, "the name of a vendor"),
    ("watches", "apii", "controllers.monitors.probe.watches", 18, "the name of a service"),
    ("monitor", "prob", "controllers.operators.oncall.alerted_by.0", 22, "the name of a monitor"),
    ("probe", "metric", "controllers.health_checks.nlb.probe_path.0", 26, "the name of a service"),
    ("dns", "'dns:api'", "faults.race.target", 4, "'dns:RECORD'"),
    ("artifact", "'vendor:sensr'", "faults.channel.target", 5, "'fleet:NAME' or 'vendor:NAME'"),
    ("throttle", "'tenant:user'", "actions.shed.target", 7, "a service or 'tenant:NAME'"),
    ("throttle", "api@use1-az1", "actions.shed.target", 7, "a service or 'tenant:NAME'"),
    ("admit", "1.5", "actions.shed.admit", 7, "a share from 0 to 1"),
])
def test_each_mistake_is_reported_where_it_was_made(tmp_path, key, value, path, line, expected):
    """A wrong name or value names its file, line and key, what was expected, and (for names) a guess."""
    with pytest.raises(ModelError) as err:
        load(tmp_path, **{key: value})
    problems = [p for p in err.value.problems if p.severity == "error"]
    assert len(problems) == 1, problems
    [p] = problems
    assert (p.path, p.line) == (path, line)
    assert expected in p.expected
    if key in ("runs_on", "agent", "watches", "monitor", "probe"):
        assert "did you mean" in p.hint


def test_keys_that_would_be_ignored_are_errors(tmp_path):
    """A restart's duration, an action's 'after' in a scenario, an external probe's depends_on: each would
    do nothing, so each is an error rather than a silent no-op."""
    m = MODEL.replace("bounce: {kind: restart, target: api, after: 1m}",
                      "bounce: {kind: restart, target: api, after: 1m, duration: 5m}")
    m = m.replace("kind: external, interval: 30s}", "kind: external, interval: 30s, depends_on: [metrics]}")
    s = SCENARIO.replace("at: 20m, duration: 5m}", "at: 20m, after: 1m, duration: 5m}")
    for key, value in GOOD.items():
        m, s = m.replace("{" + key + "}", value), s.replace("{" + key + "}", value)
    (tmp_path / "m.yaml").write_text(m)
    (tmp_path / "s.yaml").write_text(s)
    with pytest.raises(ModelError) as err:
        outagesim.load(tmp_path / "m.yaml", tmp_path / "s.yaml")
    paths = {p.path for p in err.value.problems if p.severity == "error"}
    assert paths == {"controllers.operators.oncall.actions.bounce.duration",
                     "controllers.monitors.probe.depends_on", "actions.shed.after"}
