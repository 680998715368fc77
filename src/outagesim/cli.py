"""The ``outagesim`` command line: every OutagesimError becomes a message and exit status 2."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.core import TyperCommand

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


@app.command(cls=_OptionalValues)
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
    report: Annotated[str | None, typer.Option(
        "--report", metavar="[PATH]", help="also write the HTML report (default: RESULTS_DIR/report.html)")] = None,
) -> None:
    """Simulate the base case and the chosen variants; write the results directory; print a summary."""
    try:
        if report not in (None, _DEFAULT_PATH):
            from .report.html import check_outputs

            check_outputs(Path(report))
        path = _run(model, scenario, variant, replicas, seed, engine, set_, keep_replicas, margins, out_dir, force,
                    workers)
        if report is not None:
            _report(path, None if report == _DEFAULT_PATH else Path(report), None)
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


def _report(results_dir: Path, output: Path | None, png: Path | None) -> None:
    """Build the report; shared by ``run --report`` and ``report`` (and later ``replay``)."""
    from .report.html import write_report

    path = write_report(results_dir, output, png_dir=png)
    out.print(f"report written to {path}", highlight=False)
    if png is not None:
        out.print(f"figures written to {png}", highlight=False)


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
    return path


def main() -> None:
    """Entry point of the ``outagesim`` script; user mistakes never show a traceback."""
    try:
        app()
    except OutagesimError as exc:  # pragma: no cover - commands catch their own
        err.print(f"error: {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
