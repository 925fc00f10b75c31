"""The BMES CRF against brute-force enumeration of every tag path at tiny sizes."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.segment.bmes import (ALLOWED_TRANSITIONS, TAGS, is_valid, tags_to_spans, tags_to_words,
                                 words_to_tags)
from engine.segment.crf import CRF


def test_tag_order_is_fixed():
    assert TAGS == "BMES"


def test_words_to_tags_and_back():
    words = ["迈向", "充满", "希望", "的", "新世纪"]
    tags = words_to_tags(words)
    assert tags == "BEBEBESBME"
    assert tags_to_words("".join(words), tags) == words
    assert is_valid(tags)


def test_illegal_transition_set_is_the_complement():
    illegal = {(a, b) for a in range(4) for b in range(4)} - ALLOWED_TRANSITIONS
    names = {TAGS[a] + TAGS[b] for a, b in illegal}
    assert names == {"BB", "BS", "MB", "MS", "EM", "EE", "SM", "SE"}


def random_crf(seed: int, constrained: bool = True) -> CRF:
    torch.manual_seed(seed)
    crf = CRF(constrained=constrained)
    with torch.no_grad():
        crf.transitions.normal_(0, 2)
        crf.start.normal_(0, 2)
        crf.end.normal_(0, 2)
    return crf


def brute_force(crf: CRF, emissions: torch.Tensor, length: int, allowed=None):
    """All 4**length paths of one sentence: (log Z, best path, marginals (length, 4))."""
    paths = list(itertools.product(range(4), repeat=length))
    width = emissions.shape[0]
    em = emissions[None]
    if allowed is not None:
        em = em + (~allowed[None]).float() * -10000.0
    mask = torch.zeros(1, width, dtype=torch.bool)
    mask[0, :length] = True
    scores = torch.stack([
        crf.sequence_score(em, torch.tensor([list(p) + [0] * (width - length)]), mask)[0] for p in paths])
    probs = torch.softmax(scores, 0)
    marginals = torch.zeros(length, 4)
    for p, prob in zip(paths, probs):
        for t, tag in enumerate(p):
            marginals[t, tag] += prob
    return torch.logsumexp(scores, 0), list(paths[int(scores.argmax())]), marginals


@pytest.mark.parametrize("constrained", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_brute_force(seed, constrained):
    crf = random_crf(seed, constrained)
    lengths = [4, 3, 1, 2]
    width = max(lengths)
    emissions = torch.randn(len(lengths), width, 4) * 2
    mask = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]
    with torch.no_grad():
        log_z = crf.log_partition(emissions, mask)
        paths = crf.viterbi(emissions, mask)
        marginals = crf.marginals(emissions, mask)
        for b, n in enumerate(lengths):
            bf_log_z, bf_path, bf_marg = brute_force(crf, emissions[b], n)
            assert log_z[b].item() == pytest.approx(bf_log_z.item(), abs=1e-4)
            assert paths[b, :n].tolist() == bf_path
            assert torch.allclose(marginals[b, :n], bf_marg, atol=1e-5)
            # rows sum to one on real characters, zero under padding
            assert torch.allclose(marginals[b, :n].sum(1), torch.ones(n), atol=1e-5)
            assert marginals[b, n:].abs().sum().item() == 0


def test_nll_is_non_negative_and_its_gradient_matches_marginals():
    crf = random_crf(3)
    emissions = torch.randn(2, 5, 4, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    log_z = crf.log_partition(emissions, mask).sum()
    (grad,) = torch.autograd.grad(log_z, emissions)
    # d log Z / d emission = marginal probability: an independent check of forward-backward
    assert torch.allclose(grad, crf.marginals(emissions.detach(), mask), atol=1e-5)
    tags = torch.tensor([[0, 2, 3, 0, 2], [3, 0, 2, 0, 0]])
    assert (crf.nll(emissions, tags, mask) >= -1e-5).all()


def path_log_probs(crf: CRF, emissions: torch.Tensor, length: int):
    """log p(path) for all 4**length paths of one sentence, by enumeration."""
    paths = list(itertools.product(range(4), repeat=length))
    mask = torch.ones(1, length, dtype=torch.bool)
    scores = torch.stack([crf.sequence_score(emissions[None, :length], torch.tensor([p]), mask)[0] for p in paths])
    return paths, torch.log_softmax(scores, 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_pairwise_posteriors_and_distillation_loss_match_brute_force(seed):
    teacher, student = random_crf(seed), random_crf(seed + 10)
    lengths = [4, 1, 3]
    width = max(lengths)
    t_em, s_em = torch.randn(len(lengths), width, 4) * 2, torch.randn(len(lengths), width, 4) * 2
    mask = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]
    unary, pairwise = teacher.posteriors(t_em, mask)
    with torch.no_grad():
        loss = student.cross_entropy(s_em, mask, unary, pairwise)
    for b, n in enumerate(lengths):
        paths, t_logp = path_log_probs(teacher, t_em[b], n)
        _, s_logp = path_log_probs(student, s_em[b], n)
        bf_pair = torch.zeros(width, 4, 4)
        for path, lp in zip(paths, t_logp):
            for t in range(1, n):
                bf_pair[t, path[t - 1], path[t]] += lp.exp()
        assert torch.allclose(pairwise[b], bf_pair, atol=1e-5)
        # summing a pair's second tag gives the first tag's marginal
        assert torch.allclose(pairwise[b, 1:n].sum(2), unary[b, :n - 1], atol=1e-5)
        # −Σ q(y) log p(y), over the legal paths q can produce
        legal = t_logp > -1000
        expected = -(t_logp[legal].exp() * s_logp[legal]).sum()
        assert loss[b].item() == pytest.approx(expected.item(), abs=1e-3)


def test_distillation_loss_with_one_hot_posteriors_is_the_nll():
    crf = random_crf(5)
    emissions = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    tags = torch.tensor([[0, 2, 3, 0, 2], [3, 0, 2, 0, 0]])
    unary = torch.nn.functional.one_hot(tags, 4).float() * mask[..., None]
    pairwise = torch.zeros(2, 5, 4, 4)
    pairwise[:, 1:] = unary[:, :-1, :, None] * unary[:, 1:, None, :]
    with torch.no_grad():
        assert torch.allclose(crf.cross_entropy(emissions, mask, unary, pairwise), crf.nll(emissions, tags, mask),
                              atol=1e-4)


def test_unary_restrictions_match_brute_force():
    crf = random_crf(4)
    emissions = torch.randn(1, 4, 4)
    allowed = torch.ones(1, 4, 4, dtype=torch.bool)
    allowed[0, 1] = torch.tensor([False, True, False, False])   # char 1 must be M
    mask = torch.ones(1, 4, dtype=torch.bool)
    path = crf.viterbi(emissions, mask, allowed)[0].tolist()
    _, bf_path, bf_marg = brute_force(crf, emissions[0], 4, allowed[0])
    assert path == bf_path
    assert path[1] == TAGS.index("M") and path[0] == TAGS.index("B")
    assert torch.allclose(crf.marginals(emissions, mask, allowed)[0], bf_marg, atol=1e-5)


def scaled_random_problem(seed: int, lengths: list[int], scale: float):
    """A constrained CRF whose random scores (often preferring illegal moves, which makes the constraints do real
    work) and emissions are all of size ``scale``; with the mask for sentences of ``lengths``."""
    generator = torch.Generator().manual_seed(seed)
    crf = CRF()
    with torch.no_grad():
        crf.transitions.copy_(torch.randn(4, 4, generator=generator) * scale)
        crf.start.copy_(torch.randn(4, generator=generator) * scale)
        crf.end.copy_(torch.randn(4, generator=generator) * scale)
    width = max(lengths)
    emissions = torch.randn(len(lengths), width, 4, generator=generator) * scale
    mask = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]
    return crf, emissions, mask


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10_000), lengths=st.lists(st.integers(1, 30), min_size=1, max_size=6),
       scale=st.floats(0.1, 20.0), restrict=st.booleans())
def test_constrained_decoding_never_emits_an_illegal_sequence(seed, lengths, scale, restrict):
    """Both decoders: the torch one scores all 16 moves, the numpy one only each tag's two legal predecessors."""
    import numpy as np

    from engine.segment.crf import apply_allowed, numpy_scores, viterbi_np

    crf, emissions, mask = scaled_random_problem(seed, lengths, scale)
    width = max(lengths)
    allowed = None
    if restrict:
        # a forced three-character word in the middle or at the end of every sentence long enough
        allowed = torch.ones(len(lengths), width, 4, dtype=torch.bool)
        for b, n in enumerate(lengths):
            if n >= 3:
                at = n - 3 if b % 2 else (n - 3) // 2
                allowed[b, at:at + 3] = torch.tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], dtype=torch.bool)
    paths = crf.viterbi(emissions, mask, allowed)
    np_paths = viterbi_np(apply_allowed(emissions, allowed).numpy(), np.array(lengths), numpy_scores(crf))
    for b, n in enumerate(lengths):
        path = paths[b, :n].tolist()
        assert is_valid(path), "".join(TAGS[t] for t in path)
        assert np_paths[b, :n].tolist() == path
        if restrict and n >= 3:
            at = n - 3 if b % 2 else (n - 3) // 2
            assert (at, at + 3) in tags_to_spans(path)


@pytest.mark.parametrize("seed", [0, 5])
def test_numpy_decoding_matches_torch(seed):
    import numpy as np

    from engine.segment.crf import marginals_np, numpy_scores, viterbi_np

    crf = random_crf(seed)
    lengths = [7, 1, 4, 6]
    width = max(lengths)
    emissions = torch.randn(len(lengths), width, 4, generator=torch.Generator().manual_seed(seed)) * 3
    mask = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]
    scores = numpy_scores(crf)
    np_lengths = np.array(lengths)
    paths = viterbi_np(emissions.numpy(), np_lengths, scores)
    marg = marginals_np(emissions.numpy(), np_lengths, scores)
    expected_paths = crf.viterbi(emissions, mask)
    expected_marg = crf.marginals(emissions, mask)
    for b, n in enumerate(lengths):
        assert paths[b, :n].tolist() == expected_paths[b, :n].tolist()
        assert is_valid(paths[b, :n].tolist())
    assert np.allclose(marg, expected_marg.numpy(), atol=1e-4)

