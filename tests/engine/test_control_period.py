"""The control period (``control_every``): controllers observe once per period of whole bins, on the
period's outcomes together, instead of after every bin."""

from __future__ import annotations

import numpy as np
import pytest

from outagesim.engine.fluid import FluidEngine
from outagesim.record import RunRecord
from tests.engine import nets
from tests.engine.test_controllers import events, monitored


def test_a_control_period_moves_what_controllers_do_to_its_boundaries():
    """Observing every 5 s (25 bins), with the fault and the sustain on period boundaries, the internal
    monitor alarms at the first observation at or after the every-bin alarm (a multiple of 5 s, less
    than 5 s later) and clears likewise; the operator's restart still follows the first alarm (the
    probe's, at its 90 s sample) by 3 minutes. A period of one bin is the default, exactly."""
    every_bin = monitored(depends_on_down=False)
    periodic = monitored(depends_on_down=False, control_every="5s")
    [alarm_bin] = [e.t_s for e in events(every_bin, "monitor_alarm") if e.entity == "internal"]
    [alarm_5s] = [e.t_s for e in events(periodic, "monitor_alarm") if e.entity == "internal"]
    assert alarm_bin <= alarm_5s < alarm_bin + 5.0
    assert alarm_5s / 5.0 == pytest.approx(round(alarm_5s / 5.0), abs=1e-6)
    assert alarm_5s > alarm_bin  # 90.2 s every bin: not itself a multiple of 5 s, so the period shows
    [clear_bin] = [e.t_s for e in events(every_bin, "monitor_cleared") if e.entity == "internal"]
    [clear_5s] = [e.t_s for e in events(periodic, "monitor_cleared") if e.entity == "internal"]
    assert clear_bin < clear_5s < clear_bin + 5.0
    [restart] = [e.t_s for e in events(periodic, "action_restart")]
    assert restart == pytest.approx(min(e.t_s for e in events(periodic, "monitor_alarm")) + 180.0)
    one_bin = monitored(depends_on_down=False, control_every="0.2s")
    assert [(e.t_s, e.kind, e.entity) for e in one_bin.events] == [(e.t_s, e.kind, e.entity) for e in every_bin.events]
    for key, values in every_bin.series.items():
        assert np.array_equal(one_bin.series[key], values), key


def test_a_control_period_sees_the_mean_over_the_period():
    """api answers only errors for 2 s from 60 s. Looking every bin, a monitor that alarms at half the
    work failing (no sustain) sees it; looking every 10 s it sees the period's mean, about a fifth
    failing, and stays quiet, while one that alarms at a tenth failing still sees it, at the period's
    end. (The operator's restart, 3 minutes after an alarm, makes a second one.)"""
    blip = {"down_s": 2.0, "sustain": "0s", "errors": True}

    def first_alarm(rec: RunRecord) -> float | None:
        return min((e.t_s for e in events(rec, "monitor_alarm") if e.entity == "internal"), default=None)

    assert first_alarm(monitored(False, threshold=0.5, **blip)) == pytest.approx(60.2)
    assert first_alarm(monitored(False, "10s", threshold=0.5, **blip)) is None
    assert first_alarm(monitored(False, "10s", threshold=0.1, **blip)) == pytest.approx(70.0)


def test_the_first_observation_sees_the_first_bin_not_the_warm_up():
    """api answers only errors from the start: a monitor that alarms at half the work failing alarms at
    the first observation, after one bin (0.2 s), because the warm-up's healthy bins are not in it."""
    rec = monitored(False, threshold=0.5, sustain="0s", errors=True, at_s=0.0, down_s=60.0)
    assert min(e.t_s for e in events(rec, "monitor_alarm") if e.entity == "internal") == pytest.approx(0.2)


def test_a_control_period_divides_the_coarse_step():
    """Bins of 1 s, coarse steps of 6 bins (max_dt 6 s) and a 5 s control period: the period is 3 bins,
    so a replica in coarse steps is observed every period too (5 bins would see it only every 30)."""
    m = nets.model({"api": nets.service(4, mean_s=10e-3)}, {"users": nets.tenant("api", 100, timeout_s=5.0)})
    sc = nets.scenario(120.0, record_every_s=60.0, dt_s=1.0) | {"max_dt": "6s", "control_every": "5s"}
    eng = FluidEngine(nets.build(m, sc))
    assert (eng.coarse_k, eng.control_k) == (6, 3)
