"""The ``outagesim`` command line: every OutagesimError becomes a message and exit status 2."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from typer.core import TyperCommand

from .errors import AnalysisError, ModelError, OutagesimError
from .report.terminal import print_run_summary

if TYPE_CHECKING:
    from .results import Results

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Describe a cloud system in YAML, inject faults, measure the cascade.")
# Piped or captured output gets a readable width instead of rich's 80-column fallback.
out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 140)


def _fail(exc: OutagesimError) -> None:
    if isinstance(exc, ModelError):
        for p in exc.problems:
            err.print(f"[red]error[/red] {p}" if p.severity == "error" else f"[yellow]warning[/yellow] {p}",
                      highlight=False, soft_wrap=True)
        n = sum(p.severity == "error" for p in exc.problems)
        err.print(f"{n} error(s)", highlight=False)
    else:
        err.print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


class _Progress:
    """A progress bar that appears only once a run has taken more than a couple of seconds."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.bar = None
        self.task = None
        self.label = ""

    def __call__(self, label: str, frac: float) -> None:
        if self.bar is None:
            if time.perf_counter() - self.t0 < 2.0 or not err.is_terminal:
                return
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                                console=err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(label, total=1.0)
        self.bar.update(self.task, completed=frac, description=f"simulating {label}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


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
ModelArg = Annotated[Path, typer.Argument(help="model YAML")]
ScenarioArg = Annotated[Path, typer.Argument(help="scenario YAML")]
VariantOpt = Annotated[list[str], typer.Option("--variant", help="variant besides the base; repeat, or 'all'")]
ReplicasOpt = Annotated[int, typer.Option(min=1, help="Monte Carlo replicas")]
SeedOpt = Annotated[int, typer.Option(help="seed for uncertain parameters and noise")]
EngineOpt = Annotated[str, typer.Option(help="fluid (fast) or des (request-level reference)")]
SetOpt = Annotated[list[str], typer.Option("--set", help="override one setting: path=value")]
KeepReplicasOpt = Annotated[bool, typer.Option(help="write every replica's series, not only stats")]
MarginsOpt = Annotated[bool, typer.Option(help="compute each service's tipping margin (slower)")]
OutOpt = Annotated[Path, typer.Option("--out", help="results directory")]
ForceOpt = Annotated[bool, typer.Option(help="run a DES even if its cost estimate is over the limit")]
WorkersOpt = Annotated[int | None, typer.Option(
    min=1, help="processes sharing the replicas (default: every core for a big run); same numbers")]
StoreOpt = Annotated[Path | None, typer.Option(help="also append the run to this DuckDB results store")]
StoreFileOpt = Annotated[Path, typer.Option("--store", help="the DuckDB results store")]
ReportOpt = Annotated[str | None, typer.Option(
    "--report", metavar="[PATH]", help="also write the HTML report (default: RESULTS_DIR/report.html)")]

# `--report` alone means "the default path"; typer has no options with an optional value, so the bare
# option gets this marker before parsing (see _OptionalValues).
_DEFAULT_PATH = "@default"


class _OptionalValues(TyperCommand):
    """A command whose ``--report`` may be given without a value."""

    optional_value = ("--report",)

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        args = list(args)
        stop = args.index("--") if "--" in args else len(args)  # after "--" everything is an argument
        for i in reversed(range(stop)):
            if args[i] in self.optional_value and (i + 1 == stop or args[i + 1].startswith("-")):
                args.insert(i + 1, _DEFAULT_PATH)
        return super().parse_args(ctx, args)


def _check_report(report: str | None) -> None:
    """Refuse a ``--report PATH`` that cannot be written before simulating, not after."""
    if report not in (None, _DEFAULT_PATH):
        from .report.html import check_outputs

        check_outputs(Path(report))


def _report(results_dir: Path, output: Path | None, png: Path | None) -> None:
    """Build the HTML report; shared by ``run --report``, ``compare --report`` and ``report`` (later ``replay``)."""
    from .report.html import write_report

    path = write_report(results_dir, output, png_dir=png)
    out.print(f"report written to {path}", highlight=False)
    if png is not None:
        out.print(f"figures written to {png}", highlight=False)


def _report_after(done: _Done, report: str | None) -> None:
    if report is not None:
        _report(done.path, None if report == _DEFAULT_PATH else Path(report), None)


@dataclass(frozen=True)
class _RunOptions:
    """What ``run`` and ``compare`` were asked to do (their shared options, as typed)."""

    model: Path
    scenario: Path
    variants: list[str]
    replicas: int
    seed: int
    engine: str
    sets: list[str]
    keep_replicas: bool
    margins: bool
    out_dir: Path
    force: bool
    workers: int | None
    store: Path | None


@dataclass(frozen=True)
class _Done:
    results: Results
    vulnerability: dict | None
    path: Path
    run_id: str | None


def _simulate(opts: _RunOptions, *, need_variants: bool = False, replay: str | None = None,
              observed: dict | None = None) -> _Done:
    """Load, simulate, write the results directory and append to the store: the part ``run`` and
    ``compare`` share. Every user mistake that can be found before simulating is raised first."""
    from .model.load import apply_overrides, load
    from .simulate import simulate, variant_names

    warnings: list = []
    m, s = load(opts.model, opts.scenario, warnings=warnings)
    for w in warnings:
        err.print(f"[yellow]warning[/yellow] {w}", highlight=False, soft_wrap=True)
    if opts.sets:
        m, s = apply_overrides(m, s, list(opts.sets))
    if need_variants and not variant_names(s, opts.variants):
        have = ", ".join(s.variants) or "none"
        raise AnalysisError(f"compare needs at least one variant (--variant NAME or --variant all), found none; "
                            f"the scenario has: {have}")
    if opts.store is not None:
        from .io.store import check_store

        check_store(opts.store)
    progress = _Progress()
    try:
        results = simulate(m, s, variants=opts.variants, replicas=opts.replicas, seed=opts.seed,
                           engine=opts.engine, force=opts.force, progress=progress, workers=opts.workers,
                           replay=replay)
        results.observed = observed
        vulnerability = None
        if opts.margins:
            from .margins import tipping_margins

            vulnerability = tipping_margins(m, s, seed=opts.seed, progress=progress)
            results.manifest["vulnerability"] = vulnerability
    finally:
        progress.close()
    path = results.write(opts.out_dir, keep_replicas=opts.keep_replicas)
    run_id = None
    if opts.store is not None:
        from .io.store import append_run

        name = results.manifest.get("replay") or Path(opts.scenario).stem
        run_id = append_run(opts.store, results, scenario_name=name, results_dir=path.resolve())
    return _Done(results, vulnerability, path, run_id)


def _written(done: _Done, store: Path | None) -> None:
    out.print(f"results written to {done.path}", highlight=False)
    if done.run_id is not None:
        out.print(f"run {done.run_id} appended to the store {store}", highlight=False)


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


ReplayArg = Annotated[str, typer.Argument(help="a bundled replay (see 'outagesim replays')")]


@app.command()
def replays() -> None:
    """List the bundled incident replays: name, date, what happened."""
    from .library import list_replays

    for r in list_replays():
        out.print(f"{r.name:<18} {r.date:<11} {r.summary}", highlight=False, soft_wrap=True)


@app.command()
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
        done = _simulate(opts, replay=name, observed={"replay": name, **observed})
        anchor = done.results.manifest["anchor"]
        for v in done.results.variants:
            out.print(milestone_table(evaluate_milestones(done.results, observed, v), anchor, v))
        print_run_summary(out, done.results, done.vulnerability)
        _written(done, store)
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
) -> None:
    """Static blast radius at peak demand: what a component's loss takes down, or the ranking of every
    zone, region, provider and service by tenants lost, with the concentration of tenants' demand."""
    try:
        _blast(model, fail, top, format_)
    except OutagesimError as exc:
        _fail(exc)


def _blast(model: Path, fail: str | None, top: int, fmt: str) -> None:
    from .analysis.blast import StaticBlast, concentration, single_points_of_failure
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
    ranking = single_points_of_failure(m, static=static)
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
