"""The comparison table's verdict: lower, higher, no clear change, or negligible when both sides round to 0."""

import pandas as pd
from rich.console import Console

from outagesim.analysis.compare import COMPARISON_COLUMNS
from outagesim.report.compare import metric_table


def _row(entity: str, base: float, variant: float, low: float, high: float) -> dict:
    return {"variant": "fix", "entity_kind": "tenant", "entity": entity, "metric": "money_failed_requests", "n": 20,
            "base_mean": base, "variant_mean": variant, "diff_mean": variant - base, "diff_se": 0.0,
            "mean_low": low, "mean_high": high, "replica_low": low, "replica_high": high}


def test_a_tight_interval_on_amounts_that_print_as_zero_is_negligible_not_lower():
    """S3 2017's untouched retailers lost thousandths of a dollar in the base and less in the variants: the
    paired interval excluded zero, and the table said "lower, -94.5%" beside "0.0 -> 0.0"."""
    rows = [_row("hit", 200.0, 10.0, -195.0, -185.0), _row("worse", 10.0, 50.0, 30.0, 50.0),
            _row("unclear", 10.0, 9.0, -3.0, 1.0), _row("untouched", 0.002, 0.0001, -0.0021, -0.0017)]
    console = Console(width=200, record=True)
    console.print(metric_table(pd.DataFrame(rows, columns=COMPARISON_COLUMNS), "money_failed_requests"))
    lines = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[1:-1]]
             for line in console.export_text().splitlines() if line.count("│") > 3}
    assert lines["hit"][-2:] == ["-95.0%", "lower"]
    assert lines["worse"][-1] == "higher"
    assert lines["unclear"][-1] == "no clear change"
    assert lines["untouched"][-2:] == ["-", "negligible"]
