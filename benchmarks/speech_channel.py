"""Speech channel calibration, side by side with real recogniser output (SLURP).

Run: .venv/bin/python benchmarks/speech_channel.py [--pairs PATH] [--fit]
Prints word error rate, sentence error rate, the error mix, WER by sentence length
(the channel runs on the very sentences SLURP's speakers said, so lengths match),
and the share of misrecognitions that change the intent. ``--fit`` refits the
channel on the pairs and rewrites the parameters shipped in the package.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from importlib import resources
from pathlib import Path

from _figures import figures_line
from selflearn.assistant import Assistant, Catalogue, Home, SpeechChannel
from selflearn.assistant.calibrate import (
    error_stats,
    fit,
    length_bucket,
    load_pairs,
    simulate,
    write_params,
)
from selflearn.assistant.speech import tokenize
from selflearn.sim.requests import RequestSampler

DEFAULT_PAIRS = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "slurp" / "asr_pairs_dev.jsonl"
)


def channel_intent_change(seed: int, n: int) -> tuple[float, float, int]:
    """Among the channel's misrecognitions of smart-home requests: the share whose intent
    changes under hassil (no match included), and the share read as another intent.
    SLURP's statistical NLU always predicts some intent; hassil's templates do not."""
    home, catalogue = Home.default(), Catalogue.default()
    requests = RequestSampler.from_home(home.copy(), catalogue).sample(random.Random(seed), n)
    bot = Assistant.create(home, catalogue, speech=False)
    channel = SpeechChannel.fitted()
    rng = random.Random(seed)
    changed = other = wrong = 0
    for request in requests:
        area = home.area_name(home.device(request.device_id).area)  # type: ignore[union-attr]
        heard = channel.transcribe(request.text, rng, nbest=1).text
        if heard == " ".join(tokenize(request.text)):
            continue
        wrong += 1
        meant = bot.matcher.match(request.text, area).intent
        got = bot.matcher.match(heard, area).intent
        changed += got != meant
        other += got is not None and got != meant
    return changed / max(wrong, 1), other / max(wrong, 1), wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    parser.add_argument(
        "--fit", action="store_true", help="refit and rewrite the shipped parameters"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="600 pairs: does it run")
    args = parser.parse_args()
    if not args.pairs.exists():
        sys.exit(f"error: {args.pairs}: transcript pairs not found (needs ../shared/data/slurp)")
    pairs = load_pairs(args.pairs)
    if args.smoke:
        if args.fit:
            sys.exit("error: --smoke does not refit the shipped parameters (drop --fit)")
        pairs = pairs[:600]
    if args.fit:
        params, real, ours = fit(pairs, args.seed, progress=lambda m: print(m, file=sys.stderr))
        target = Path(
            str(resources.files("selflearn.assistant").joinpath("data/speech_params.json"))
        )
        write_params(params, real, ours, target, f"{args.pairs.name} ({len(pairs)} recordings)")
        print(f"wrote {target}", file=sys.stderr)

    channel = SpeechChannel.fitted()
    simulated = simulate(channel, [p.reference for p in pairs], args.seed)
    real_pairs = [(p.reference, p.hypothesis) for p in pairs]
    real, ours = error_stats(real_pairs), error_stats(simulated)

    buckets: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = defaultdict(
        lambda: ([], [])
    )
    for (ref, hyp), (_, sim) in zip(real_pairs, simulated, strict=True):
        buckets[length_bucket(ref)][0].append((ref, hyp))
        buckets[length_bucket(ref)][1].append((ref, sim))

    misrecognised = [p for p in pairs if tokenize(p.hypothesis) != tokenize(p.reference)]
    slurp_change = sum(p.pred_intent != p.gold_intent for p in misrecognised) / max(
        len(misrecognised), 1
    )
    ours_change, ours_other, ours_wrong = channel_intent_change(args.seed, 1500)

    print(f"{'':22}{'SLURP':>10}{'channel':>10}")
    rows = [
        ("word error rate", real.wer, ours.wer),
        ("sentence error rate", real.ser, ours.ser),
        ("substitution share", real.shares()[0], ours.shares()[0]),
        ("deletion share", real.shares()[1], ours.shares()[1]),
        ("insertion share", real.shares()[2], ours.shares()[2]),
        ("intent-change share", slurp_change, ours_change),
        ("  to another intent", slurp_change, ours_other),
    ]
    for label, a, b in rows:
        print(f"{label:22}{a:10.3f}{b:10.3f}")
    by_length = {}
    worst = 0.0
    for bucket in ("1-3", "4-6", "7-9", "10+"):
        if bucket not in buckets:
            continue
        r, s = error_stats(buckets[bucket][0]), error_stats(buckets[bucket][1])
        gap = abs(s.wer - r.wer) / max(r.wer, 1e-9)
        worst = max(worst, gap)
        by_length[bucket] = {
            "sentences": r.sentences,
            "slurp_wer": round(r.wer, 4),
            "channel_wer": round(s.wer, 4),
            "relative_gap": round(gap, 3),
        }
        print(
            f"WER, {bucket:>3} words ({r.sentences:4d})   {r.wer:10.3f}{s.wer:10.3f}   gap {gap:.1%}"
        )
    print(
        figures_line(
            {
                "slurp": real.as_dict() | {"intent_change_share": round(slurp_change, 3)},
                "channel": ours.as_dict()
                | {
                    "intent_change_share": round(ours_change, 3),
                    "intent_change_sample": ours_wrong,
                    "changed_to_other_intent_share": round(ours_other, 3),
                },
                "wer_relative_gap": round(abs(ours.wer - real.wer) / real.wer, 3),
                "wer_by_length": by_length,
                "worst_length_gap": round(worst, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
