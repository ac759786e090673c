"""Training and running the dialogue model (DESIGN §2 items 7–8). Needs torch.

Two stages, both from the log:

1. **Pre-training without labels**, on every turn: a response swapped in from another
   dialogue must be spotted (``swapped``); the heuristic signals are weak targets — the
   defect score, whether a later turn restated this one, and whether a turn starts a goal
   (it does unless it restates the one before); and sessions are spliced together at
   random, so a goal also starts where another dialogue begins.
2. **Fine-tuning, multi-task,** on the few turns people labelled (``annotate.py``), each
   head on the fields its label gives, with the weak targets kept on at a lower weight.

``DialogueModel.predict`` gives every head's probabilities per turn; the caller keeps a
label where its confidence clears the threshold it chose.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pyarrow as pa
import torch
from torch import nn

from selflearn.dialogue.annotate import FAILURE_POINTS, strata
from selflearn.dialogue.features import (
    CATEGORICAL,
    CONTEXT_NUMERIC,
    NUMERIC,
    TurnFeatures,
    Vocabulary,
    nearest_working,
    turn_features,
    working_requests,
)
from selflearn.dialogue.model import MAX_TURNS, TEXT_DIM, DialogueNet, NetConfig, to_tensor
from selflearn.engine import Engine
from selflearn.errors import DataFileError
from selflearn.learner import Learner, Progress, signals_of
from selflearn.rewrite.encoder import SentenceEncoder

__all__ = [
    "DIALOGUE_DIR",
    "DialogueConfig",
    "DialogueLearner",
    "DialogueModel",
    "Predictions",
    "encode_turns",
    "train_dialogue",
]

MODEL_FILE = "dialogue.pt"
META_FILE = "dialogue.json"
MEMORY_FILE = "dialogue_memory.npy"  # sentence vectors of the requests that worked
_STATUS = CATEGORICAL.index("status")
_RESPONSE_NUMERIC = (NUMERIC.index("response_tokens"), NUMERIC.index("response_s"))
_N_NUMERIC = len(NUMERIC)


@dataclass(frozen=True)
class DialogueConfig:
    net: NetConfig = field(default_factory=NetConfig)
    pretrain: bool = True
    pretrain_epochs: int = 3
    finetune_epochs: int = 16  # passes over the labelled dialogues
    batch: int = 64
    learning_rate: float = 2e-3
    swap_share: float = 0.15  # turns whose response is swapped in pre-training
    splice_share: float = 0.3  # pre-training dialogues spliced to another
    weak_weight: float = 0.3  # the weak targets' weight while fine-tuning
    class_balance: float = 0.5  # failure points weighted by (1 / their label count) ** this
    members: int = 5  # fine-tuned copies of the pre-trained net, their probabilities averaged
    numeric: bool = True  # False: the numbers are withheld (the ablation)
    threads: int = 2
    seed: int = 0


@dataclass
class Predictions:
    """Per-turn probabilities, in the order of the features' turns."""

    turn_ids: list[str]
    failure_point: np.ndarray  # (n, 6)
    defect: np.ndarray  # (n,)
    goal_start: np.ndarray
    goal_success: np.ndarray
    intent: np.ndarray  # (n, intents)
    intents: list[str]

    def failure_points(self) -> tuple[list[str], np.ndarray]:
        best = self.failure_point.argmax(axis=1)
        return [FAILURE_POINTS[i] for i in best], self.failure_point.max(axis=1)


def encode_turns(
    features: TurnFeatures,
    encoder: SentenceEncoder,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """(turns, 768): each turn's request and response vectors; each distinct text once."""
    texts = sorted(set(features.requests) | set(features.responses))
    vectors = encoder.encode(texts, progress=progress)
    row = {t: i for i, t in enumerate(texts)}
    out = np.zeros((len(features), 2 * TEXT_DIM), dtype=np.float32)
    out[:, :TEXT_DIM] = vectors[[row[t] for t in features.requests]]
    out[:, TEXT_DIM:] = vectors[[row[t] for t in features.responses]]
    return out


def _chunks(features: TurnFeatures) -> list[np.ndarray]:
    """Each session's turn indices, cut to MAX_TURNS."""
    out = []
    for a, b in features.sessions():
        for start in range(a, b, MAX_TURNS):
            out.append(np.arange(start, min(start + MAX_TURNS, b)))
    return out


@dataclass
class _Targets:
    failure_point: np.ndarray  # int, -1 unknown
    defect: np.ndarray  # float, nan unknown
    goal_start: np.ndarray
    goal_success: np.ndarray
    intent: np.ndarray  # int, -1 unknown
    weak_defect: np.ndarray
    restated: np.ndarray
    weak_start: np.ndarray

    @classmethod
    def build(
        cls,
        features: TurnFeatures,
        intents: list[str],
        labels: Mapping[str, Mapping[str, Any]],
        signals: pa.Table | None,
    ) -> _Targets:
        n = len(features)
        nan = np.full(n, np.nan, dtype=np.float32)
        t = cls(
            np.full(n, -1, dtype=np.int64),
            nan.copy(),
            nan.copy(),
            nan.copy(),
            np.full(n, -1, dtype=np.int64),
            nan.copy(),
            nan.copy(),
            nan.copy(),
        )
        intent_id = {name: i for i, name in enumerate(intents)}
        for i, turn_id in enumerate(features.turn_ids):
            label = labels.get(turn_id)
            if label is None:
                continue
            if label.get("failure_point") in FAILURE_POINTS:
                t.failure_point[i] = FAILURE_POINTS.index(label["failure_point"])
            for name in ("defect", "goal_start", "goal_success"):
                if label.get(name) is not None:
                    getattr(t, name)[i] = float(label[name])
            if "intent" in label:
                t.intent[i] = intent_id.get(label["intent"] or "<none>", 1)
        if signals is not None:
            by_turn = {r["turn_id"]: r for r in signals.to_pylist()}
            restated = {r["rephrase_of"] for r in by_turn.values() if r["rephrase_of"]}
            for i, turn_id in enumerate(features.turn_ids):
                s = by_turn.get(turn_id)
                if s is None:
                    continue
                t.weak_defect[i] = float(s["defect_score"] or 0.0)
                t.restated[i] = float(turn_id in restated)
                t.weak_start[i] = float(not s["rephrase_of"])
        return t


class DialogueModel:
    """A trained dialogue model with the vocabulary and scaling it was trained with."""

    def __init__(
        self,
        nets: list[DialogueNet],
        vocabulary: Vocabulary,
        mean: np.ndarray,
        scale: np.ndarray,
        config: DialogueConfig,
        known: dict[str, int],
        known_vectors: np.ndarray,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.nets = nets
        self.vocabulary = vocabulary
        self.mean, self.scale = mean, scale
        self.config = config
        self.known, self.known_vectors = known, known_vectors  # requests that worked
        self.info = info or {}

    @property
    def net(self) -> DialogueNet:
        """The first member (the only one of a model that is pre-trained only)."""
        return self.nets[0]

    @property
    def intents(self) -> list[str]:
        return self.vocabulary.values["intent"]

    def _numeric(self, features: TurnFeatures) -> np.ndarray:
        x = (features.numeric - self.mean) / self.scale
        if not self.config.numeric:
            x[:] = 0.0
        elif not self.config.net.context:
            x[:, _N_NUMERIC:] = 0.0  # what the neighbours did is context too
        out: np.ndarray = x.astype(np.float32)
        return out

    def predict(
        self, features: TurnFeatures, vectors: np.ndarray, *, batch: int = 256
    ) -> Predictions:
        """Every head's probabilities for every turn (the members' mean)."""
        for net in self.nets:
            net.eval()
        nearest_working(features, vectors[:, :TEXT_DIM], self.known, self.known_vectors)
        numeric = self._numeric(features)
        n = len(features)
        fp = np.zeros((n, len(FAILURE_POINTS)), dtype=np.float32)
        intent = np.zeros((n, len(self.intents)), dtype=np.float32)
        binary = {
            k: np.zeros(n, dtype=np.float32) for k in ("defect", "goal_start", "goal_success")
        }
        chunks = _chunks(features)
        torch.set_num_threads(self.config.threads)
        share = 1.0 / len(self.nets)
        with torch.inference_mode():
            for start in range(0, len(chunks), batch):
                group = chunks[start : start + batch]
                tensors, index = _batch(group, vectors, features.categorical, numeric)
                valid = tensors[3].numpy()
                rows = index[valid]
                for net in self.nets:
                    out = net(*tensors)
                    fp[rows] += share * torch.softmax(out["failure_point"], -1).numpy()[valid]
                    intent[rows] += share * torch.softmax(out["intent"], -1).numpy()[valid]
                    for name, array in binary.items():
                        array[rows] += share * torch.sigmoid(out[name][..., 0]).numpy()[valid]
        return Predictions(
            features.turn_ids,
            fp,
            binary["defect"],
            binary["goal_start"],
            binary["goal_success"],
            intent,
            self.intents,
        )

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        torch.save([net.state_dict() for net in self.nets], folder / MODEL_FILE)
        np.save(folder / MEMORY_FILE, self.known_vectors)
        meta = {
            "known": self.known,
            "vocabulary": self.vocabulary.values,
            "words": self.vocabulary.words,
            "names": self.vocabulary.names,
            "pairs": self.vocabulary.pairs,
            "shared": self.vocabulary.shared,
            "trouble": self.vocabulary.trouble,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "config": asdict(self.config),
            "features": {"categorical": CATEGORICAL, "numeric": NUMERIC + CONTEXT_NUMERIC},
            "info": self.info,
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: Path) -> DialogueModel:
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
            state = torch.load(folder / MODEL_FILE, weights_only=True)
            known_vectors = np.load(folder / MEMORY_FILE)
        except (OSError, ValueError, RuntimeError) as exc:
            raise DataFileError(f"{folder}: no readable dialogue model ({exc})") from exc
        if meta["features"]["numeric"] != list(NUMERIC + CONTEXT_NUMERIC):
            raise DataFileError(f"{folder}: trained on other features than this version reads")
        raw = meta["config"]
        # settings only training used, from another version, are not needed to run it
        known = {f.name for f in fields(DialogueConfig)} - {"net"}
        net_known = {f.name for f in fields(NetConfig)}
        config = DialogueConfig(
            **{k: v for k, v in raw.items() if k in known},
            net=NetConfig(**{k: v for k, v in raw["net"].items() if k in net_known}),
        )
        vocabulary = Vocabulary(
            meta["vocabulary"],
            meta.get("words", []),
            meta.get("names", []),
            meta.get("pairs", {}),
            meta.get("shared", {}),
            meta.get("trouble", {}),
        )
        nets = []
        for member in state if isinstance(state, list) else [state]:
            net = _net(vocabulary, config)
            net.load_state_dict(member)
            nets.append(net)
        return cls(
            nets,
            vocabulary,
            np.array(meta["mean"], dtype=np.float32),
            np.array(meta["scale"], dtype=np.float32),
            config,
            {str(k): int(v) for k, v in meta["known"].items()},
            known_vectors,
            meta.get("info", {}),
        )


def _net(vocabulary: Vocabulary, config: DialogueConfig) -> DialogueNet:
    sizes = [vocabulary.size(name) for name in CATEGORICAL]
    return DialogueNet(
        sizes, len(NUMERIC) + len(CONTEXT_NUMERIC), vocabulary.size("intent"), config.net
    )


def _batch(
    group: list[np.ndarray],
    vectors: np.ndarray,
    categorical: np.ndarray,
    numeric: np.ndarray,
) -> tuple[tuple[torch.Tensor, ...], np.ndarray]:
    """Padded tensors for a group of turn-index sequences, and the turn index per slot."""
    longest = max(len(g) for g in group)
    index = np.zeros((len(group), longest), dtype=np.int64)
    valid = np.zeros((len(group), longest), dtype=bool)
    for i, g in enumerate(group):
        index[i, : len(g)] = g
        valid[i, : len(g)] = True
    text = vectors[index] * valid[..., None]
    tensors = (
        to_tensor(text.astype(np.float32)),
        to_tensor(categorical[index] * valid[..., None]),
        to_tensor(numeric[index] * valid[..., None]),
        to_tensor(valid),
    )
    return tensors, index


def _mean(losses: torch.Tensor, weights: np.ndarray | None, known: torch.Tensor) -> torch.Tensor:
    if weights is None:
        return losses.mean()
    w = to_tensor(weights.astype(np.float32))[known]
    return (losses * w).sum() / w.sum().clamp(min=1e-6)


def _bce(logits: torch.Tensor, target: np.ndarray, weights: np.ndarray | None = None) -> Any:
    """Mean binary cross-entropy over the known (non-NaN) targets, optionally weighted."""
    t = to_tensor(target.astype(np.float32))
    known = ~torch.isnan(t)
    if not bool(known.any()):
        return logits.sum() * 0.0
    losses = nn.functional.binary_cross_entropy_with_logits(
        logits[..., 0][known], t[known], reduction="none"
    )
    return _mean(losses, weights, known)


def _ce(
    logits: torch.Tensor,
    target: np.ndarray,
    class_weight: torch.Tensor | None = None,
    weights: np.ndarray | None = None,
) -> Any:
    """Mean cross-entropy over the known (>= 0) targets, optionally weighted."""
    t = to_tensor(target)
    known = t >= 0
    if not bool(known.any()):
        return logits.sum() * 0.0
    losses = nn.functional.cross_entropy(
        logits[known], t[known], weight=class_weight, reduction="none"
    )
    return _mean(losses, weights, known)


def _population_weights(features: TurnFeatures, labelled: np.ndarray) -> np.ndarray:
    """Per-turn weights that undo the annotation sample's tilt towards turns that look
    defective (:func:`~selflearn.dialogue.annotate.pick_for_annotation`): each stratum
    weighs what it weighs in the log."""
    stratum = np.array(strata(features.rows))
    weights = np.ones(len(stratum), dtype=np.float32)
    if not labelled.any():
        return weights
    for name in np.unique(stratum):
        in_log = float((stratum == name).mean())
        in_sample = float((stratum[labelled] == name).mean())
        if in_sample > 0:
            weights[stratum == name] = in_log / in_sample
    return weights


def _gather(array: np.ndarray, index: np.ndarray, valid: np.ndarray) -> np.ndarray:
    out: np.ndarray = array[index].copy()
    if out.dtype.kind == "f":
        out[~valid] = np.nan
    else:
        out[~valid] = -1
    return out


def train_dialogue(
    turns: pa.Table,
    labels: Mapping[str, Mapping[str, Any]],
    *,
    signals: pa.Table | None = None,
    config: DialogueConfig | None = None,
    encoder: SentenceEncoder | None = None,
    progress: Callable[[str], None] | None = None,
    prepared: tuple[TurnFeatures, Vocabulary, np.ndarray] | None = None,
    start_from: DialogueModel | None = None,
) -> DialogueModel:
    """Pre-train on every turn of ``turns`` (unless the config says not to), then fine-tune
    on the ``labels`` (turn_id → label; none: pre-training only). ``prepared``: features,
    vocabulary and vectors already computed for ``turns``; ``start_from``: a model already
    pre-trained on them with the same config (experiments train several models on one log)."""
    config = config or DialogueConfig()
    say = progress or (lambda _: None)
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = random.Random(config.seed)
    if prepared is None:
        features, vocabulary = turn_features(turns)
        say(f"{len(features):,} turns in {len(features.starts) - 1:,} sessions; encoding texts")
        vectors = encode_turns(features, encoder or SentenceEncoder(threads=config.threads))
    else:
        features, vocabulary, vectors = prepared
    known, counted = working_requests(features)
    first = {t: i for i, t in reversed(list(enumerate(features.requests)))}
    known_vectors = np.ascontiguousarray(vectors[[first[t] for t in known], :TEXT_DIM])
    nearest_working(features, vectors[:, :TEXT_DIM], known, known_vectors, counted=counted)
    mean = features.numeric.mean(axis=0)
    scale = np.maximum(features.numeric.std(axis=0), 1e-3)
    model = DialogueModel(
        [_net(vocabulary, config)], vocabulary, mean, scale, config, known, known_vectors
    )
    numeric = model._numeric(features)
    targets = _Targets.build(features, model.intents, labels, signals)
    chunks = _chunks(features)
    net = model.net
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=0.01)

    def weak_loss(out: dict[str, torch.Tensor], index: np.ndarray, valid: np.ndarray) -> Any:
        return (
            _bce(out["weak_defect"], _gather(targets.weak_defect, index, valid))
            + _bce(out["restated"], _gather(targets.restated, index, valid))
            + _bce(out["goal_start"], _gather(targets.weak_start, index, valid))
        )

    if start_from is not None:
        net.load_state_dict(start_from.net.state_dict())
    for epoch in range(config.pretrain_epochs if config.pretrain and start_from is None else 0):
        net.train()
        order = list(range(len(chunks)))
        rng.shuffle(order)
        total, steps = 0.0, 0
        for start in range(0, len(order), config.batch * 4):
            group = [chunks[i] for i in order[start : start + config.batch * 4]]
            group = _splice(group, rng, config.splice_share)
            tensors, index = _batch(group, vectors, features.categorical, numeric)
            valid = tensors[3].numpy()
            swapped = _swap(tensors, index, valid, vectors, features, numeric, rng, config)
            out = net(*tensors)
            weak_valid = valid & (swapped == 0)
            starts = _gather(targets.weak_start, index, weak_valid)
            for row, g in enumerate(group):  # a spliced-in dialogue starts a goal
                starts[row, 0] = 1.0
                cut = np.flatnonzero(np.diff(g) != 1)
                starts[row, cut + 1] = 1.0
            swap_target = np.where(valid, swapped.astype(np.float32), np.nan)
            loss = (
                _bce(out["swapped"], swap_target)
                + _bce(out["weak_defect"], _gather(targets.weak_defect, index, weak_valid))
                + _bce(out["restated"], _gather(targets.restated, index, weak_valid))
                + _bce(out["goal_start"], starts)
            )
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimiser.step()
            total, steps = total + float(loss.detach()), steps + 1
        say(f"pre-training epoch {epoch + 1}/{config.pretrain_epochs}: loss {total / steps:.3f}")

    labelled = np.zeros(len(features), dtype=bool)
    labelled[targets.failure_point >= 0] = True
    labelled |= ~np.isnan(targets.defect) | ~np.isnan(targets.goal_start)
    with_labels = [c for c in chunks if labelled[c].any()]
    counts = np.bincount(targets.failure_point[targets.failure_point >= 0], minlength=6)
    class_weight = torch.tensor(
        (counts.sum() / np.maximum(counts, 1) / len(counts)) ** config.class_balance,
        dtype=torch.float32,
    )
    weights = _population_weights(features, labelled)
    say(f"fine-tuning on {int(labelled.sum()):,} labelled turns in {len(with_labels):,} dialogues")
    steps = max(1, config.finetune_epochs * len(with_labels) // config.batch)
    pretrained = {k: v.clone() for k, v in net.state_dict().items()}
    members = []
    for member in range(config.members if with_labels else 0):
        net = _net(vocabulary, config)
        net.load_state_dict(pretrained)
        torch.manual_seed(config.seed * 1000 + member)
        draw = random.Random(config.seed * 1000 + member)
        optimiser = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=0.01)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=config.learning_rate, total_steps=steps
        )
        net.train()
        for step in range(steps):
            group = draw.sample(with_labels, min(config.batch, len(with_labels)))
            tensors, index = _batch(group, vectors, features.categorical, numeric)
            valid = tensors[3].numpy()
            out = net(*tensors)
            w = weights[index]
            loss = (
                _ce(
                    out["failure_point"],
                    _gather(targets.failure_point, index, valid),
                    class_weight,
                    w,
                )
                + _bce(out["defect"], _gather(targets.defect, index, valid), w)
                + _bce(out["goal_start"], _gather(targets.goal_start, index, valid), w)
                + _bce(out["goal_success"], _gather(targets.goal_success, index, valid), w)
                + _ce(out["intent"], _gather(targets.intent, index, valid), weights=w)
                + config.weak_weight * weak_loss(out, index, valid)
            )
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            if (step + 1) % 500 == 0:
                say(
                    f"fine-tuning member {member + 1}/{config.members}, step "
                    f"{step + 1}/{steps}: loss {float(loss.detach()):.3f}"
                )
        net.eval()
        members.append(net)
    if members:
        model.nets = members
    model.net.eval()
    model.info = {
        "turns": len(features),
        "labelled": int(labelled.sum()),
        "failure_point_labels": dict(zip(FAILURE_POINTS, map(int, counts), strict=True)),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return model


DIALOGUE_DIR = "dialogue"  # the model's folder in an artefacts folder


class DialogueLearner(Learner):
    """Learns the dialogue model of a log: pre-trained on every turn, fine-tuned on the
    annotations ``fit`` is given (``labels``: turn_id → label, see
    :mod:`selflearn.dialogue.annotate`); ``predict`` reads every turn of a log; ``save``
    writes ``dialogue/``."""

    name: ClassVar[str] = "dialogue"
    learned: ClassVar[str] = "model_"

    def __init__(self, config: DialogueConfig | None = None) -> None:
        self.config = config
        self.model_: DialogueModel | None = None

    def fit(
        self,
        turns: pa.Table,
        *,
        signals: pa.Table | None = None,
        engine: Engine | None = None,
        progress: Progress | None = None,
        labels: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Self:
        self.model_ = train_dialogue(
            turns,
            labels or {},
            signals=signals_of(turns, signals, engine),
            config=self.config,
            progress=progress,
        )
        return self

    def predict(self, turns: pa.Table) -> Predictions:
        """Every head's probabilities for every turn of ``turns``."""
        model = self._require(self.model_)
        features, _ = turn_features(turns, model.vocabulary)
        vectors = encode_turns(features, SentenceEncoder(threads=model.config.threads))
        return model.predict(features, vectors)

    def save(self, folder: Path) -> Path:
        path = self._require(self.model_).save(folder / DIALOGUE_DIR)
        self._save_params(folder)
        return path

    @classmethod
    def load(cls, folder: Path) -> Self:
        learner = cls(**cls._saved_params(folder))
        learner.model_ = DialogueModel.load(folder / DIALOGUE_DIR)
        return learner

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self._require(self.model_).info)


def _splice(group: list[np.ndarray], rng: random.Random, share: float) -> list[np.ndarray]:
    """Some dialogues followed by another one: a goal starts where the other begins."""
    out = []
    for g in group:
        if rng.random() < share and len(g) < MAX_TURNS:
            other = group[rng.randrange(len(group))]
            g = np.concatenate([g, other[: MAX_TURNS - len(g)]])
        out.append(g)
    return out


def _swap(
    tensors: tuple[torch.Tensor, ...],
    index: np.ndarray,
    valid: np.ndarray,
    vectors: np.ndarray,
    features: TurnFeatures,
    numeric: np.ndarray,
    rng: random.Random,
    config: DialogueConfig,
) -> np.ndarray:
    """Swap some turns' responses for other dialogues' (in place); 1 where swapped."""
    text, categorical, numbers, _ = tensors
    swapped = np.zeros(valid.shape, dtype=np.int64)
    n = len(features)
    for b, t in zip(*np.nonzero(valid), strict=True):
        if rng.random() >= config.swap_share:
            continue
        other = rng.randrange(n)
        if features.responses[other] == features.responses[index[b, t]]:
            continue
        text[b, t, TEXT_DIM:] = to_tensor(vectors[other, TEXT_DIM:])
        categorical[b, t, _STATUS] = int(features.categorical[other, _STATUS])
        for k in _RESPONSE_NUMERIC:
            numbers[b, t, k] = float(numeric[other, k])
        swapped[b, t] = 1
    return swapped


def ablated(config: DialogueConfig, what: str) -> DialogueConfig:
    """The config without one part: ``pretraining``, ``context`` or ``numeric``."""
    if what == "pretraining":
        return replace(config, pretrain=False)
    if what == "context":
        return replace(config, net=replace(config.net, context=False))
    if what == "numeric":
        return replace(config, numeric=False)
    raise ValueError(f"unknown ablation {what!r}; known: pretraining, context, numeric")
