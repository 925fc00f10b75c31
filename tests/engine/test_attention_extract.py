"""Attention extraction on a tiny random eager BERT wrapped like the couplet model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.attention.extract import (
    AttentionResult,
    extract_attention,
    list_attention_models,
    position_scores,
    row_entropy,
)
from engine.registry import Registry, write_manifest


class TinyCharBert:
    """The attention protocol of the couplet helper's transformer, on a random 2-layer BERT."""

    def __init__(self, attn_implementation: str = "eager"):
        from transformers import BertConfig, BertModel

        torch.manual_seed(0)
        config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=32, max_position_embeddings=32,
                            attn_implementation=attn_implementation)
        self.hf_model = BertModel(config, add_pooling_layer=False).eval()
        self.vocab = ["[PAD]", "[CLS]", "[SEP]"] + [chr(0x4E00 + i) for i in range(61)]

    def _id(self, token: str) -> int:
        return self.vocab.index(token) if token in self.vocab else 3 + ord(token) % 61

    def attention_inputs(self, upper: str, lower: str | None = None):
        tokens = ["[CLS]", *upper, "[SEP]"]
        types = [0] * len(tokens)
        if lower is not None:
            tokens += [*lower, "[SEP]"]
            types += [1] * (len(lower) + 1)
        inputs = {"input_ids": torch.tensor([[self._id(t) for t in tokens]]),
                  "token_type_ids": torch.tensor([types]),
                  "attention_mask": torch.ones(1, len(tokens), dtype=torch.long)}
        return tokens, inputs

    def position_logits(self, upper: str, position: int):
        rng = np.random.default_rng(position)
        return self.vocab, rng.normal(size=len(self.vocab))


@pytest.fixture(scope="module")
def tiny_model() -> TinyCharBert:
    return TinyCharBert()


def test_shape_and_rows_sum_to_one(tiny_model):
    result = extract_attention(tiny_model, "春风得意")
    assert isinstance(result, AttentionResult)
    assert result.tokens == ("[CLS]", "春", "风", "得", "意", "[SEP]")
    assert result.weights.shape == (2, 4, 6, 6)
    np.testing.assert_allclose(result.weights.sum(-1), 1.0, atol=1e-5)
    assert (result.weights >= 0).all()
    # random heads differ from each other, and the map is not uniform
    assert not np.allclose(result.weights[0, 0], result.weights[0, 1])


def test_pair_and_slicing(tiny_model):
    result = extract_attention(tiny_model, "春风", pair="秋雨")
    assert len(result.tokens) == 7 and result.weights.shape == (2, 4, 7, 7)
    np.testing.assert_allclose(result.matrix(1), result.weights[1].mean(0))
    np.testing.assert_array_equal(result.matrix(0, 2), result.weights[0, 2])
    entropies = result.head_entropy()
    assert entropies.shape == (2, 4)
    assert (entropies > 0).all() and (entropies <= np.log(7) + 1e-6).all()
    assert "layers=2 heads=4" in result.summary()


def test_row_entropy_limits():
    uniform = np.full((3, 3), 1 / 3)
    np.testing.assert_allclose(row_entropy(uniform), np.log(3))
    np.testing.assert_allclose(row_entropy(np.eye(3)), 0.0)


def test_sdpa_models_are_refused_with_a_hint():
    # with sdpa attention transformers returns an empty tuple of attentions
    with pytest.raises(ValueError, match="eager"):
        extract_attention(TinyCharBert(attn_implementation="sdpa"), "春风")
    with pytest.raises(ValueError, match="no attention"):
        extract_attention(object(), "春风")


def test_position_scores_takes_the_top_logits(tiny_model):
    labels, scores = position_scores(tiny_model, "春风", 1, top=5)
    vocab, logits = tiny_model.position_logits("春风", 1)
    assert list(scores) == sorted(logits, reverse=True)[:5]
    assert labels[0] == vocab[int(np.argmax(logits))]


def test_position_scores_skips_special_tokens():
    class Model:
        def position_logits(self, upper, position):
            return ["[UNK]", "春", "[SEP]", "风", "雨"], np.array([9.0, 1.0, 8.0, 3.0, -np.inf])

    labels, scores = position_scores(Model(), "春风", 0, top=5)
    assert labels == ["风", "春"] and list(scores) == [3.0, 1.0]
    labels, _ = position_scores(Model(), "春风", 0, top=2, skip_special=False)
    assert labels == ["[UNK]", "[SEP]"]


def test_couplet_bert_protocol_end_to_end():
    couplet = pytest.importorskip("engine.couplet.model")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"春风得意马蹄疾秋雨"]
    config = {"kind": "bert", "vocab_size": len(vocab), "dim": 16, "layers": 2, "heads": 2, "max_positions": 32}
    model = couplet.wrap(couplet.build_bert(config), vocab, config)
    result = extract_attention(model, "春风得意", "秋雨得意")
    assert result.weights.shape == (2, 2, 11, 11)
    assert result.tokens[:6] == ("[CLS]", "春", "风", "得", "意", "[SEP]")
    np.testing.assert_allclose(result.weights.sum(-1), 1.0, atol=1e-5)
    labels, scores = position_scores(model, "春风得意", 1, top=5)
    assert len(labels) == 5 and list(scores) == sorted(scores, reverse=True)


def test_shipped_transformer_models_show_their_attention():
    from engine.attention.extract import list_attention_models, load_attention_model

    names = list_attention_models()
    if not names:
        pytest.skip("no transformer model is shipped in assets/models yet")
    result = extract_attention(load_attention_model(names[0]), "春风得意马蹄疾")
    layers, heads, t, t2 = result.weights.shape
    assert t == t2 == len(result.tokens) and layers >= 1 and heads >= 1
    np.testing.assert_allclose(result.weights.sum(-1), 1.0, atol=1e-4)


def test_list_attention_models_reads_configs(tmp_path):
    for name, config, default in [("couplet-bert", {"architecture": "bert"}, False),
                                  ("couplet-mlm", {"kind": "bert"}, False),
                                  ("couplet-cnn", {"kind": "cnn"}, False),
                                  ("couplet-bert-big", {"model_type": "bert"}, True),
                                  ("couplet-lstm", {"architecture": "lstm"}, False)]:
        folder = tmp_path / "couplet" / name
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps(config))
        write_manifest(folder, name=name, task="couplet", loader="x:y", default=default)
    assert list_attention_models("couplet", registry=Registry(tmp_path)) == ["couplet-bert-big", "couplet-bert",
                                                                            "couplet-mlm"]
    assert list_attention_models("segment", registry=Registry(tmp_path)) == []
