"""The ``outagesim`` command line: every OutagesimError becomes a message and exit status 2.

Shared option types and the run-to-results-directory path are in cli_common.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .cli_common import (
    EngineOpt,
    ForceOpt,
    KeepReplicasOpt,
    MarginsOpt,
    ModelArg,
    OutOpt,
    ReplayArg,
    ReplicasOpt,
    ReportOpt,
    ScenarioArg,
    SeedOpt,
    SetOpt,
    StoreFileOpt,
    StoreOpt,
    VariantOpt,
    WorkersOpt,
    _check_report,
    _fail,
    _OptionalValues,
    _report,
    _report_after,
    _RunOptions,
    _simulate,
    _written,
    err,
    out,
)
from .errors import OutagesimError
from .report.terminal import print_run_summary

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Describe a cloud system in YAML, inject faults, measure the cascade.")


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="model and scenario files")]) -> None:
    """Check model and scenario files; report every problem at once (exit 2 on any error)."""
    from .model.load import validate_files

    problems = validate_files([str(f) for f in files])
    for p in problems:
        tag = "[red]error[/red]" if p.severity == "error" else "[yellow]warning[/yellow]"
        err.print(f"{tag} {p}", highlight=False, soft_wrap=True)
    errors = sum(p.severity == "error" for p in problems)
    if errors:
        err.print(f"{errors} error(s)", highlight=False)
        raise typer.Exit(2)
    out.print(f"ok: {len(files)} file(s) valid", highlight=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of model and scenario files (for editors)."""
    from .model.schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


# Options shared by ``run`` and ``compare``: declared once, so the two commands take the same options with
# the same help (tests/test_cli_compare.py checks their signatures stay the same).


@app.command(cls=_OptionalValues)
def run(
    model: ModelArg,
    scenario: ScenarioArg,
    variant: VariantOpt = [],  # noqa: B006
    replicas: ReplicasOpt = 10,
    seed: SeedOpt = 0,
    engine: EngineOpt = "fluid",
    set_: SetOpt = [],  # noqa: B006
    keep_replicas: KeepReplicasOpt = False,
    margins: MarginsOpt = False,
    out_dir: OutOpt = Path("results"),
    force: ForceOpt = False,
    workers: WorkersOpt = None,
    store: StoreOpt = None,
    report: ReportOpt = None,
) -> None:
    """Simulate the base case and the chosen variants; write the results directory; print a summary."""
    try:
        opts = _RunOptions(model, scenario, variant, replicas, seed, engine, set_, keep_replicas, margins,
                           out_dir, force, workers, store)
        _check_report(report)
        done = _simulate(opts)
        print_run_summary(out, done.results, done.vulnerability)
        _written(done, store)
        _report_after(done, report)
    except OutagesimError as exc:
        _fail(exc)


@app.command(cls=_OptionalValues)
def compare(
    model: ModelArg,
    scenario: ScenarioArg,
    variant: VariantOpt = [],  # noqa: B006
    replicas: ReplicasOpt = 10,
    seed: SeedOpt = 0,
    engine: EngineOpt = "fluid",
    set_: SetOpt = [],  # noqa: B006
    keep_replicas: KeepReplicasOpt = False,
    margins: MarginsOpt = False,
    out_dir: OutOpt = Path("results"),
    force: ForceOpt = False,
    workers: WorkersOpt = None,
    store: StoreOpt = None,
    report: ReportOpt = None,
) -> None:
    """Run the base case and the variants on the same seeds; print each variant's paired difference."""
    from .analysis.compare import compare as paired
    from .report.compare import print_comparison

    try:
        opts = _RunOptions(model, scenario, variant, replicas, seed, engine, set_, keep_replicas, margins,
                           out_dir, force, workers, store)
        _check_report(report)
        done = _simulate(opts, need_variants=True)
        print_comparison(out, done.results, paired(done.results))
        _written(done, store)
        _report_after(done, report)
    except OutagesimError as exc:
        _fail(exc)


@app.command("report")
def report_(
    results_dir: Annotated[Path, typer.Argument(help="results directory written by `outagesim run`")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="HTML file to write (default: RESULTS_DIR/report.html)")] = None,
    png: Annotated[Path | None, typer.Option(help="also write the main figures as PNG files into this folder")] = None,
) -> None:
    """Write one self-contained HTML page (works offline) from a results directory; optionally PNGs."""
    try:
        _report(results_dir, output, png)
    except OutagesimError as exc:
        _fail(exc)


@app.command()
def replays() -> None:
    """List the bundled incident replays: name, date, what happened."""
    from .library import list_replays

    for r in list_replays():
        out.print(f"{r.name:<18} {r.date:<11} {r.summary}", highlight=False, soft_wrap=True)


@app.command(cls=_OptionalValues)
def replay(
    name: ReplayArg,
    variant: VariantOpt = [],  # noqa: B006
    replicas: ReplicasOpt = 10,
    seed: SeedOpt = 0,
    engine: EngineOpt = "fluid",
    set_: SetOpt = [],  # noqa: B006
    keep_replicas: KeepReplicasOpt = False,
    margins: MarginsOpt = False,
    out_dir: OutOpt = Path("results"),
    force: ForceOpt = False,
    workers: WorkersOpt = None,
    store: StoreOpt = None,
    report: ReportOpt = None,
) -> None:
    """Run a bundled replay; print its simulated timeline beside the observed one, and tenant impact."""
    from .analysis.milestones import evaluate_milestones, read_observed
    from .library import replay_paths
    from .report.replay import milestone_table

    try:
        paths = replay_paths(name)
        observed = read_observed(paths.observed)
        opts = _RunOptions(paths.model, paths.scenario, variant, replicas, seed, engine, set_, keep_replicas,
                           margins, out_dir, force, workers, store)
        _check_report(report)
        done = _simulate(opts, replay=name, observed={"replay": name, **observed})
        anchor = done.results.manifest["anchor"]
        for v in done.results.variants:
            out.print(milestone_table(evaluate_milestones(done.results, observed, v), anchor, v))
        print_run_summary(out, done.results, done.vulnerability)
        if len(done.results.variants) > 1:  # the variants against the base, paired on the same seeds
            from .analysis.compare import compare as paired
            from .report.compare import print_comparison

            print_comparison(out, done.results, paired(done.results))
        _written(done, store)
        _report_after(done, report)
    except OutagesimError as exc:
        _fail(exc)


runs_app = typer.Typer(no_args_is_help=True, help="The runs kept in a DuckDB results store (run --store).")
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def runs_list(store: StoreFileOpt = Path("results.duckdb")) -> None:
    """List the runs in the store, oldest first."""
    from .io.store import list_runs
    from .report.runs import runs_table

    try:
        out.print(runs_table(list_runs(store), store))
    except OutagesimError as exc:
        _fail(exc)


@runs_app.command("show")
def runs_show(run_id: Annotated[str, typer.Argument(help="a run id from 'outagesim runs list'")],
              store: StoreFileOpt = Path("results.duckdb")) -> None:
    """Show one run: what was run, and its tenants' outcomes per variant."""
    from .io.store import read_run
    from .report.runs import print_run

    try:
        print_run(out, read_run(store, run_id))
    except OutagesimError as exc:
        _fail(exc)


FORMATS = ("table", "json")


@app.command()
def blast(
    model: Annotated[Path, typer.Argument(help="model YAML")],
    fail: Annotated[str | None, typer.Option(
        "--fail", help="a component: provider, region, zone, service or cell (service@zone)")] = None,
    top: Annotated[int, typer.Option(min=1, help="rows of the ranking to show")] = 10,
    format_: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    workers: Annotated[int | None, typer.Option(
        min=1, help="processes sharing the ranking's losses (default: 2 on a big model, else 1); same numbers")]
    = None,
) -> None:
    """Static blast radius at peak demand: what a component's loss takes down, or the ranking of every
    zone, region, provider and service by tenants lost, with the concentration of tenants' demand."""
    try:
        _blast(model, fail, top, format_, workers)
    except OutagesimError as exc:
        _fail(exc)


def _blast(model: Path, fail: str | None, top: int, fmt: str, workers: int | None = None) -> None:
    from .analysis.blast import StaticBlast, auto_workers, concentration, single_points_of_failure
    from .analysis.components import resolve
    from .model.load import load_model
    from .model.names import did_you_mean
    from .report import blast as report

    if fmt not in FORMATS:
        hint = did_you_mean(fmt, FORMATS)
        raise OutagesimError(f"--format: expected one of {', '.join(FORMATS)}, found '{fmt}'"
                             + (f" ({hint})" if hint else ""))
    warnings: list = []
    m = load_model(model, warnings=warnings)
    for w in warnings:
        err.print(f"[yellow]warning[/yellow] {w}", highlight=False, soft_wrap=True)
    static = StaticBlast(m)
    if fail is not None:
        radius = static.loss(resolve(static.net, fail))
        if fmt == "json":
            sys.stdout.write(json.dumps(report.radius_json(radius), indent=2) + "\n")
        else:
            report.print_radius(out, radius)
        return
    ranking = single_points_of_failure(m, static=static, workers=auto_workers(static) if workers is None else workers)
    conc = concentration(m, static=static)
    if fmt == "json":
        sys.stdout.write(json.dumps(report.ranking_json(ranking, conc, top), indent=2) + "\n")
    else:
        report.print_ranking(out, ranking, conc, top)


def main() -> None:
    """Entry point of the ``outagesim`` script; user mistakes never show a traceback."""
    try:
        app()
    except OutagesimError as exc:  # pragma: no cover - commands catch their own
        err.print(f"error: {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
