"""The ``outagesim`` command line: every OutagesimError becomes a message and exit status 2."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .errors import ModelError, OutagesimError
from .report.terminal import print_run_summary

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


@app.command()
def run(
    model: Annotated[Path, typer.Argument(help="model YAML")],
    scenario: Annotated[Path, typer.Argument(help="scenario YAML")],
    variant: Annotated[list[str], typer.Option("--variant", help="variant besides the base; repeat, or 'all'")] = [],  # noqa: B006
    replicas: Annotated[int, typer.Option(min=1, help="Monte Carlo replicas")] = 10,
    seed: Annotated[int, typer.Option(help="seed for uncertain parameters and noise")] = 0,
    engine: Annotated[str, typer.Option(help="fluid (fast) or des (request-level reference)")] = "fluid",
    set_: Annotated[list[str], typer.Option("--set", help="override one setting: path=value")] = [],  # noqa: B006
    keep_replicas: Annotated[bool, typer.Option(help="write every replica's series, not only stats")] = False,
    margins: Annotated[bool, typer.Option(help="compute each service's tipping margin (slower)")] = False,
    out_dir: Annotated[Path, typer.Option("--out", help="results directory")] = Path("results"),
    force: Annotated[bool, typer.Option(help="run a DES even if its cost estimate is over the limit")] = False,
    workers: Annotated[int | None, typer.Option(
        min=1, help="processes sharing the replicas (default: every core for a big run); same numbers")] = None,
) -> None:
    """Simulate the base case and the chosen variants; write the results directory; print a summary."""
    try:
        _run(model, scenario, variant, replicas, seed, engine, set_, keep_replicas, margins, out_dir, force,
             workers)
    except OutagesimError as exc:
        _fail(exc)


def _run(model, scenario, variant, replicas, seed, engine, sets, keep_replicas, margins, out_dir, force,
         workers=None):
    from .model.load import apply_overrides, load
    from .simulate import simulate

    warnings: list = []
    m, s = load(model, scenario, warnings=warnings)
    for w in warnings:
        err.print(f"[yellow]warning[/yellow] {w}", highlight=False, soft_wrap=True)
    if sets:
        m, s = apply_overrides(m, s, list(sets))
    progress = _Progress()
    try:
        results = simulate(m, s, variants=variant, replicas=replicas, seed=seed, engine=engine, force=force,
                           progress=progress, workers=workers)
        vulnerability = None
        if margins:
            from .margins import tipping_margins

            vulnerability = tipping_margins(m, s, seed=seed, progress=progress)
            results.manifest["vulnerability"] = vulnerability
    finally:
        progress.close()
    path = results.write(out_dir, keep_replicas=keep_replicas)
    print_run_summary(out, results, vulnerability)
    out.print(f"results written to {path}", highlight=False)


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
