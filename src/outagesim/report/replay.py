"""What ``outagesim replay`` prints besides the run summary: the observed and simulated timelines side by side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.table import Table

from ..analysis.milestones import MilestoneResult


def _clock(anchor: datetime, offset_s: float | None) -> str:
    if offset_s is None:
        return "never"
    return (anchor + timedelta(seconds=offset_s)).strftime("%H:%M")


def _signed(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign = "+" if seconds >= 0 else "-"
    m = int(round(abs(seconds) / 60))
    return f"{sign}{m // 60}h{m % 60:02d}m" if m >= 60 else f"{sign}{m}m"


def milestone_table(rows: list[MilestoneResult], anchor_utc: str, variant: str = "base") -> Table:
    """Milestone, kind, observed UTC, simulated UTC (median over replicas), difference, tolerance, verdict."""
    anchor = datetime.fromisoformat(anchor_utc.replace("Z", "+00:00")).astimezone(UTC)
    t = Table(title=f"timeline ({variant}): observed vs simulated, UTC")
    for col in ("milestone", "kind", "observed", "simulated", "difference", "tolerance", "within"):
        t.add_column(col, justify="left" if col in ("milestone", "kind") else "right")
    for r in rows:
        both_never = r.observed_s is None and r.simulated_s is None
        verdict = "[green]yes[/green]" if r.within else "[red]no[/red]"
        t.add_row(r.id, r.kind, _clock(anchor, r.observed_s), _clock(anchor, r.simulated_s),
                  "0" if both_never else _signed(r.difference_s), f"±{_signed(r.tolerance_s)[1:]}", verdict)
    return t
