"""Couplet models: the seed's gated-CNN sequence labeller and a small BERT-style masked LM.

Both predict, for every position of the lower line, a distribution over the character
vocabulary.  They are wrapped in :class:`CoupletModel` objects with one interface
(:meth:`CoupletModel.log_probs`) that :mod:`engine.couplet.decode` searches under the
hard constraints.

* :class:`GatedCNN` — the baseline of the seed post 基于CNN和序列标注的对联机器人 (苏剑林):
  upper and lower lines align character by character, so the lower line is a *labelling*
  of the upper one: embedding → stacked residual gated 1-D convolutions
  (``h + conv_a(h) * sigmoid(conv_b(h))``) → a softmax over the vocabulary per position.
  Every position is predicted independently of the others.
* :class:`BertCouplet` — a ``transformers`` ``BertForMaskedLM`` built from a small
  ``BertConfig`` (eager attention, so the Attention tab gets real maps).  The input is
  ``[CLS] upper [SEP] lower' [SEP]`` where ``lower'`` is the lower line with unknown
  positions replaced by ``[MASK]``; all masked positions are predicted at once, and
  :mod:`engine.couplet.decode` can re-mask low-confidence positions and predict them again
  (mask-predict refinement, Ghazvininejad et al. 2019).  Lower-line position ``k`` reuses
  the position id of upper-line position ``k`` (segment ids tell the halves apart), which
  makes the character-by-character alignment of a couplet explicit to the attention.
* :class:`UniLMCouplet` — the same ``BertForMaskedLM`` used as a seq2seq model with a
  UniLM attention mask (seed 从语言模型到Seq2Seq：Transformer如戏，全靠Mask): the upper line
  attends bidirectionally to itself, the lower line causally to the upper line and to the
  lower characters already written.  Slot ``k`` of the lower half holds the character
  written at ``k − 1`` (``[MASK]`` at slot 0) with the position id of upper position ``k``,
  and predicts lower character ``k``: one forward pass trains every position, and decoding
  writes the line left to right, each character conditioned on the ones before it.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.couplet.data import CLS, MASK, PAD, SEP, SPECIAL_TOKENS, UNK, is_punct

# --------------------------------------------------------------------------------------
# networks


class GatedResidualConv(nn.Module):
    """``h + conv_a(h) * sigmoid(conv_b(h))`` with 'same' padding; h: (B, C, T)."""

    def __init__(self, channels: int, kernel: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, 2 * channels, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        a, b = self.conv(h).chunk(2, dim=1)
        return h + a * torch.sigmoid(b)


class GatedCNN(nn.Module):
    """Embedding → gated residual CNN → per-position vocabulary logits.

    forward(ids: (B, T) int64) -> logits (B, T, V)."""

    def __init__(self, vocab_size: int, dim: int = 128, layers: int = 5, kernel: int = 3,
                 dilations: tuple[int, ...] = (1, 2, 1, 2, 1, 2, 1, 2)):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.blocks = nn.ModuleList(GatedResidualConv(dim, kernel, dilations[i % len(dilations)]) for i in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.embed(ids).transpose(1, 2)
        for block in self.blocks:
            h = block(h)
        return self.out(self.norm(h.transpose(1, 2)))


def build_bert(config: dict):
    """A fresh ``BertForMaskedLM`` (eager attention) from our config dict."""
    from transformers import BertConfig, BertForMaskedLM

    bert_config = BertConfig(
        vocab_size=config["vocab_size"], hidden_size=config["dim"], num_hidden_layers=config["layers"],
        num_attention_heads=config["heads"], intermediate_size=config["dim"] * 4,
        max_position_embeddings=config.get("max_positions", 64), type_vocab_size=2,
        hidden_dropout_prob=config.get("dropout", 0.1), attention_probs_dropout_prob=config.get("dropout", 0.1),
        pad_token_id=PAD,
    )
    return BertForMaskedLM(bert_config, attn_implementation="eager") if _accepts_attn_kw() else \
        BertForMaskedLM._from_config(bert_config, attn_implementation="eager")


def _accepts_attn_kw() -> bool:
    import inspect

    from transformers import BertForMaskedLM

    try:
        return "attn_implementation" in inspect.signature(BertForMaskedLM.__init__).parameters
    except (TypeError, ValueError):
        return False


def bert_inputs(upper_ids: torch.Tensor, lower_ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """Keyword inputs for ``[CLS] upper [SEP] lower [SEP]``.

    upper_ids, lower_ids: (B, n) int64 → input_ids, token_type_ids, position_ids: (B, 2n+3).
    Position ids: CLS 0, upper 1..n, SEP n+1, lower 1..n, SEP n+1 (aligned halves)."""
    b, n = upper_ids.shape
    dev = upper_ids.device
    cls = torch.full((b, 1), CLS, dtype=torch.long, device=dev)
    sep = torch.full((b, 1), SEP, dtype=torch.long, device=dev)
    input_ids = torch.cat([cls, upper_ids, sep, lower_ids, sep], dim=1)
    types = torch.cat([torch.zeros(b, n + 2, dtype=torch.long, device=dev),
                       torch.ones(b, n + 1, dtype=torch.long, device=dev)], dim=1)
    half = torch.arange(n + 2, device=dev)
    positions = torch.cat([half, half[1:]]).unsqueeze(0).expand(b, -1)
    return {"input_ids": input_ids, "token_type_ids": types, "position_ids": positions,
            "attention_mask": torch.ones_like(input_ids)}


def unilm_mask(n: int, device=None) -> torch.Tensor:
    """Additive attention mask (1, 1, 2n+2, 2n+2) for ``[CLS] upper [SEP] lower-slots``:
    the first n + 2 tokens see each other only; lower slot k sees them and slots ≤ k."""
    t = 2 * n + 2
    allowed = torch.zeros(t, t, dtype=torch.bool, device=device)
    allowed[:, : n + 2] = True
    allowed[n + 2:, n + 2:] = torch.ones(n, n, dtype=torch.bool, device=device).tril()
    mask = torch.zeros(t, t, device=device).masked_fill(~allowed, torch.finfo(torch.float32).min)
    return mask[None, None]


def unilm_inputs(upper_ids: torch.Tensor, prefix_ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """Keyword inputs for ``[CLS] upper [SEP] [MASK] prefix`` under the UniLM mask.

    upper_ids: (B, n); prefix_ids: (B, m) with m ≤ n − 1, the lower characters written so
    far (teacher forcing: the gold lower line without its last character) → tensors of
    length T = n + 3 + m.  Lower slot k has position id k + 1, aligned with upper k."""
    b, n = upper_ids.shape
    m = prefix_ids.shape[1]
    dev = upper_ids.device
    cls = torch.full((b, 1), CLS, dtype=torch.long, device=dev)
    sep = torch.full((b, 1), SEP, dtype=torch.long, device=dev)
    start = torch.full((b, 1), MASK, dtype=torch.long, device=dev)
    input_ids = torch.cat([cls, upper_ids, sep, start, prefix_ids], dim=1)
    types = torch.cat([torch.zeros(b, n + 2, dtype=torch.long, device=dev),
                       torch.ones(b, m + 1, dtype=torch.long, device=dev)], dim=1)
    positions = torch.cat([torch.arange(n + 2, device=dev), torch.arange(1, m + 2, device=dev)])
    mask = unilm_mask(n, dev)[..., : n + 3 + m, : n + 3 + m].expand(b, 1, -1, -1)
    return {"input_ids": input_ids, "token_type_ids": types, "position_ids": positions.unsqueeze(0).expand(b, -1),
            "attention_mask": mask}


def unilm_logits(hf_model, upper_ids: torch.Tensor, prefix_ids: torch.Tensor) -> torch.Tensor:
    """Vocabulary logits (B, m + 1, V) for lower positions 0..m given the written prefix."""
    n = upper_ids.shape[1]
    hidden = hf_model.bert(**unilm_inputs(upper_ids, prefix_ids)).last_hidden_state[:, n + 2:]
    return hf_model.cls(hidden)


def bert_lower_logits(hf_model, upper_ids: torch.Tensor, lower_ids: torch.Tensor) -> torch.Tensor:
    """Vocabulary logits for the lower-line positions only: (B, n, V)."""
    n = upper_ids.shape[1]
    inputs = bert_inputs(upper_ids, lower_ids)
    hidden = hf_model.bert(**inputs).last_hidden_state[:, n + 2: 2 * n + 2]
    return hf_model.cls(hidden)


# --------------------------------------------------------------------------------------
# model objects used by decoding, CLI, GUI and benchmarks


class CoupletModel:
    """A trained couplet model with its vocabulary.

    ``log_probs(upper, lowers)`` → float32 array (B, n, V): log-probabilities of every
    vocabulary entry at each lower-line position, with special tokens and punctuation
    excluded (-inf).  ``lowers`` is a list of B partial lower lines (lists of n entries,
    a character or None for 'unknown'); a non-conditional model ignores them."""

    kind = "?"
    conditional = False  # True when revealed lower characters change the prediction

    def __init__(self, net: nn.Module, vocab: list[str], config: dict, name: str = ""):
        self.net = net.eval()
        self.vocab = vocab
        self.index = {t: i for i, t in enumerate(vocab)}
        self.config = config
        self.name = name or config.get("name", self.kind)
        self.max_len = int(config.get("max_len", 30))
        self.device = next(net.parameters()).device
        banned = np.zeros(len(vocab), dtype=bool)
        for i, tok in enumerate(vocab):
            banned[i] = tok in SPECIAL_TOKENS or is_punct(tok) or len(tok) != 1
        self._banned = torch.from_numpy(banned).to(self.device)

    lexicon_path: Path | None = None  # the model folder's lexicon.tsv, if it ships one

    @functools.cached_property
    def lexicon(self):
        """The word list reranking reads (:mod:`engine.couplet.lexicon`), or None; read on first use, since
        only a config with ``word_weight`` asks for it."""
        if self.lexicon_path is None:
            return None
        from engine.couplet.lexicon import Lexicon

        return Lexicon.load(self.lexicon_path)

    def encode(self, text) -> list[int]:
        return [self.index.get(ch, UNK) if ch is not None else MASK for ch in text]

    def _finish(self, logits: torch.Tensor) -> np.ndarray:
        logits = logits.float().masked_fill(self._banned, float("-inf"))
        return torch.log_softmax(logits, dim=-1).cpu().numpy()

    def log_probs(self, upper: str, lowers: list[list[str | None]] | None = None) -> np.ndarray:
        raise NotImplementedError


class CnnCoupletModel(CoupletModel):
    """The seed's baseline (gated CNN sequence labeller); ``net`` is a :class:`GatedCNN`."""

    kind = "cnn"

    @torch.inference_mode()
    def log_probs(self, upper: str, lowers=None) -> np.ndarray:
        ids = torch.tensor([self.encode(upper)], device=self.device)
        out = self._finish(self.net(ids))
        b = max(1, len(lowers or []))
        return np.repeat(out, b, axis=0) if b > 1 else out


class BertCouplet(CoupletModel):
    """Small BERT masked LM filling the lower line: ``[CLS] upper [SEP] lower' [SEP]``.

    For the Attention tab:

    * ``hf_model`` — the ``transformers`` ``BertForMaskedLM`` (eager attention, eval mode);
    * ``attention_inputs(upper, lower=None) -> (tokens, inputs)``: ``tokens`` are the display
      tokens, one per input position (``"[CLS]", "春", …, "[SEP]", "[MASK]" …, "[SEP]"``;
      when ``lower`` is None every lower position is ``[MASK]``), and ``inputs`` the
      keyword tensors (on the model's device) such that
      ``hf_model(**inputs, output_attentions=True).attentions`` is a tuple of per-layer
      ``(1, heads, T, T)`` maps over exactly those ``T = len(tokens)`` tokens;
    * ``position_logits(upper, position) -> (vocab, logits)``: the vocabulary list and the
      raw logits, shape ``(V,)``, for lower-line position ``position`` with the whole lower
      line masked.
    """

    kind = "bert"
    conditional = True

    @property
    def hf_model(self):
        return self.net

    def _lower_ids(self, upper: str, lower) -> list[int]:
        if lower is None:
            lower = [None] * len(upper)
        # punctuation of the lower line is known: it copies the upper line's
        return [self.index.get(u, UNK) if is_punct(u) else (MASK if ch is None else self.index.get(ch, UNK))
                for u, ch in zip(upper, lower)]

    @torch.inference_mode()
    def log_probs(self, upper: str, lowers=None) -> np.ndarray:
        lowers = lowers or [None]
        up = torch.tensor([self.encode(upper)] * len(lowers), device=self.device)
        low = torch.tensor([self._lower_ids(upper, l) for l in lowers], device=self.device)
        return self._finish(bert_lower_logits(self.net, up, low))

    def attention_inputs(self, upper: str, lower: str | None = None) -> tuple[list[str], dict]:
        if lower is not None and len(lower) != len(upper):
            raise ValueError("the lower line must have the upper line's length")
        up = torch.tensor([self.encode(upper)], device=self.device)
        low_ids = self._lower_ids(upper, None if lower is None else list(lower))
        low = torch.tensor([low_ids], device=self.device)
        shown_lower = [self.vocab[i] if i not in (UNK,) else ch
                       for i, ch in zip(low_ids, lower if lower is not None else [None] * len(upper))]
        tokens = ["[CLS]", *upper, "[SEP]", *shown_lower, "[SEP]"]
        return tokens, bert_inputs(up, low)

    @torch.inference_mode()
    def position_logits(self, upper: str, position: int) -> tuple[list[str], np.ndarray]:
        if not 0 <= position < len(upper):
            raise IndexError(f"position {position} outside a line of {len(upper)} characters")
        up = torch.tensor([self.encode(upper)], device=self.device)
        low = torch.tensor([self._lower_ids(upper, None)], device=self.device)
        logits = bert_lower_logits(self.net, up, low)[0, position]
        return self.vocab, logits.float().cpu().numpy()


class IncrementalUniLM:
    """Left-to-right decoding of one upper line with cached keys and values.

    Under the UniLM mask the upper line never sees the lower one, so its keys and values
    are computed once; each step then runs only the newest lower token of each beam
    through the layers (the same BERT weights, the same arithmetic as
    :func:`unilm_logits`, checked against it in the tests) — a few milliseconds per step
    where the full pass grows with the line.

    ``next_log_probs()`` → (B, V) float32 log-probabilities (special tokens and punctuation
    -inf) for the slot after each beam's written prefix; ``advance(parents, chars)`` keeps
    beam ``parents[j]`` as new beam ``j`` and writes character ``chars[j]`` into it."""

    def __init__(self, model: "UniLMCouplet", upper: str):
        self.model = model
        self.net = hf_model = model.net
        cfg = hf_model.config
        self.heads, self.dim = cfg.num_attention_heads, cfg.hidden_size
        self.head_dim = self.dim // self.heads
        n = len(upper)
        up = torch.tensor([[CLS, *model.encode(upper), SEP]], device=hf_model.device)
        emb = self._embed(up, torch.arange(n + 2, device=up.device)[None], 0)
        self.cache: list[tuple[torch.Tensor, torch.Tensor]] = []
        h = emb
        for layer in hf_model.bert.encoder.layer:  # bidirectional over the upper line, once
            k, v = self._kv(layer, h)
            self.cache.append((k, v))
            h = self._finish_layer(layer, h, self._attend(layer, h, k, v))
        self.pending = torch.tensor([[MASK]], device=up.device)  # slot 0 reads [MASK]
        self.position = 1  # lower slot k has upper position k + 1

    def _embed(self, ids, positions, token_type):
        e = self.net.bert.embeddings
        x = e.word_embeddings(ids) + e.position_embeddings(positions) + e.token_type_embeddings.weight[token_type]
        return e.LayerNorm(x)

    def _split(self, x):  # (B, T, D) -> (B, H, T, dh)
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)

    def _kv(self, layer, h):
        a = layer.attention.self
        return self._split(a.key(h)), self._split(a.value(h))

    def _attend(self, layer, h, k, v):
        q = self._split(layer.attention.self.query(h))
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim), dim=-1)
        b, _, t, _ = q.shape
        return (w @ v).transpose(1, 2).reshape(b, t, self.dim)

    @staticmethod
    def _finish_layer(layer, h, context):
        h = layer.attention.output.LayerNorm(layer.attention.output.dense(context) + h)
        return layer.output.LayerNorm(layer.output.dense(torch.nn.functional.gelu(layer.intermediate.dense(h))) + h)

    @torch.inference_mode()
    def next_log_probs(self) -> np.ndarray:
        b = self.pending.shape[0]
        h = self._embed(self.pending, torch.full((b, 1), self.position, device=self.pending.device), 1)
        for i, layer in enumerate(self.net.bert.encoder.layer):
            k_new, v_new = self._kv(layer, h)
            k_old, v_old = self.cache[i]
            k, v = torch.cat([k_old, k_new], 2), torch.cat([v_old, v_new], 2)
            self.cache[i] = (k, v)
            h = self._finish_layer(layer, h, self._attend(layer, h, k, v))
        return self.model._finish(self.net.cls(h)[:, 0])

    def advance(self, parents: list[int], chars: list[str]) -> None:
        # before the first choice every beam descends from the one start state
        index = torch.tensor(parents if self.pending.shape[0] > 1 else [0] * len(parents), device=self.pending.device)
        self.cache = [(k.index_select(0, index), v.index_select(0, index)) for k, v in self.cache]
        ids = [self.model.index.get(ch, UNK) for ch in chars]
        self.pending = torch.tensor(ids, device=self.pending.device)[:, None]
        self.position += 1


class UniLMCouplet(CoupletModel):
    """A BERT under the UniLM seq2seq mask, writing the lower line left to right.

    ``next_log_probs(upper, prefixes)`` → (B, V) log-probabilities of the next lower
    character after each of B equal-length prefixes (lists of characters); this is what
    :mod:`engine.couplet.decode` searches.  ``log_probs(upper, lowers)`` gives every
    position's distribution given the characters *before* it in each (complete) lower line
    (for the alternatives shown per character and for scoring a finished line).

    For the Attention tab, as :class:`BertCouplet`: ``hf_model``, ``attention_inputs(upper,
    lower=None)`` (tokens ``[CLS] upper [SEP] [MASK] lower[:-1]``: what the model reads) and
    ``position_logits(upper, position)`` (the next-character logits at ``position`` given
    the greedy line before it)."""

    kind = "unilm"
    conditional = True
    autoregressive = True

    @property
    def hf_model(self):
        return self.net

    def _prefix_ids(self, upper: str, prefix) -> list[int]:
        return [self.index.get(u, UNK) if is_punct(u) else self.index.get(ch, UNK) for u, ch in zip(upper, prefix)]

    def start(self, upper: str) -> IncrementalUniLM:
        """A left-to-right decoder for ``upper`` with cached keys and values."""
        return IncrementalUniLM(self, upper)

    @torch.inference_mode()
    def next_log_probs(self, upper: str, prefixes: list[list[str]]) -> np.ndarray:
        up = torch.tensor([self.encode(upper)] * len(prefixes), device=self.device)
        pre = torch.tensor([self._prefix_ids(upper, p) for p in prefixes], device=self.device,
                           dtype=torch.long).reshape(len(prefixes), -1)
        return self._finish(unilm_logits(self.net, up, pre)[:, -1])

    @torch.inference_mode()
    def log_probs(self, upper: str, lowers=None) -> np.ndarray:
        n = len(upper)
        lowers = lowers or [None]
        if any(l is None or any(ch is None for ch in l) for l in lowers):
            lowers = [self._greedy(upper) if l is None or any(ch is None for ch in l) else l for l in lowers]
        up = torch.tensor([self.encode(upper)] * len(lowers), device=self.device)
        pre = torch.tensor([self._prefix_ids(upper, l[: n - 1]) for l in lowers], device=self.device,
                           dtype=torch.long).reshape(len(lowers), n - 1)
        return self._finish(unilm_logits(self.net, up, pre))

    @torch.inference_mode()
    def pair_log_probs(self, uppers: list[str], lowers: list[str]) -> np.ndarray:
        """(B,) log P(lower | upper) of B pairs of equal-length lines (uppers may differ): the
        sum over the lower line's characters given the upper line and the characters before.
        Punctuation and characters outside the vocabulary are skipped.  Decoding's MMI term
        feeds a candidate lower line as the upper one (``engine.couplet.decode``)."""
        n = len(lowers[0])
        up = torch.tensor([self.encode(u) for u in uppers], device=self.device)
        pre = torch.tensor([self._prefix_ids(u, l[: n - 1]) for u, l in zip(uppers, lowers)], device=self.device,
                           dtype=torch.long).reshape(len(uppers), n - 1)
        rows = self._finish(unilm_logits(self.net, up, pre))
        total = np.zeros(len(uppers))
        for b, lower in enumerate(lowers):
            for i, ch in enumerate(lower):
                idx = self.index.get(ch)
                if idx is not None and not is_punct(ch) and np.isfinite(rows[b, i, idx]):
                    total[b] += rows[b, i, idx]
        return total

    def _greedy(self, upper: str) -> list[str]:
        decoder, line = self.start(upper), []
        for i, u in enumerate(upper[:-1]):
            if i:
                decoder.advance([0], [line[-1]])
            row = decoder.next_log_probs()[0]
            line.append(u if is_punct(u) else self.vocab[int(np.argmax(row))])
        return line + [upper[-1]]

    def attention_inputs(self, upper: str, lower: str | None = None) -> tuple[list[str], dict]:
        if lower is not None and len(lower) != len(upper):
            raise ValueError("the lower line must have the upper line's length")
        lower_chars = list(lower) if lower is not None else self._greedy(upper)
        up = torch.tensor([self.encode(upper)], device=self.device)
        pre = torch.tensor([self._prefix_ids(upper, lower_chars[:-1])], device=self.device,
                           dtype=torch.long).reshape(1, len(upper) - 1)
        tokens = ["[CLS]", *upper, "[SEP]", "[MASK]", *lower_chars[:-1]]
        return tokens, unilm_inputs(up, pre)

    @torch.inference_mode()
    def position_logits(self, upper: str, position: int) -> tuple[list[str], np.ndarray]:
        if not 0 <= position < len(upper):
            raise IndexError(f"position {position} outside a line of {len(upper)} characters")
        prefix = self._greedy(upper)[:position]
        up = torch.tensor([self.encode(upper)], device=self.device)
        pre = torch.tensor([self._prefix_ids(upper, prefix)], device=self.device, dtype=torch.long).reshape(1, -1)
        return self.vocab, unilm_logits(self.net, up, pre)[0, -1].float().cpu().numpy()


# --------------------------------------------------------------------------------------
# building and loading


def build_net(config: dict) -> nn.Module:
    if config["kind"] == "cnn":
        return GatedCNN(config["vocab_size"], dim=config["dim"], layers=config["layers"], kernel=config.get("kernel", 3))
    if config["kind"] in ("bert", "unilm"):
        return build_bert(config)
    raise ValueError(f"unknown couplet model kind {config['kind']!r}")


def wrap(net: nn.Module, vocab: list[str], config: dict, name: str = "") -> CoupletModel:
    cls = {"cnn": CnnCoupletModel, "bert": BertCouplet, "unilm": UniLMCouplet}[config["kind"]]
    return cls(net, vocab, config, name)


def _load(model_dir: Path, kind: str, int8: bool = True) -> CoupletModel:
    from engine.device import get_device
    from engine.registry import ModelCorrupt
    from engine.weights import load_state_dict, read_config, read_vocab

    config = read_config(model_dir)
    vocab = read_vocab(model_dir)
    if config.get("kind") != kind:
        raise ModelCorrupt(f"{model_dir / 'config.json'}: expected a {kind} couplet model, found {config.get('kind')!r}")
    if len(vocab) != config["vocab_size"]:
        raise ModelCorrupt(f"{model_dir / 'vocab.txt'} has {len(vocab)} entries, config says {config['vocab_size']}")
    net = build_net({**config, "dropout": 0.0})
    state = {k: v.float() for k, v in load_state_dict(model_dir).items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    # the MLM decoder weight is tied to the word embeddings and is not stored twice
    missing = [k for k in missing if not k.endswith("decoder.weight") and not k.endswith("decoder.bias")]
    if missing or unexpected:
        raise ModelCorrupt(f"{model_dir / 'model.safetensors'}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    if kind in ("bert", "unilm"):
        net.tie_weights()
    net.to(get_device())
    if int8 and kind == "unilm" and next(net.parameters()).device.type == "cpu":
        net = int8_linears(net)
    model = wrap(net, vocab, config, name=model_dir.name)
    if (model_dir / "lm.npz").is_file():  # the fluency model decoding fuses in (engine.couplet.lm)
        from engine.ngram import CharNgramLM

        model.lm = CharNgramLM.load(model_dir / "lm.npz")
    if (model_dir / "lexicon.tsv").is_file():  # the word list decoding reranks with (engine.couplet.lexicon)
        model.lexicon_path = model_dir / "lexicon.tsv"
    return model


def int8_linears(net: nn.Module) -> nn.Module:
    """``net`` with its linear layers in int8 (dynamic quantisation), for decoding on a CPU.

    Decoding writes one character of a few beams per step, so each step streams every weight matrix
    through the cache for a handful of rows: it is bound by memory, not arithmetic.  Int8 weights
    take a quarter of the bytes: couplet-unilm decodes a line in 19 ms instead of 46 (median, 400 dev
    lines, one thread), with the same figures (BLEU-2 9.05 against 8.89; benchmarks/couplet.py).
    Where this torch cannot quantise (a build without a quantisation engine) the net stays float."""
    import warnings

    try:
        with warnings.catch_warnings():
            # torch 2.13 marks this API and its quantised tensors deprecated (the torchao successor is
            # not in the stack); the fallback below keeps a later torch without it working
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.ao.quantization.quantize_dynamic(net, {nn.Linear}, dtype=torch.qint8)
    except (AttributeError, RuntimeError):
        return net


def load_cnn(model_dir: Path) -> CnnCoupletModel:
    """Registry loader for the gated-CNN baseline."""
    return _load(Path(model_dir), "cnn")


def load_bert(model_dir: Path) -> BertCouplet:
    """Registry loader for the BERT-style masked LM."""
    return _load(Path(model_dir), "bert")


def load_unilm(model_dir: Path, int8: bool = True) -> UniLMCouplet:
    """Registry loader for the UniLM seq2seq model (left-to-right lower lines); ``int8=False`` keeps the float
    weights on a CPU too (a trainer starting from the model needs them)."""
    return _load(Path(model_dir), "unilm", int8)


def export_state(net: nn.Module, half: bool = True) -> dict:
    """State dict for shipping: tied decoder weight dropped, fp16 to halve the file."""
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("decoder.weight")}
    if half:
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    return state
