"""Exploration benchmark: does exploring close interpretations pay, what does it cost, and
does the off-policy estimate of the learned policy agree with serving it?

Learns the rewriter from a burn-in log (``--users`` users over 14 days, seed ``--seed``),
then runs the exploration A/B (``selflearn evaluate --explore``) over the next ``--days``
days of the same households — no exploration; exploring, its policy learned again every
night from its own log — and, on the ``--check-days`` after them, the last night's policy
without exploring beside the same policy exploring (whose log the off-policy estimate reads). Prints the whole A/B's figures,
goal success on the goals where interpretations were held close (with 95 % intervals over
households), exploring's cost against its budget, and the learned policy's on-policy value
beside its off-policy (IPS, SNIPS) estimate from the exploring arm's logged choices.
Last line: JSON.

    python benchmarks/explore.py [--users 60] [--days 14] [--epsilon 0.2] [--novel] [--smoke]
"""

from __future__ import annotations

import argparse
import sys
import time

from rich.console import Console

from _figures import figures_line
from _paths import bench_out
from selflearn.evaluate.explore_ab import run_explore_ab, save
from selflearn.evaluate.view import arms_table, explore_table
from selflearn.learn import learn
from selflearn.logs import read_turns
from selflearn.rewrite.explore import ExploreConfig
from selflearn.sim import SimConfig, Simulator

BURN_IN_DAYS = 14


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--check-days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epsilon", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--novel",
        action="store_true",
        help="users' meanings change when the A/B starts (the other twin town, the other "
        "media class on a display, a new word of their own): unseen by what was learned",
    )
    parser.add_argument("--smoke", action="store_true", help="6 users, 2 days of A/B")
    args = parser.parse_args()
    burn_in = BURN_IN_DAYS
    if args.smoke:
        args.users, args.days, args.check_days, burn_in, args.workers = 6, 2, 1, 3, 1
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    work = bench_out("explore") / f"u{args.users}-s{args.seed}-b{burn_in}"
    ab = work / ("ab-novel" if args.novel else "ab")
    log, truth = work / "burn-in" / "turns.jsonl", work / "burn-in" / "truth.jsonl"
    started = time.perf_counter()
    if not log.is_file():
        say(f"burn-in: {args.users} users over {burn_in} days")
        config = SimConfig(users=args.users, days=burn_in, seed=args.seed, workers=args.workers)
        Simulator(config).write(log, truth, lambda d, n: say(f"  households {d}/{n}"))
    artefacts = work / "artefacts"
    if not (artefacts / "learn.json").is_file():
        turns, _ = read_turns([log])
        learn(turns, artefacts, rephrase_model=False, progress=lambda s: say(f"  learn: {s}"))
    prepared_s = time.perf_counter() - started

    def step(arm: str, done: int, total: int) -> None:
        if done == total:
            say(f"  {arm}: {total} households ({time.perf_counter() - started:.0f} s)")

    config = SimConfig(
        users=args.users,
        days=args.days,
        start_day=burn_in,
        seed=args.seed,
        workers=args.workers,
        novel_from_day=burn_in if args.novel else None,
    )
    explore = ExploreConfig(epsilon=args.epsilon, seed=args.seed)
    document = run_explore_ab(
        config,
        artefacts,
        explore,
        check_days=args.check_days,
        work=ab,
        progress=step,
        resamples=2000,
    )
    save(document, work / "explore.json")
    console = Console(stderr=True, width=140)
    console.print(arms_table(document, "exploration A/B (change vs no exploration, 95 % interval)"))
    console.print(explore_table(document, "where interpretations were held close"))
    held = document["held_close"]
    print(
        figures_line(
            {
                "users": args.users,
                "days": args.days,
                "epsilon": args.epsilon,
                "prepare_s": round(prepared_s, 1),
                "seconds": round(time.perf_counter() - started, 1),
                "arms": {
                    name: {
                        k: fig[k] for k in ("goal_success_rate", "defect_rate", "wrong_action_rate")
                    }
                    | {"change": fig.get("change_vs_control")}
                    for name, fig in document["arms"].items()
                },
                "held_close": held,
                "novel": document["novel"],
                "wrong_actions": document["wrong_actions"],
                "cost": document["cost"],
                "check": {k: document["check"][k] for k in ("held_close", "wrong_actions", "cost")},
                "policy": {
                    side: {
                        reward: {k: v[k] for k in ("ips", "ips_ci", "snips", "snips_ci")}
                        for reward, v in document["policy"][side].items()
                    }
                    for side in ("on_policy", "off_policy")
                },
            }
        )
    )


if __name__ == "__main__":
    main()
