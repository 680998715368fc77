"""The public names are exactly what ``outagesim.__init__`` exports."""

import outagesim

EXPECTED = {
    "BlastRadius", "Concentration", "UnknownComponent", "blast_radius", "concentration", "single_points_of_failure",
    "Model", "ModelError", "OutagesimError", "Problem", "Results", "RunRecord", "RunRefused", "Scenario",
    "ScenarioError", "apply_overrides", "apply_variant", "json_schema", "load", "load_model",
    "load_scenario", "simulate", "validate_files",
    # issue 6: impact, comparison, results store
    "AnalysisError", "Availability", "StoreError", "append_run", "compare", "impact", "list_runs",
    "outage_windows", "read_run", "time_to_detect",
    # issue 6: the HTML report
    "ReportError", "write_report",
    # issue 5: the incident library
    "list_replays", "replay_paths", "evaluate_milestones",
}


def test_all_is_the_curated_list():
    """__all__ names exactly the curated public API."""
    assert set(outagesim.__all__) == EXPECTED


def test_every_public_name_resolves():
    """Every exported name is an attribute of the package."""
    for name in outagesim.__all__:
        assert getattr(outagesim, name) is not None


def test_one_error_root():
    """Every outagesim error derives from OutagesimError."""
    for cls in (outagesim.ModelError, outagesim.ScenarioError, outagesim.RunRefused, outagesim.AnalysisError,
                outagesim.StoreError, outagesim.UnknownComponent,
                outagesim.ReportError):
        assert issubclass(cls, outagesim.OutagesimError)
