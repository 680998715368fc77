"""Outage windows and error timings on hand-made series, against the DESIGN.md definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from outagesim.analysis.windows import (
    Availability,
    outage_mask,
    outage_spans,
    time_to_final_recovery,
    time_to_first_error,
)
from outagesim.errors import AnalysisError, OutagesimError

DT = 10.0  # seconds per interval


def served(*stretches: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Goodput and demand (100 req/s) from (share of demand served, seconds) stretches."""
    share = np.concatenate([np.full(round(s / DT), f) for f, s in stretches])
    return 100.0 * share, np.full(len(share), 100.0)


def test_a_low_stretch_of_five_minutes_is_an_outage_and_a_shorter_one_is_not():
    """Goodput below half of demand for 300 s opens a window; for 290 s it does not."""
    assert outage_spans(*served((1, 60), (0.4, 300), (1, 120)), DT) == [(6, 36)]
    assert outage_spans(*served((1, 60), (0.4, 290), (1, 120)), DT) == []


def test_the_window_lasts_until_goodput_holds_95_percent_for_a_minute():
    """After the low stretch, 80% service is still down; the window ends where 95% starts and holds 60 s."""
    good, demand = served((1, 60), (0.3, 360), (0.8, 180), (0.96, 50), (0.7, 30), (0.97, 120))
    assert outage_spans(good, demand, DT) == [(6, 6 + 36 + 18 + 5 + 3)]
    mask = outage_mask(good, demand, DT)
    assert mask.sum() == 36 + 18 + 5 + 3 and not mask[:6].any() and not mask[68:].any()


def test_a_window_still_open_at_the_end_has_no_end_and_a_new_low_stretch_opens_a_second():
    """A second low stretch after a recovery opens a new window; one that never recovers stays open."""
    good, demand = served((0.2, 300), (1, 120), (0.1, 400), (0.99, 50))
    assert outage_spans(good, demand, DT) == [(0, 30), (42, None)]


def test_the_thresholds_are_parameters():
    """At 80% served, the default says up, a 90% threshold says down; a 30 s minimum finds a 40 s dip."""
    good, demand = served((1, 60), (0.8, 600), (1, 120))
    assert outage_spans(good, demand, DT) == []
    assert outage_spans(good, demand, DT, Availability(down_below=0.9, recovered_at=0.95)) == [(6, 66)]
    dip = served((1, 60), (0.1, 40), (1, 120))
    assert outage_spans(*dip, DT, Availability(down_for_s=30)) == [(6, 10)]


@pytest.mark.parametrize("bad", [dict(down_below=0.0), dict(down_below=0.96), dict(recovered_at=1.2),
                                 dict(down_for_s=-1.0), dict(error_share=0.0)])
def test_impossible_thresholds_are_a_user_error(bad):
    """Thresholds out of order or out of range raise an AnalysisError naming what was found."""
    with pytest.raises(AnalysisError) as info:
        Availability(**bad)
    assert isinstance(info.value, OutagesimError)
    assert "found" in str(info.value)


def test_time_to_first_error_counts_from_the_trigger_at_the_recorded_resolution():
    """The first interval at or after the trigger with >= 1% failed gives the time; none gives NaN."""
    failed = np.array([0.5, 0.5, 0.5, 0.5, 3.0, 50.0, 0.0])  # per second, of 100 req/s
    demand = np.full(7, 100.0)
    assert time_to_first_error(failed, demand, DT, after_s=15.0) == 25.0  # interval 4 starts at 40 s
    assert time_to_first_error(failed, demand, DT, after_s=45.0) == 0.0  # already erroring at the trigger
    assert math.isnan(time_to_first_error(np.full(7, 0.5), demand, DT, after_s=0.0))


def test_time_to_final_recovery_is_the_start_of_the_last_good_stretch_if_it_lasts_a_minute():
    """Recovery is where the final stretch at >= 95% begins; a final stretch under 60 s is no recovery."""
    good, demand = served((1, 60), (0.2, 60), (0.99, 20), (0.5, 30), (0.98, 90))
    assert time_to_final_recovery(good, demand, DT, after_s=60.0) == 170.0 - 60.0
    short = served((1, 60), (0.2, 60), (0.99, 50))
    assert math.isnan(time_to_final_recovery(*short, DT, after_s=60.0))
    assert time_to_final_recovery(*served((1, 200)), DT, after_s=60.0) == 0.0
