"""The shipped speech channel matches real recogniser error rates on the same sentences."""

from __future__ import annotations

from collections import defaultdict

from selflearn.assistant import SpeechChannel
from selflearn.assistant.calibrate import error_stats, length_bucket, load_pairs, simulate
from tests.conftest import shared_file


def test_word_error_rate_within_25_percent_of_slurp_at_every_length() -> None:
    pairs = load_pairs(shared_file("slurp/asr_pairs_dev.jsonl"))
    simulated = simulate(SpeechChannel.fitted(), [p.reference for p in pairs], seed=11)
    groups: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = defaultdict(
        lambda: ([], [])
    )
    for pair, (_, heard) in zip(pairs, simulated, strict=True):
        real, ours = groups[length_bucket(pair.reference)]
        real.append((pair.reference, pair.hypothesis))
        ours.append((pair.reference, heard))
    for bucket, (real, ours) in sorted(groups.items()):
        real_wer, our_wer = error_stats(real).wer, error_stats(ours).wer
        print(f"{bucket:>4} words: SLURP WER {real_wer:.3f}  channel {our_wer:.3f}")
        assert abs(our_wer - real_wer) / real_wer <= 0.25, bucket
