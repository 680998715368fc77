"""What the ``outagesim`` commands share: consoles, the error exit, progress, option types, and running a
model into a results directory (with its report and store). The commands themselves are in cli.py."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from typer.core import TyperCommand

from .errors import AnalysisError, ModelError, OutagesimError

if TYPE_CHECKING:
    from .results import Results

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
    from .simulation import simulate, variant_names

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


ReplayArg = Annotated[str, typer.Argument(help="a bundled replay (see 'outagesim replays')")]
