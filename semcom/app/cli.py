"""The ``semcom`` command: a thin layer over the library API."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from semcom import __version__
from semcom.errors import SemcomError, first_line


class _Group(click.Group):
    """Turns expected errors (bad scenario, missing data, bad model file) into one line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (SemcomError, *_user_errors()) as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            if ctx.obj and ctx.obj.get("verbose"):
                for detail in _details(exc):
                    click.echo(f"  {detail}", err=True)
            more = " (details: semcom --verbose ...)" if _details(exc) and not (ctx.obj or {}).get("verbose") else ""
            click.echo(f"error: {first_line(exc)}{more}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: finished models and sweep points are saved; "
                       "run the same command again to resume", err=True)
            ctx.exit(130)


def _details(exc: BaseException) -> list[str]:
    """What a one-line error leaves out: the rest of its message and the errors that caused it."""
    lines = str(exc).strip().splitlines()[1:]
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    while cause is not None:
        lines += [f"caused by {type(cause).__name__}: {ln}" if i == 0 else ln
                  for i, ln in enumerate(str(cause).strip().splitlines() or [""])]
        cause = cause.__cause__
    return lines


def _user_errors() -> tuple[type[BaseException], ...]:
    from semcom.data import DatasetError
    from semcom.data.idx import IdxFormatError

    return (DatasetError, IdxFormatError)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="semcom")
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
@click.option("--verbose", is_flag=True, help="With an error, also show its details (the causes behind the one line).")
@click.pass_context
def main(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """Semantic-communication simulator: codec -> bits -> channel -> decoder -> classifier."""
    ctx.obj = {"debug": debug, "verbose": verbose}
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s: %(message)s")


def _scenario_options(command):
    """The scenario argument and the data, results and store folders that run and compare share."""
    for decorator in reversed([
        click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=Path)),
        click.option("--data", "data_path", type=click.Path(file_okay=False, path_type=Path),
                     help="Folder holding the dataset's IDX files (overrides dataset.path and SEMCOM_DATA)."),
        click.option("--results", "results_root", type=click.Path(file_okay=False, path_type=Path),
                     help="Root folder for results (default: output.dir of the scenario, 'results')."),
        click.option("--store", "store_path", type=click.Path(file_okay=False, path_type=Path),
                     help="Model store folder (default: store.path, SEMCOM_STORE or ~/.cache/semcom/models)."),
    ]):
        command = decorator(command)
    return command


@main.command()
@_scenario_options
@click.option("--retrain", is_flag=True, help="Train models even when stored ones exist.")
@click.option("--fresh", is_flag=True, help="Start a separate run folder instead of resuming this scenario's run.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Where sweep points run: this process, or Dask workers.")
@click.option("--scheduler", default=None, help="Dask scheduler address (default: start a local cluster).")
@click.option("--quiet", is_flag=True, help="No progress output.")
def run(scenario_file: Path, data_path: Path | None, results_root: Path | None, store_path: Path | None,
        retrain: bool, fresh: bool, executor: str, scheduler: str | None, quiet: bool) -> None:
    """Run SCENARIO_FILE and write results/<scenario>/<run-id>/.

    The run folder is named after the scenario's content: running the same scenario
    again resumes an interrupted run (finished points are kept) or, when it is
    complete, rewrites its tables and plots without recomputing.
    """
    from semcom.app.executors import make_executor
    from semcom.app.runner import run_scenario
    from semcom.app.scenario import load_scenario
    from semcom.models.store import ModelStore

    from semcom.progress import set_quiet

    set_quiet(quiet)
    scenario = load_scenario(scenario_file)
    store = ModelStore(store_path) if store_path else None
    result = run_scenario(scenario, data_path=data_path, results_root=results_root, store=store,
                          retrain=retrain, fresh=fresh, progress=not quiet,
                          executor=make_executor(executor, scheduler), command=" ".join(["semcom", *sys.argv[1:]]))
    if not quiet:
        from semcom.app.summary import summary_text

        click.echo(summary_text(result.rows, result.notes))
        click.echo(f"full table: {result.run_dir / 'summary.md'}")
    click.echo(f"results: {result.run_dir}")


@main.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data", "data_path", type=click.Path(file_okay=False, path_type=Path),
              help="Folder holding the dataset's IDX files (overrides dataset.path and SEMCOM_DATA).")
@click.option("--store", "store_path", type=click.Path(file_okay=False, path_type=Path),
              help="Model store folder (default: store.path, SEMCOM_STORE or ~/.cache/semcom/models).")
@click.option("--only", default=None, help="Comma-separated codec names to get, in this order (default: all).")
@click.option("--retrain", is_flag=True, help="Train models even when stored ones exist.")
@click.option("--status", is_flag=True,
              help="Train nothing: list each model as stored, training now, checkpointed (epochs done) or missing.")
@click.option("--quiet", is_flag=True, help="No progress output.")
def train(scenario_file: Path, data_path: Path | None, store_path: Path | None, only: str | None, retrain: bool,
          status: bool, quiet: bool) -> None:
    """Train (or find stored) the models of SCENARIO_FILE without running its sweep.

    Useful ahead of time, e.g. on a GPU machine sharing the model store; a later
    `semcom run` of the same scenario then trains nothing.
    """
    from semcom.app.runner import model_status, train_models
    from semcom.app.scenario import load_scenario
    from semcom.models.store import ModelStore

    scenario = load_scenario(scenario_file)
    store = ModelStore(store_path) if store_path else None
    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    if status:
        from semcom.app.status import status_markdown

        click.echo(status_markdown(model_status(scenario, data_path=data_path, store=store, only=names)))
        return
    rows = train_models(scenario, data_path=data_path, store=store, only=names, retrain=retrain,
                        progress=not quiet)
    click.echo("| model | key | val accuracy | val MSE | seconds |\n|---|---|---|---|---|")
    for r in rows:
        metrics = r["card"].get("metrics", {})
        acc, mse = metrics.get("val_accuracy"), metrics.get("val_mse")
        acc_text = "" if acc is None else f"{100 * acc:.2f}%"
        mse_text = "" if mse is None else f"{mse:.4f}"
        click.echo(f"| {r['name']} | {r['key']} | {acc_text} | {mse_text} | {r['seconds']:.0f} |")


@main.command()
@_scenario_options
@click.option("--channel", default=None, help="Channel setting to compare at (default: the clean one).")
@click.option("--quiet", is_flag=True, help="No progress output.")
def compare(scenario_file: Path, data_path: Path | None, results_root: Path | None, store_path: Path | None,
            channel: str | None, quiet: bool) -> None:
    """Compare the codecs of SCENARIO_FILE at equal rate and channel (runs or resumes it first)."""
    from semcom.app.compare import write_comparison
    from semcom.app.runner import prepare_run, run_scenario
    from semcom.app.scenario import load_scenario
    from semcom.models.store import ModelStore

    scenario = load_scenario(scenario_file)
    store = ModelStore(store_path) if store_path else None
    ctx = prepare_run(scenario, data_path=data_path, store=store, progress=not quiet)
    result = run_scenario(scenario, results_root=results_root, progress=not quiet, context=ctx,
                          command=" ".join(["semcom", *sys.argv[1:]]))
    known = {r["channel"] for r in result.rows}
    if channel is not None and channel not in known:
        raise SemcomError(f"--channel {channel!r} is not a setting of this run; expected one of: "
                          + ", ".join(sorted(known)))
    _, text = write_comparison(result, ctx, channel, tuple(scenario.output.formats))
    click.echo(text)
    click.echo(f"results: {result.run_dir} (compare.md, compare.csv, plots/compare_accuracy_vs_mse)")


@main.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=Path))
def check(scenario_file: Path) -> None:
    """Validate SCENARIO_FILE without running it."""
    from semcom.app.scenario import load_scenario

    sc = load_scenario(scenario_file)
    n_codecs, n_links, n_bits = len(sc.codec_list), len(sc.links), len(sc.bitstreams)
    n = n_codecs * len(sc.channels) * n_links * n_bits * len(sc.seeds)
    links = (f" x {n_links} link settings" if sc.links != [None] else "") + \
        (f" x {n_bits} bitstream settings" if sc.bitstreams != [None] else "")
    click.echo(f"{scenario_file}: ok ({n_codecs} codecs x {len(sc.channels)} channel settings{links} x "
               f"{len(sc.seeds)} seeds = {n} points)")


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--format", "formats", multiple=True, type=click.Choice(["png", "pdf", "svg"]),
              help="Formats to draw (repeatable; default: every format the run's scenario asked for).")
@click.option("--style", type=click.Choice(["paper", "screen"]), default=None,
              help="Figure sizes and fonts (default: the scenario's output.style).")
def plot(run_dir: Path, formats: tuple[str, ...], style: str | None) -> None:
    """Redraw the plots of RUN_DIR from its saved metrics (no recomputation)."""
    from semcom.app.outputs import first_seed_latencies
    from semcom.app.plots import draw_run, history_styles, training_curves
    from semcom.app.results import load_examples, read_csv

    metrics = run_dir / "metrics.csv"
    if not metrics.exists():
        raise SemcomError(f"{run_dir}: no metrics.csv here; expected a folder written by 'semcom run'")
    output = _manifest_output(run_dir)
    formats = tuple(formats) or tuple(output.get("formats") or ("png",))
    style = style or output.get("style", "paper")
    rows = read_csv(metrics)
    saved = load_examples(run_dir / "latency.npz") or {}
    seed0 = min(int(r["seed"]) for r in rows)
    latencies = first_seed_latencies({tuple(k.split("|")): v for k, v in saved.items()}, seed0)
    for p in draw_run(rows, load_examples(run_dir / "examples.npz"), run_dir / "plots", list(formats), latencies,
                      style=style):
        click.echo(p)
    histories = run_dir / "training_histories.json"
    if histories.exists():  # runs written before semcom kept the histories have none
        try:
            saved = json.loads(histories.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise SemcomError(f"{histories}: unreadable ({exc}); the other plots were redrawn") from exc
        if not isinstance(saved, dict) or not all(isinstance(h, dict) for h in saved.values()):
            raise SemcomError(f"{histories}: expected {{model name: {{curve: [values per epoch]}}}}; "
                              "the other plots were redrawn")
        for p in training_curves(saved, run_dir / "plots", list(formats), styles=history_styles(rows), style=style):
            click.echo(p)


def _manifest_output(run_dir: Path) -> dict:
    """The run's [output] settings as its manifest recorded them ({} for older or damaged manifests)."""
    try:
        output = json.loads((run_dir / "manifest.json").read_text())["scenario"]["output"]
        return output if isinstance(output, dict) else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


if __name__ == "__main__":  # pragma: no cover
    main()
