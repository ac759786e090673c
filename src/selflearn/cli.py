"""The ``selflearn`` command line: a thin shell over the library (DESIGN §3.4)."""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from selflearn.errors import SelflearnError

if TYPE_CHECKING:
    from collections.abc import Callable

    import pyarrow as pa

    from selflearn.dialogue import TurnFeatures
    from selflearn.dialogue.learner import Predictions
    from selflearn.logs.store import IngestSummary
    from selflearn.sim import SimConfig
    from selflearn.wyoming import AsrProxy, ConversationProxy, Source

app = typer.Typer(
    name="selflearn",
    help="A self-learning layer for voice assistants: turn log, feedback, rewrites, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Logs and CI are not terminals: there, tables get room instead of rich's 80 columns.
# What users taught, beside the learned artefacts (selflearn teach, selflearn rewrite).
DEFAULT_PREFERENCES = Path("selflearn-data/preferences.json")
DEFAULT_ARTEFACTS = Path("selflearn-data/artefacts")
err = Console(stderr=True, width=None if sys.stderr.isatty() else 140)


def _emit(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


@app.command()
def schema() -> None:
    """Print the JSON Schema of a turn event (DESIGN §3.1)."""
    from selflearn.logs.schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command()
def ingest(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Turn-log files (.jsonl, .parquet); with --from rasa, Rasa event files or "
            "its SQL event broker's SQLAlchemy URL."
        ),
    ],
    store: Annotated[Path, typer.Option(help="The DuckDB store file.")] = Path(
        "selflearn-data/turns.duckdb"
    ),
    source_format: Annotated[
        str,
        typer.Option(
            "--from",
            help="What the sources are: selflearn (turn events) or rasa (Rasa's event stream).",
        ),
    ] = "selflearn",
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Store turn events; idempotent on turn_id. Prints a JSON summary; bad lines are named."""
    from selflearn.logs.io import file_format
    from selflearn.logs.store import IngestSummary, TurnStore

    if source_format not in ("selflearn", "rasa"):
        raise SelflearnError(f"--from {source_format!r}: one of selflearn, rasa")
    if source_format == "rasa":
        from selflearn.logs.rasa import rasa_batches

        summary = IngestSummary()
        with TurnStore.open(store) as turn_store:
            for source in sources:
                for batch in rasa_batches(source):
                    summary.add(turn_store.ingest_batch(batch, checked=True))
                    if not quiet:
                        err.print(f"{source}: {summary.accepted:,} turns so far", highlight=False)
            stored = turn_store.count()
        _report_ingest(summary, stored, store)
        return
    files = [Path(s) for s in sources]
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
    _report_ingest(summary, stored, store)


def _report_ingest(summary: IngestSummary, stored: int, store: Path) -> None:
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
    artefacts: Annotated[
        Path | None,
        typer.Option(
            help="A `selflearn learn` folder: its rewriter (offline table, personal and "
            "global layers) runs before matching."
        ),
    ] = None,
    user: Annotated[str | None, typer.Option(help="The speaker's user id.")] = None,
) -> None:
    """Run the reference assistant; print every stage's output as JSON, one line per request."""
    from selflearn.assistant import Assistant, Home
    from selflearn.logs.io import write_jsonl
    from selflearn.rewrite import Rewriter

    rewriter = Rewriter.load(artefacts, layers=_layers(artefacts)) if artefacts else None
    bot = Assistant.create(Home.from_yaml(home) if home else None, speech=speech, rewriter=rewriter)
    rng = random.Random(seed)
    if text is not None and text != "-":
        lines = [text]
    else:
        lines = [ln.strip() for ln in sys.stdin if ln.strip()]
    events = []
    for line in lines:
        turn = bot.handle(line, device_id=device, rng=rng, user_id=user)
        events.append(turn.event)
        _emit(turn.stages())
    if log is not None:
        write_jsonl(events, log, append=True)


def _default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _sources(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise SelflearnError(
            f"--sources must be three comma-separated weights (templates,rules,real); got {text!r}"
        )
    return (values[0], values[1], values[2])


def _progress(label: str, quiet: bool) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=True,
    )


def _per_arm(progress: Progress) -> Callable[[str, int, int], None]:
    """A progress callback keeping one bar per A/B arm (``step(arm, done, total)``)."""
    tasks: dict[str, TaskID] = {}

    def step(arm: str, done: int, total: int) -> None:
        if arm not in tasks:
            tasks[arm] = progress.add_task(arm, total=total)
        progress.update(tasks[arm], completed=done, description=arm)

    return step


def _load_turns(logs: list[Path]) -> pa.Table:
    from selflearn.logs.io import read_turns

    turns, rejected = read_turns(logs)
    for rejection in rejected[:20]:
        err.print(f"[yellow]skipped[/] {rejection}", markup=True, highlight=False, soft_wrap=True)
    if len(rejected) > 20:
        err.print(f"… and {len(rejected) - 20} more invalid lines skipped")
    if turns.num_rows == 0:
        raise SelflearnError("no valid turns in " + ", ".join(map(str, logs)))
    return turns


@app.command()
def simulate(
    users: Annotated[int, typer.Option(help="Simulated users (households of 1-5).")] = 200,
    days: Annotated[int, typer.Option(help="Days to simulate.")] = 14,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives identical logs.")] = 0,
    start_day: Annotated[int, typer.Option(help="First day (held-out periods start later).")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for turns.jsonl and truth.jsonl.")] = Path(
        "selflearn-data/sim"
    ),
    workers: Annotated[int, typer.Option(help="Processes (households run in parallel).")] = 0,
    noise_scale: Annotated[
        float, typer.Option(help="Multiplies every speaker's recognition noise.")
    ] = 1.0,
    false_wakes_per_hour: Annotated[
        float, typer.Option(help="False wakes per device-hour.")
    ] = 0.025,
    confirm_rate: Annotated[
        float, typer.Option(help='How often the assistant asks "did I get that right?".')
    ] = 0.08,
    sources: Annotated[
        str, typer.Option(help="Phrasing source weights: templates,rules,real.")
    ] = "0.9,0.06,0.04",
    real_data: Annotated[
        Path | None, typer.Option(help="Folder with hwu64/ and slurp/ (default ../shared/data).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Simulate households using the assistant: the turn log and, beside it, the ground truth."""
    from selflearn.sim import ReactionConfig, SimConfig, Simulator

    config = SimConfig(
        users=users,
        days=days,
        start_day=start_day,
        seed=seed,
        workers=workers or _default_workers(),
        noise_scale=noise_scale,
        false_wakes_per_hour=false_wakes_per_hour,
        sources=_sources(sources),
        reactions=ReactionConfig(confirm_rate=confirm_rate),
        real_data=real_data,
    )
    sim = Simulator(config)
    err.print(f"real phrasings: {sim.real_source}", highlight=False)
    start = time.perf_counter()
    with _progress("households", quiet) as progress:
        task = progress.add_task("households", total=None)
        summary = sim.write(
            out / "turns.jsonl",
            out / "truth.jsonl",
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    elapsed = time.perf_counter() - start
    table = Table(title="failure points (ground truth)")
    table.add_column("failure point")
    table.add_column("turns", justify="right")
    table.add_column("share", justify="right")
    for point, count in summary["failure_points"].items():
        table.add_row(point, str(count), f"{count / max(summary['turns'], 1):.1%}")
    err.print(table)
    _emit(
        {
            **summary,
            "users": users,
            "days": days,
            "seconds": round(elapsed, 1),
            "turns_per_s": round(summary["turns"] / max(elapsed, 1e-9), 1),
            "log": str(out / "turns.jsonl"),
            "truth": str(out / "truth.jsonl"),
        }
    )


@app.command()
def learn(
    logs: Annotated[
        list[Path],
        typer.Argument(
            help="Turn logs (.jsonl/.parquet, a folder of them or a partitioned Parquet dataset)"
            " or a .duckdb store."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder for the learned artefacts.")] = Path(
        "selflearn-data/artefacts"
    ),
    min_support: Annotated[
        int, typer.Option(help="Rewrites: transitions from source to reformulation, at least.")
    ] = 2,
    min_users: Annotated[int, typer.Option(help="Rewrites: distinct users, at least.")] = 2,
    min_score: Annotated[
        float, typer.Option(help="Rewrites: the reformulation's success probability, at least.")
    ] = 0.7,
    min_margin: Annotated[
        float, typer.Option(help="Rewrites: how far above the source's own success rate.")
    ] = 0.4,
    personal: Annotated[bool, typer.Option(help="Mine each user's own chain too.")] = True,
    global_places: Annotated[
        bool, typer.Option(help="Let a global rewrite add a room the user did not say.")
    ] = True,
    rephrase_model: Annotated[
        bool, typer.Option(help="Train the contextual rephrase model (needs torch).")
    ] = True,
    online: Annotated[
        bool, typer.Option(help="Build the online rewriter's index and train its rankers.")
    ] = True,
    target_precision: Annotated[
        float,
        typer.Option(help="Online rankers: held-out precision each layer's threshold keeps."),
    ] = 0.92,
    annotations: Annotated[
        Path | None,
        typer.Option(help="Labelled turns (selflearn annotate): trains the dialogue model."),
    ] = None,
    threads: Annotated[
        int, typer.Option(help="Online learning: threads for encoding and the rankers.")
    ] = 2,
    engine: Annotated[
        str,
        typer.Option(help="Where the log-sized steps run: duckdb (embedded) or spark."),
    ] = "duckdb",
    master: Annotated[
        str,
        typer.Option(help="Spark's master: local[2], local-cluster[2,1,1024], spark://host:port."),
    ] = "local[2]",
    memory_limit: Annotated[
        str | None,
        typer.Option(help="DuckDB's memory before it spills to disk (8GB); default 80 % of RAM."),
    ] = None,
) -> None:
    """Read the turn log and write what is learned from it (signals and every learner)."""
    from selflearn.engine import EngineConfig
    from selflearn.learn import learn as run_learn
    from selflearn.rewrite.markov import MarkovConfig
    from selflearn.rewrite.ranker import RankerConfig

    if not 0.5 <= target_precision < 1.0:
        raise SelflearnError(f"--target-precision must be in [0.5, 1); got {target_precision}")
    if threads < 1:
        raise SelflearnError(f"--threads must be at least 1; got {threads}")
    steps = EngineConfig(name=engine, master=master, memory_limit=memory_limit)

    config = MarkovConfig(
        min_support=min_support,
        min_users=min_users,
        min_score=min_score,
        min_margin=min_margin,
        personal=personal,
        global_may_add_place=global_places,
    )
    labels = None
    if annotations is not None:
        from selflearn.dialogue import read_labels

        labels = read_labels(annotations)
    turns = _load_turns(logs)
    with err.status("learning") as status:
        summary = run_learn(
            turns,
            out,
            markov=config,
            rephrase_model=rephrase_model,
            online=online,
            ranker=RankerConfig(target_precision=target_precision, threads=threads),
            progress=status.update,
            annotations=labels,
            engine=steps,
        )
    _emit(summary)


@app.command()
def annotate(
    logs: Annotated[
        list[Path], typer.Argument(help="Turn logs (.jsonl/.parquet) or a .duckdb store.")
    ],
    out: Annotated[Path, typer.Option(help="The file to write (JSON lines).")],
    n: Annotated[int, typer.Option(help="How many turns to label.")] = 2000,
    truth: Annotated[
        Path | None,
        typer.Option(help="Simulator ground truth: write its labels as one annotator would."),
    ] = None,
    error_rate: Annotated[
        float, typer.Option(help="With --truth: the annotator's error rate per field.")
    ] = 0.08,
    seed: Annotated[int, typer.Option(help="Which turns are picked, and which labels slip.")] = 0,
) -> None:
    """Pick turns for people to label (70 % among those that look defective): writes them
    with empty label fields to fill in; with --truth, the labels a single annotator would
    give (the simulator's truth, each field wrong with --error-rate)."""
    from selflearn.dialogue import (
        flat_turns,
        pick_for_annotation,
        simulated_annotations,
        write_labels,
    )
    from selflearn.signals import read_truth

    if n < 1:
        raise SelflearnError(f"--n must be at least 1; got {n}")
    if not 0.0 <= error_rate < 1.0:
        raise SelflearnError(f"--error-rate must be in [0, 1); got {error_rate}")
    rows = flat_turns(_load_turns(logs))
    picked = pick_for_annotation(rows, n, seed=seed)
    if truth is not None:
        labels = simulated_annotations(
            read_truth(truth).values(), picked, error_rate=error_rate, seed=seed
        )
    else:
        by_id = {r["turn_id"]: r for r in rows}
        labels = [
            {
                "turn_id": t,
                "request": by_id[t]["text"],
                "response": by_id[t]["response_text"],
                "status": by_id[t]["status"],
                "failure_point": None,
                "defect": None,
                "goal_start": None,
                "goal_success": None,
                "intent": None,
                "slots": None,
            }
            for t in picked
        ]
    write_labels(labels, out)
    _emit({"turns": len(rows), "picked": len(picked), "labels": len(labels), "out": str(out)})


def _dialogue_run(
    logs: list[Path],
    artefacts: Path,
    label: str,
    out: Path,
    make_table: Callable[[TurnFeatures, Predictions], pa.Table],
) -> tuple[Predictions, dict[str, object]]:
    """Run the dialogue model over the logs, write ``make_table``'s table to ``out``; the
    predictions and the command's summary so far."""
    from selflearn.dialogue.labeler import load_dialogue_model, predict_log, write_table

    started = time.perf_counter()
    model = load_dialogue_model(artefacts)
    turns = _load_turns(logs)
    with _progress(label, False) as bar:
        task = bar.add_task(f"{label}: encoding texts", total=None)
        features, predictions = predict_log(
            turns, model, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    table = make_table(features, predictions)
    write_table(table, out)
    return predictions, {
        "turns": table.num_rows,
        "out": str(out),
        "turns_per_s": round(table.num_rows / (time.perf_counter() - started), 1),
    }


@app.command()
def isolate(
    logs: Annotated[
        list[Path], typer.Argument(help="Turn logs (.jsonl/.parquet) or a .duckdb store.")
    ],
    out: Annotated[
        Path, typer.Option(help="Per-turn failure points (.parquet, or JSON lines).")
    ] = Path("selflearn-data/failure_points.jsonl"),
    artefacts: Annotated[Path, typer.Option(help="A `selflearn learn` folder.")] = Path(
        "selflearn-data/artefacts"
    ),
    truth: Annotated[
        Path | None, typer.Option(help="Simulator ground truth: score the failure points.")
    ] = None,
) -> None:
    """Name, for every turn, the first component that failed (false_wake, asr, nlu, entity,
    result) or none, with a confidence; with --truth, the confusion matrix."""
    from selflearn.dialogue.labeler import failure_point_table

    predictions, summary = _dialogue_run(
        logs, artefacts, "isolate", out, lambda _, p: failure_point_table(p)
    )
    if truth is not None:
        from selflearn.dialogue.metrics import against_truth
        from selflearn.dialogue.view import confusion_table
        from selflearn.signals import read_truth

        scores = against_truth(predictions, read_truth(truth))
        err.print(confusion_table(scores))
        summary["failure_point"] = scores["failure_point"]
    _emit(summary)


@app.command()
def label(
    logs: Annotated[
        list[Path], typer.Argument(help="Turn logs (.jsonl/.parquet) or a .duckdb store.")
    ],
    out: Annotated[Path, typer.Option(help="Generated labels (.parquet, or JSON lines).")] = Path(
        "selflearn-data/labels.jsonl"
    ),
    artefacts: Annotated[Path, typer.Option(help="A `selflearn learn` folder.")] = Path(
        "selflearn-data/artefacts"
    ),
    truth: Annotated[
        Path | None,
        typer.Option(help="Simulator ground truth: score the labels beside one annotator's."),
    ] = None,
    error_rate: Annotated[
        float, typer.Option(help="With --truth: the annotator's error rate per field.")
    ] = 0.08,
) -> None:
    """Generate labels for every turn — defect, goal start, goal success, intent, slots —
    each with a confidence; with --truth, F1 beside a single annotator's and precision by
    coverage."""
    from selflearn.dialogue.labeler import label_table

    predictions, summary = _dialogue_run(logs, artefacts, "label", out, label_table)
    if truth is not None:
        from selflearn.dialogue.metrics import against_truth
        from selflearn.dialogue.view import coverage_table, goal_table
        from selflearn.signals import read_truth

        scores = against_truth(predictions, read_truth(truth), error_rate=error_rate)
        err.print(goal_table(scores))
        annotator = {
            "failure_point": scores["annotator_failure_point_accuracy"],
            "goal_start": scores["goal_start"]["annotator_accuracy"],
            "goal_success": scores["goal_success"]["annotator_accuracy"],
        }
        err.print(coverage_table(scores, annotator))
        summary["scores"] = scores
    _emit(summary)


@app.command()
def rewrite(
    text: Annotated[str, typer.Argument(help="An utterance as the recogniser heard it.")],
    user: Annotated[str | None, typer.Option(help="The speaker's user id.")] = None,
    artefacts: Annotated[Path, typer.Option(help="A `selflearn learn` folder.")] = Path(
        "selflearn-data/artefacts"
    ),
    device: Annotated[
        str | None,
        typer.Option(help="The voice device that heard it (with --home: its room and states)."),
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option(
            help="A home YAML file: also show what the reference assistant does before and "
            "after (`default` for the shipped home)."
        ),
    ] = None,
    area: Annotated[str | None, typer.Option(help="The room it was said in.")] = None,
    layer: Annotated[
        list[str] | None,
        typer.Option(help="Layers to use: offline, global, personal (repeatable; default all)."),
    ] = None,
    preferences: Annotated[
        Path,
        typer.Option(help="What users taught (`selflearn teach`): applied first, if it exists."),
    ] = DEFAULT_PREFERENCES,
) -> None:
    """Show what the learned rewriter does with one utterance. Works on artefacts learned
    from any assistant's log; with --home, also what the reference assistant then does."""
    from selflearn.rewrite import Rewriter, RewriteRequest
    from selflearn.teach import PreferenceStore, with_preferences

    learned = Rewriter.load(artefacts, layers=tuple(layer) if layer else _layers(artefacts))
    rewriter = (
        with_preferences(learned, PreferenceStore.open(preferences))
        if preferences.is_file()
        else learned
    )
    bot = None
    device_type = None
    states: dict[str, str] = {}
    if home is not None:
        from selflearn.assistant import Assistant, Home

        bot = Assistant.create(None if str(home) == "default" else Home.from_yaml(home))
        device = device or "satellite.kitchen"
        spoken_to = bot.home.device(device)
        if spoken_to is None:
            known = ", ".join(d.id for d in bot.home.devices)
            raise SelflearnError(f"--device {device!r}: not in the home; one of {known}")
        area = bot.home.area_name(spoken_to.area)
        device_type = spoken_to.type
        states = {e.id: e.state for e in bot.home.entities if e.area == spoken_to.area}
    now = datetime.now()
    context: dict[str, object] = {
        "area": area,
        "local_time": f"{now:%H:%M}",
        "weekday": now.weekday(),
        **({"device_states": states} if bot is not None else {}),
    }
    request = RewriteRequest(text, user, device, device_type, area, context)
    decision = rewriter.rewrite(request)

    def outcome(utterance: str) -> dict[str, object] | None:
        if bot is None:
            return None
        done = bot.preview(utterance, device_id=device or "", ts=time.time())
        return {
            "text": utterance,
            "intent": done.nlu.intent,
            "slots": done.nlu.slots,
            "status": done.action.status,
            "response": done.action.text,
        }

    before = outcome(text)
    after = outcome(decision.target) if decision else None
    if decision is None:
        err.print(f"no rewrite for {text!r}: it passes through unchanged", highlight=False)
    else:
        err.print(
            f"{decision.source!r} → {decision.target!r} ({decision.method} {decision.layer}, "
            f"score {decision.score:.3f}, support {decision.support})",
            highlight=False,
        )
    _emit(
        {
            "text": text,
            "rewrite": decision.as_event() if decision else None,
            "method": decision.method if decision else None,
            "before": before,
            "after": after,
            "fail_opens": int(getattr(rewriter, "fail_opens", 0)),
        }
    )


@app.command()
def teach(
    user: Annotated[str, typer.Argument(help="The user id the preference belongs to.")],
    text: Annotated[
        str | None,
        typer.Argument(
            help='What the user said: a preference ("I\'m a Warriors fan", "by the big light I '
            'mean the ceiling light") or a command ("forget that", "what do you know about me").'
        ),
    ] = None,
    preferences: Annotated[
        Path, typer.Option(help="The preference file (created if missing).")
    ] = DEFAULT_PREFERENCES,
    list_all: Annotated[
        bool, typer.Option("--list", help="Print what this user taught, with provenance.")
    ] = False,
    forget: Annotated[bool, typer.Option(help="Forget everything this user taught.")] = False,
    turn_id: Annotated[
        str | None, typer.Option(help="The turn the statement came from (provenance).")
    ] = None,
) -> None:
    """Teach a preference for USER, forget them, or list what they taught. Last line: JSON."""
    from selflearn.teach import PreferenceStore, Teacher

    store = PreferenceStore.open(preferences)
    if forget:
        gone = store.forget_user(user)
        err.print(f"forgot {gone} preference(s) of {user}", highlight=False)
        _emit({"user_id": user, "forgot": gone})
        return
    if not list_all:
        if not text:
            raise SelflearnError("give what the user said, or --list, or --forget")
        reply = Teacher(store).hear(text, user_id=user, ts=time.time(), turn_id=turn_id)
        if reply is None:
            raise SelflearnError(
                f"{text!r} is not a preference or a teaching command; nothing was stored "
                '(try "I like jazz", "by the big light I mean the ceiling light")'
            )
        err.print(reply.text, highlight=False)
    known = [p.to_dict() for p in store.of(user)]
    if list_all:
        for row in known:
            err.print(
                f"{row['kind']:>7}  {row['key'] or '':<20} {row['value']:<30} "
                f"{'' if row['like'] else '(dislike) '}from {row['turn_id'] or row['source']}",
                highlight=False,
            )
    _emit({"user_id": user, "preferences": known})


@app.command()
def serve(
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the store, preferences and artefacts live.")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default loopback).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8321).")] = None,
    learn_after: Annotated[
        int | None, typer.Option(help="Re-learn after this many new events (0: never).")
    ] = None,
    learn_every: Annotated[
        float | None, typer.Option(help="Re-learn this often, in seconds (0: never).")
    ] = None,
    learn_engine: Annotated[
        str | None, typer.Option(help="Where learning runs' log-sized steps run: duckdb or spark.")
    ] = None,
    spark_master: Annotated[
        str | None, typer.Option(help="Spark's master for --learn-engine spark.")
    ] = None,
) -> None:
    """Run the HTTP service. Settings also come from SELFLEARN_* variables (SELFLEARN_TOKEN:
    the bearer token for write and admin routes; without one, a token is generated in the
    data folder)."""
    try:
        import uvicorn

        from selflearn.service.app import create_app
        from selflearn.service.settings import ServiceSettings
    except ImportError:
        raise SelflearnError(
            "the service needs the serve extra: pip install 'selflearn[serve]'"
        ) from None
    settings = ServiceSettings.from_env(
        data_dir=data_dir,
        host=host,
        port=port,
        learn_after_events=learn_after,
        learn_every_s=learn_every,
        learn_engine=learn_engine,
        spark_master=spark_master,
    )
    err.print(
        f"selflearn service on http://{settings.host}:{settings.port} (data in {settings.data_dir}; "
        f"rewrite {'needs' if settings.rewrite_needs_token else 'does not need'} a token)",
        highlight=False,
    )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


@app.command()
def restore(
    data_dir: Annotated[Path, typer.Option(help="The service's data folder.")] = Path(
        "selflearn-data/service"
    ),
) -> None:
    """Serve the previous artefact version again (a running service picks it up on restart;
    POST /v1/admin/restore switches a running one)."""
    from selflearn.service.versions import ArtefactVersions

    versions = ArtefactVersions(data_dir / "artefacts")
    before = versions.current()
    name = versions.restore()
    err.print(f"serving {name} (was {before})", highlight=False)
    _emit({"version": name, "was": before})


def _layers(artefacts: Path) -> tuple[str, ...]:
    from selflearn.rewrite.rewriter import available_layers

    return available_layers(artefacts)


@app.command(name="signals")
def signals_quality(
    logs: Annotated[
        list[Path], typer.Argument(help="Turn logs (.jsonl/.parquet) or a .duckdb store.")
    ],
    truth: Annotated[Path, typer.Option(help="The simulator's ground truth (truth.jsonl).")],
    model: Annotated[
        Path | None,
        typer.Option(
            help="A `selflearn learn` folder: its rephrase model beside the restatement "
            "model and the heuristic."
        ),
    ] = None,
) -> None:
    """Compute the signals and print their precision and recall against ground truth."""
    from selflearn.signals import (
        HeuristicRephraseDetector,
        compute_signals,
        read_truth,
        signal_quality,
    )
    from selflearn.signals.span import SpanRephraseModel

    turns = _load_turns(logs)
    answers = read_truth(truth)
    detectors: dict[str, object] = {
        "restatement model": None,  # the default: pre-trained, shipped
        "heuristic": HeuristicRephraseDetector(),
    }
    if model is not None:
        detectors["span model"] = SpanRephraseModel(model)
    results = {}
    for name, detector in detectors.items():
        with err.status(f"signals ({name}) over {turns.num_rows:,} turns"):
            started = time.perf_counter()
            signals = compute_signals(turns, detector=detector)  # type: ignore[arg-type]
            seconds = time.perf_counter() - started
        results[name] = signal_quality(signals.table, answers)
        results[name]["pairs_per_s"] = round(signals.counts["candidate_pairs"] / seconds, 1)
    table = Table(title="signals against ground truth")
    for column in ("signal", "precision", "recall", "F1 / AUC", "span exact", "… corrections"):
        table.add_column(column, justify="left" if column == "signal" else "right")
    for name, quality in results.items():
        row = quality["rephrase"]
        exact = row["span_exact"]
        table.add_row(
            f"rephrase ({name})",
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            f"{exact:.3f}" if exact is not None else "",
            f"{row['span_exact_corrections']:.3f} of {row['corrections_judged']}",
        )
    quality = results["restatement model"]  # what `selflearn learn` reads a log with
    row = quality["abandoned"]
    table.add_row(
        "abandoned", f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}"
    )
    table.add_row("defect score", "", "", f"AUC {quality['defect_score_auc']:.3f}")
    err.print(table)
    _emit(results)


@app.command()
def evaluate(
    users: Annotated[int, typer.Option(help="Simulated users.")] = 60,
    days: Annotated[int, typer.Option(help="Held-out days to replay.")] = 7,
    start_day: Annotated[
        int, typer.Option(help="First held-out day (after the learning period).")
    ] = 14,
    seed: Annotated[int, typer.Option(help="Seed of the simulated population.")] = 0,
    workers: Annotated[int, typer.Option(help="Processes.")] = 0,
    table: Annotated[
        list[Path] | None, typer.Option(help="A rewrite table to evaluate as an arm (repeatable).")
    ] = None,
    artefacts: Annotated[
        Path | None, typer.Option(help="A `selflearn learn` folder: its rewriters become arms.")
    ] = None,
    identical: Annotated[
        bool, typer.Option(help="Add a second control arm: the harness must show no effect.")
    ] = False,
    harmful: Annotated[
        bool, typer.Option(help="Add an arm rewriting a common working request to a wrong one.")
    ] = False,
    peers: Annotated[
        bool,
        typer.Option(
            help="Add Home Assistant's fallback (hassil + gazetteer-matcher) and selflearn "
            "with it, and print the side-by-side table."
        ),
    ] = False,
    teach: Annotated[
        bool,
        typer.Option(
            help="Add teaching on (users state preferences, the assistant asks at teachable "
            "moments), alone and on top of the learned rewriters; print what it did."
        ),
    ] = False,
    explore: Annotated[
        bool,
        typer.Option(
            help="The exploration A/B over --artefacts: no exploration, exploring (its policy "
            "learned again every night from its own log), and the learned policy; with goal "
            "success where interpretations were held close, exploring's cost and the "
            "off-policy estimate beside the on-policy value."
        ),
    ] = False,
    epsilon: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="--explore: the share explored.")
    ] = 0.2,
    out: Annotated[Path | None, typer.Option(help="Write the evaluation JSON here.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Paired A/B on simulated households: control vs each learned artefact. Last line: JSON."""
    from selflearn.evaluate.runner import evaluate as run_evaluation
    from selflearn.evaluate.runner import save_document
    from selflearn.evaluate.view import (
        arms_table,
        curve_table,
        layers_table,
        peers_table,
        teaching_table,
    )
    from selflearn.sim import SimConfig

    config = SimConfig(
        users=users,
        days=days,
        start_day=start_day,
        seed=seed,
        workers=workers or _default_workers(),
    )
    if explore:
        _evaluate_exploration(config, artefacts, epsilon, out, quiet)
        return
    with _progress("A/B", quiet) as progress:
        step = _per_arm(progress)
        document = run_evaluation(
            config,
            tables=table,
            artefacts=artefacts,
            identical=identical,
            harmful=harmful,
            peers=peers,
            teach=teach,
            progress=step,
        )
    err.print(
        arms_table(
            document["summary"], "A/B (change vs control, 95 % bootstrap interval over households)"
        )
    )
    err.print(layers_table(document["summary"], "rewrites by layer"))
    if document["curve"]:
        err.print(curve_table(document["curve"], "precision against coverage, by support"))
    if document["peers"]:
        err.print(peers_table(document["peers"], "peers on the same traffic"))
    if document["teaching"]:
        err.print(
            teaching_table(document["teaching"], "teaching: requests only the user can explain")
        )
    if out is not None:
        save_document(document, out)
    _emit(document["summary"])


def _evaluate_exploration(
    config: SimConfig, artefacts: Path | None, epsilon: float, out: Path | None, quiet: bool
) -> None:
    from selflearn.evaluate.explore_ab import run_explore_ab, save
    from selflearn.evaluate.view import arms_table, explore_table
    from selflearn.rewrite.explore import ExploreConfig

    if artefacts is None:
        raise SelflearnError("--explore needs --artefacts (a `selflearn learn` folder)")
    with _progress("exploration A/B", quiet) as progress:
        step = _per_arm(progress)
        document = run_explore_ab(
            config,
            artefacts,
            ExploreConfig(epsilon=epsilon),
            progress=step,
        )
    err.print(arms_table(document, "exploration A/B (change vs no exploration, 95 % interval)"))
    err.print(explore_table(document, "where interpretations were held close"))
    if out is not None:
        save(document, out)
    _emit({k: document[k] for k in ("arms", "held_close", "wrong_actions", "cost", "policy")})


@app.command()
def report(
    logs: Annotated[
        list[Path], typer.Argument(help="Turn logs (.jsonl/.parquet) or a .duckdb store.")
    ],
    artefacts: Annotated[
        Path | None,
        typer.Option(
            help="A `selflearn learn` folder: what was learned, and what it now does with each "
            "failing request (default: selflearn-data/artefacts, if it exists)."
        ),
    ] = None,
    days: Annotated[
        int, typer.Option(min=0, help="The period: the log's last N days (0: the whole log).")
    ] = 7,
    preferences: Annotated[
        Path, typer.Option(help="What users taught (`selflearn teach`), if it exists.")
    ] = DEFAULT_PREFERENCES,
    truth: Annotated[
        Path | None, typer.Option(help="Ground truth, if the log is simulated.")
    ] = None,
    signals: Annotated[
        Path | None,
        typer.Option(
            help="signals.parquet (default: the artefacts folder's, else computed from the log)."
        ),
    ] = None,
    evaluation: Annotated[
        Path | None,
        typer.Option(help="Evaluation JSON from `selflearn evaluate`: adds the A/B sections."),
    ] = None,
    failure_points: Annotated[
        Path | None,
        typer.Option(
            help="Per-turn failure points from `selflearn isolate` (default: the artefacts' "
            "dialogue model names them, if it has one)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Where to write the HTML.")] = Path(
        "selflearn-data/report.html"
    ),
) -> None:
    """Write the self-contained HTML report (opens offline): what failed in the period, what
    was learned, what is now rewritten and what still fails, and why."""
    from selflearn.dialogue.annotate import read_failure_points
    from selflearn.learn import SIGNALS_FILE
    from selflearn.report import write_report
    from selflearn.signals import Signals, compute_signals, read_truth
    from selflearn.teach import PreferenceStore

    if artefacts is None and DEFAULT_ARTEFACTS.is_dir():
        artefacts = DEFAULT_ARTEFACTS
    if artefacts is not None and not artefacts.is_dir():
        raise SelflearnError(f"{artefacts}: no such artefacts folder (run selflearn learn)")
    turns = _load_turns(logs)
    if signals is None and artefacts is not None and (artefacts / SIGNALS_FILE).is_file():
        signals = artefacts / SIGNALS_FILE
    table = Signals.load(signals).table if signals else compute_signals(turns).table
    document = None
    if evaluation is not None:
        if not evaluation.is_file():
            raise SelflearnError(f"{evaluation}: no such evaluation file")
        try:
            document = json.loads(evaluation.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SelflearnError(f"{evaluation}: not JSON ({exc.msg})") from None
    points = read_failure_points(failure_points) if failure_points else None
    if points is None and artefacts is not None and (artefacts / "dialogue").is_dir():
        from selflearn.dialogue.labeler import isolate_log

        points = isolate_log(turns, artefacts)
    taught = list(PreferenceStore.open(preferences)) if preferences.is_file() else []
    path = write_report(
        out,
        turns=turns,
        truth=read_truth(truth) if truth else None,
        signals=table,
        evaluation=document,
        failure_points=points,
        artefacts=artefacts,
        preferences=taught,
        days=days,
    )
    _emit({"report": str(path), "turns": turns.num_rows, "artefacts": str(artefacts)})


@app.command()
def demo(
    users: Annotated[int, typer.Option(help="Simulated users.")] = 60,
    days: Annotated[int, typer.Option(help="Baseline days to learn from.")] = 7,
    eval_days: Annotated[int, typer.Option(help="Held-out days for the A/B.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    workers: Annotated[int, typer.Option(help="Processes.")] = 0,
    data_dir: Annotated[Path, typer.Option(help="Where the demo writes its files.")] = Path(
        "selflearn-data/demo"
    ),
) -> None:
    """The whole loop on the embedded default: simulate, store, learn, A/B, report."""
    from selflearn.demo import run_demo

    run_demo(
        users=users,
        days=days,
        eval_days=eval_days,
        seed=seed,
        workers=workers or _default_workers(),
        data_dir=data_dir,
        console=err,
        emit=_emit,
    )


wyoming_app = typer.Typer(
    help="selflearn in Wyoming pipelines: a speech-to-text proxy, a conversation proxy, and "
    "the reference assistant as an intent service.",
    no_args_is_help=True,
)
app.add_typer(wyoming_app, name="wyoming")

_Upstream = Annotated[
    str, typer.Option(help="The upstream Wyoming service (tcp://host:port or unix://path).")
]
_Artefacts = Annotated[
    Path | None, typer.Option(help="Rewrite in process with these learned artefacts.")
]
_Service = Annotated[
    str | None, typer.Option(help="Rewrite through this selflearn service (http://host:port).")
]
_Token = Annotated[
    str | None, typer.Option(envvar="SELFLEARN_TOKEN", help="The service's bearer token.")
]
_Log = Annotated[
    Path | None,
    typer.Option(help="With --artefacts: append the turns to this turn log (JSON Lines)."),
]
_Budget = Annotated[int, typer.Option(help="Rewrite budget in ms; past it the words go on.")]
_Device = Annotated[str | None, typer.Option(help="The device id the turns are logged under.")]
_Area = Annotated[str | None, typer.Option(help="The room of that device.")]


@wyoming_app.command("asr")
def wyoming_asr(
    upstream: _Upstream,
    uri: Annotated[str, typer.Option(help="Where to listen.")] = "tcp://127.0.0.1:10310",
    artefacts: _Artefacts = None,
    service: _Service = None,
    token: _Token = None,
    log: _Log = None,
    budget_ms: _Budget = 50,
    device: _Device = None,
    area: _Area = None,
    log_turns: Annotated[
        bool,
        typer.Option(help="Log each transcript as a turn (off when a conversation proxy logs)."),
    ] = True,
) -> None:
    """A speech-to-text proxy: the upstream recogniser's transcripts, rewritten."""
    from selflearn.wyoming import AsrProxy

    _serve_proxy(
        lambda source: AsrProxy(
            upstream, source, device_id=device or "wyoming-asr", area=area, log_turns=log_turns
        ),
        f"selflearn speech-to-text proxy on {uri} → {upstream}",
        uri,
        artefacts=artefacts,
        service=service,
        token=token,
        log=log,
        budget_ms=budget_ms,
    )


@wyoming_app.command("conversation")
def wyoming_conversation(
    upstream: _Upstream,
    uri: Annotated[str, typer.Option(help="Where to listen.")] = "tcp://127.0.0.1:10311",
    artefacts: _Artefacts = None,
    service: _Service = None,
    token: _Token = None,
    log: _Log = None,
    budget_ms: _Budget = 50,
    device: _Device = None,
    area: _Area = None,
) -> None:
    """A conversation proxy in front of another Wyoming intent or handle service."""
    from selflearn.wyoming import ConversationProxy

    _serve_proxy(
        lambda source: ConversationProxy(
            upstream, source, device_id=device or "wyoming-conversation", area=area
        ),
        f"selflearn conversation proxy on {uri} → {upstream}",
        uri,
        artefacts=artefacts,
        service=service,
        token=token,
        log=log,
        budget_ms=budget_ms,
    )


def _serve_proxy(
    make: Callable[[Source], AsrProxy | ConversationProxy],
    banner: str,
    uri: str,
    *,
    artefacts: Path | None,
    service: str | None,
    token: str | None,
    log: Path | None,
    budget_ms: int,
) -> None:
    from selflearn.wyoming.serve import make_source, run_server

    source = make_source(
        artefacts=artefacts, service=service, token=token, log=log, budget_s=budget_ms / 1000
    )
    proxy = make(source)
    err.print(banner, highlight=False)
    try:
        run_server(uri, proxy.handler)
    finally:
        source.close()


@wyoming_app.command("assistant")
def wyoming_assistant(
    uri: Annotated[str, typer.Option(help="Where to listen.")] = "tcp://127.0.0.1:10312",
    home: Annotated[
        Path | None, typer.Option(help="A home YAML file (default: the shipped home).")
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="The home's voice device requests are heard by.")
    ] = None,
) -> None:
    """The reference assistant (hassil over Home Assistant's intents) as a Wyoming intent
    and handle service."""
    from selflearn.assistant import Assistant, Home
    from selflearn.wyoming import AssistantService
    from selflearn.wyoming.serve import run_server

    bot = Assistant.create(Home.from_yaml(home) if home else None, speech=False)
    if device is not None and bot.home.device(device) is None:
        known = ", ".join(d.id for d in bot.home.devices)
        raise SelflearnError(f"--device {device!r}: not in the home; one of {known}")
    served = AssistantService(bot, device)
    err.print(f"reference assistant as a Wyoming service on {uri}", highlight=False)
    run_server(uri, served.handler)


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
