"""The terminal summary's vulnerability table states what the margin search found, in its own units."""

from rich.console import Console

from outagesim.report.terminal import vulnerability_table


def _text(vuln: dict) -> str:
    console = Console(width=200, record=True)
    console.print(vulnerability_table(vuln))
    return console.export_text()


def test_vulnerability_table_names_each_outcome_with_the_probe_it_used():
    """No storm: '-'; storm but no tipping up to the deepest probe: says so; a margin: loss and hold time."""
    probe = {"hold_s": 60.0, "deepest": 0.95}
    text = _text({
        "front": {"storm_possible": False, "margin": None, "thin": False, **probe},
        "db": {"storm_possible": True, "margin": None, "thin": False, **probe},
        "cache": {"storm_possible": True, "margin": 0.05, "thin": True, **probe},
    })
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 3}
    assert "none up to" not in lines["front"] and " - " in lines["front"]
    assert "none up to a 95% loss" in lines["db"]
    assert "5% capacity loss for 60 s" in lines["cache"] and "THIN" in lines["cache"]
