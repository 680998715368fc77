"""The public names are exactly what ``outagesim.__init__`` exports."""

import subprocess
import sys

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


def test_no_export_is_hidden_by_a_submodule_of_its_name():
    """With every submodule imported first, each exported name is still the export, not a module (a
    lazily exported ``simulate`` used to be replaced by the ``outagesim.simulate`` module once anything
    imported that module, so ``outagesim.simulate(...)`` failed depending on import order)."""
    code = (
        "import importlib, pkgutil, types, outagesim\n"
        "for m in pkgutil.walk_packages(outagesim.__path__, 'outagesim.'):\n"
        "    if not m.name.endswith('__main__'):  # that one runs the CLI\n"
        "        importlib.import_module(m.name)\n"
        "bad = [n for n in outagesim.__all__ if isinstance(getattr(outagesim, n), types.ModuleType)]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
