"""Attention maps of Mowen's own transformer models.

A model object qualifies when it exposes (the couplet helper's transformer does):

* ``hf_model``: a ``transformers`` model created with ``attn_implementation="eager"``
  (with sdpa, ``output_attentions=True`` gives nothing back);
* ``attention_inputs(upper, lower=None) -> (tokens: list[str], inputs: dict)``: the
  tokens to label the axes with and the tensors to feed ``hf_model``;
* optionally ``position_logits(upper, position) -> (vocab: list[str], logits: ndarray)``
  for the softmax explorer's "from model" scores.

:func:`extract_attention` runs the model once with ``output_attentions=True`` and
returns every layer and head, ``(layers, heads, T, T)``, so the GUI only slices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from engine.registry import ModelError
from engine.weights import read_config


class AttentionModel(Protocol):
    hf_model: Any

    def attention_inputs(self, upper: str, lower: str | None = None) -> tuple[list[str], dict]: ...


@dataclass(frozen=True)
class AttentionResult:
    """``tokens`` (T,) and ``weights`` (layers, heads, T, T); row i = query i's distribution over keys."""

    tokens: tuple[str, ...]
    weights: np.ndarray

    @property
    def num_layers(self) -> int:
        return int(self.weights.shape[0])

    @property
    def num_heads(self) -> int:
        return int(self.weights.shape[1])

    def matrix(self, layer: int, head: int | None = None) -> np.ndarray:
        """(T, T) map of one head, or the mean over heads when ``head`` is None."""
        if head is None:
            return self.weights[layer].mean(axis=0)
        return self.weights[layer, head]

    def head_entropy(self) -> np.ndarray:
        """(layers, heads) mean entropy (nats) of the query rows: low = focused heads."""
        return row_entropy(self.weights).mean(axis=-1)

    def summary(self) -> str:
        lines = [f"tokens ({len(self.tokens)}): {' '.join(self.tokens)}",
                 f"weights: layers={self.num_layers} heads={self.num_heads} T={len(self.tokens)}"]
        entropies = self.head_entropy()
        for layer in range(self.num_layers):
            cells = " ".join(f"{value:.3f}" for value in entropies[layer])
            lines.append(f"layer {layer}: mean row entropy per head (nats): {cells}")
        return "\n".join(lines)


def row_entropy(weights: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each row of (..., T, T) attention weights -> (..., T)."""
    w = np.asarray(weights, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(w > 0, -w * np.log(np.where(w > 0, w, 1.0)), 0.0)
    return terms.sum(axis=-1)


def extract_attention(model: AttentionModel, text: str, pair: str | None = None) -> AttentionResult:
    """All attention maps of ``model`` for ``text`` (and the optional second segment ``pair``).

    Returns weights of shape (layers, heads, T, T) as float32 numpy, T = len(tokens).
    """
    import torch

    if not hasattr(model, "attention_inputs") or not hasattr(model, "hf_model"):
        raise ValueError(f"{type(model).__name__} exposes no attention (needs hf_model and attention_inputs)")
    tokens, inputs = model.attention_inputs(text, pair)
    hf_model = model.hf_model
    with torch.inference_mode():
        outputs = hf_model(**inputs, output_attentions=True)
    attentions = getattr(outputs, "attentions", None)
    if not attentions:
        raise ValueError("the model returned no attention maps; it must be created with "
                         "attn_implementation=\"eager\"")
    # each layer: (batch, heads, T, T); keep the first (only) sequence
    weights = torch.stack([layer[0] for layer in attentions]).float().cpu().numpy()
    if weights.shape[-1] != len(tokens):
        raise ValueError(f"the model gave {weights.shape[-1]} positions for {len(tokens)} tokens")
    return AttentionResult(tuple(str(t) for t in tokens), weights)


def position_scores(model: Any, upper: str, position: int, top: int = 20,
                    skip_special: bool = True) -> tuple[list[str], np.ndarray]:
    """The ``top`` largest logits (descending) of ``model.position_logits(upper, position)``.

    Special tokens written like ``[UNK]`` are left out unless ``skip_special`` is False.
    Returns (labels, scores (top,)) for the softmax explorer.
    """
    if not hasattr(model, "position_logits"):
        raise ValueError(f"{type(model).__name__} offers no position_logits")
    vocab, logits = model.position_logits(upper, position)
    logits = np.asarray(logits, dtype=np.float64).reshape(-1)
    keep = np.array([not (skip_special and str(t).startswith("[") and str(t).endswith("]") and len(str(t)) > 2)
                     for t in vocab], dtype=bool)
    candidates = np.flatnonzero(keep & np.isfinite(logits))
    order = candidates[np.argsort(-logits[candidates], kind="stable")][:top]
    return [str(vocab[i]) for i in order], logits[order]


def _config_says_transformer(config: dict) -> bool:
    architecture = str(config.get("architecture", "")).lower()
    return (architecture in ("bert", "transformer") or str(config.get("model_type", "")).lower() == "bert"
            or str(config.get("kind", "")).lower() in ("bert", "unilm") or bool(config.get("supports_attention", False)))


def list_attention_models(task: str | None = "couplet", registry: Any = None) -> list[str]:
    """Names of shipped models whose config.json declares a transformer (no model is loaded).

    A model counts when its ``config.json`` has ``"architecture": "bert"`` / ``"transformer"``,
    ``"model_type": "bert"``, ``"kind": "bert"`` or ``"unilm"`` (the couplet BERTs) or ``"supports_attention": true``;
    the default model comes first.
    """
    if registry is None:
        from engine.registry import REGISTRY as registry
    names: list[tuple[bool, str]] = []
    for entry in registry.list(task):
        try:
            config = read_config(entry.path)
        except ModelError:
            continue
        if isinstance(config, dict) and _config_says_transformer(config):
            names.append((not entry.default, entry.name))
    return [name for _, name in sorted(names)]


def load_attention_model(name: str) -> Any:
    """Load a shipped model by name and check that it can show its attention."""
    from engine.registry import load_model

    model = load_model(name)
    if not hasattr(model, "attention_inputs"):
        raise ValueError(f"model {name!r} exposes no attention maps")
    return model
