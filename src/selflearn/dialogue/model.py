"""The dialogue model: a turn encoder, a small transformer over the session, and its heads
(DESIGN §2 items 7–8). Needs torch (the ``train`` extra).

Each turn is read from its request and response sentence vectors (MiniLM-L6), its
categorical fields (one embedding each) and its numbers; a two-layer transformer then lets
every turn see the others of its session, before and after (labels are given after the
fact, and what the user did next says most about what went wrong). Heads: turn defect,
failure point, goal start, goal success, the meant intent — and, for pre-training without
labels, whether the response was swapped in from another dialogue, the heuristic defect
score, and whether a later turn restated this one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["HEADS", "DialogueNet", "NetConfig"]

# head → output width (0: as many as there are intents)
HEADS = {
    "defect": 1,
    "failure_point": 6,
    "goal_start": 1,
    "goal_success": 1,
    "intent": 0,
    "swapped": 1,
    "weak_defect": 1,
    "restated": 1,
}
TEXT_DIM = 384
MAX_TURNS = 32


@dataclass(frozen=True)
class NetConfig:
    width: int = 128
    layers: int = 2
    heads: int = 4
    dropout: float = 0.1
    context: bool = True  # False: each turn is read alone (the ablation)


class DialogueNet(nn.Module):
    """(batch, turns) of text vectors, categorical ids and numbers → per-turn logits."""

    def __init__(
        self, vocab_sizes: list[int], numeric: int, intents: int, config: NetConfig
    ) -> None:
        super().__init__()
        d = config.width
        self.config = config
        self.text = nn.Linear(2 * TEXT_DIM, d)
        self.categorical = nn.ModuleList(nn.Embedding(n, d) for n in vocab_sizes)
        self.numeric = nn.Sequential(nn.Linear(numeric, d), nn.GELU(), nn.Linear(d, d))
        self.position = nn.Embedding(MAX_TURNS, d)
        self.norm = nn.LayerNorm(d)
        layer = nn.TransformerEncoderLayer(
            d, config.heads, 2 * d, dropout=config.dropout, batch_first=True, norm_first=True
        )
        self.dialogue = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.out_norm = nn.LayerNorm(d)
        self.heads = nn.ModuleDict(
            {name: nn.Linear(d, width or intents) for name, width in HEADS.items()}
        )

    def forward(
        self,
        text: torch.Tensor,  # (B, T, 768)
        categorical: torch.Tensor,  # (B, T, C)
        numeric: torch.Tensor,  # (B, T, F)
        valid: torch.Tensor,  # (B, T) bool
    ) -> dict[str, torch.Tensor]:
        batch, turns = valid.shape
        positions = torch.arange(turns, device=valid.device).clamp(max=MAX_TURNS - 1)
        x = self.text(text) + self.numeric(numeric) + self.position(positions)[None]
        for i, embedding in enumerate(self.categorical):
            x = x + embedding(categorical[..., i])
        x = self.norm(x)
        if self.config.context:
            x = self.dialogue(x, src_key_padding_mask=~valid)
        else:  # every turn a dialogue of its own
            alone = self.dialogue(x.reshape(batch * turns, 1, -1))
            x = alone.reshape(batch, turns, -1)
        x = self.out_norm(x)
        return {name: head(x) for name, head in self.heads.items()}


def parameter_count(net: nn.Module) -> int:
    return sum(int(math.prod(p.shape)) for p in net.parameters())


def to_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))
