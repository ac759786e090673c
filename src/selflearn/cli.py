"""The ``selflearn`` command line: a thin shell over the library (DESIGN §3.4)."""

from __future__ import annotations

import json
import logging
import random
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from selflearn.errors import SelflearnError

app = typer.Typer(
    name="selflearn",
    help="A self-learning layer for voice assistants: turn log, feedback, rewrites, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def _emit(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


@app.command()
def schema() -> None:
    """Print the JSON Schema of a turn event (DESIGN §3.1)."""
    from selflearn.logs.schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Turn-log files: .jsonl or .parquet.")],
    store: Annotated[Path, typer.Option(help="The DuckDB store file.")] = Path(
        "selflearn-data/turns.duckdb"
    ),
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Store turn events; idempotent on turn_id. Prints a JSON summary; bad lines are named."""
    from selflearn.logs.io import file_format
    from selflearn.logs.store import TurnStore

    for path in files:
        if not path.is_file():
            raise SelflearnError(f"{path}: no such file")
        file_format(path)
    total = sum(p.stat().st_size for p in files)
    with (
        TurnStore.open(store) as turn_store,
        Progress(
            TextColumn("ingest"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=quiet,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("ingest", total=total)
        summary = turn_store.ingest_files(files, progress=lambda n: progress.advance(task, n))
        stored = turn_store.count()
    for rejection in summary.rejected[:50]:
        err.print(f"[yellow]rejected[/] {rejection}", markup=True, highlight=False, soft_wrap=True)
    if len(summary.rejected) > 50:
        err.print(
            f"… and {len(summary.rejected) - 50} more rejected lines (all listed in the JSON)"
        )
    _emit({**summary.as_dict(), "stored": stored, "store": str(store)})


@app.command()
def assistant(
    text: Annotated[
        str | None, typer.Argument(help="An utterance; omit or '-' to read stdin.")
    ] = None,
    device: Annotated[
        str, typer.Option(help="The voice device that hears it.")
    ] = "satellite.kitchen",
    home: Annotated[Path | None, typer.Option(help="A home YAML file (default: shipped).")] = None,
    speech: Annotated[
        bool, typer.Option(help="Pass the text through the noisy speech channel.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    log: Annotated[
        Path | None, typer.Option(help="Also append the turn events to this JSONL.")
    ] = None,
) -> None:
    """Run the reference assistant; print every stage's output as JSON, one line per request."""
    from selflearn.assistant import Assistant, Home
    from selflearn.logs.io import write_jsonl

    bot = Assistant.create(Home.from_yaml(home) if home else None, speech=speech)
    rng = random.Random(seed)
    if text is not None and text != "-":
        lines = [text]
    else:
        lines = [ln.strip() for ln in sys.stdin if ln.strip()]
    events = []
    for line in lines:
        turn = bot.handle(line, device_id=device, rng=rng)
        events.append(turn.event)
        _emit(turn.stages())
    if log is not None:
        write_jsonl(events, log, append=True)


@app.command()
def demo(
    requests: Annotated[int, typer.Option(help="How many requests to simulate.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    data_dir: Annotated[Path, typer.Option(help="Where the demo writes its log and store.")] = Path(
        "selflearn-data/demo"
    ),
) -> None:
    """Run the loop end to end on the embedded default and print a summary."""
    from selflearn.demo import run_demo

    run_demo(requests=requests, seed=seed, data_dir=data_dir, console=err, emit=_emit)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except SelflearnError as exc:
        err.print(f"[red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
