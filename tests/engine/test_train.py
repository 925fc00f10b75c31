"""The trainers: dev splits, dev scoring, and that a run stopped early resumes where it stopped.

Each run is a few optimiser steps of a tiny model on a few sentences/lines, so the whole
file takes seconds; the real training commands are in each MODEL.md.
"""

from __future__ import annotations

import json

import pytest

from engine.train import segment as train_segment

PD = train_segment.Path(train_segment.__file__).resolve().parents[3] / "shared/data/cws/pd199801/pd199801_seg.utf8"


def test_interleaved_and_tail_dev_splits_partition_the_corpus():
    sentences = [[f"w{i}"] for i in range(100)]
    for tail in (False, True):
        train, dev = train_segment.split_dev(sentences, 20, tail=tail)
        assert len(dev) == 5 and len(train) == 95
        assert sorted(train + dev) == sorted(sentences)
    assert train_segment.split_dev(sentences, 20, tail=True)[1] == sentences[95:]
    assert train_segment.split_dev(sentences, 20)[1] == sentences[::20]


class _FixedSegmenter:
    """Stands in for a Segmenter: returns the given tags for each text."""

    def __init__(self, tags_by_text):
        self.tags_by_text = tags_by_text
        self.tagger = type("T", (), {"eval": lambda self: None})()

    def tag(self, texts):
        import numpy as np

        return [(np.array(self.tags_by_text[t]), None) for t in texts]


def test_dev_scores_count_recall_of_unseen_words():
    from engine.segment.bmes import TAGS, words_to_tags

    gold = [["我们", "喜欢", "银杏树"], ["他", "来", "了"]]
    # predicted: 我们|喜欢|银杏|树 and 他|来了
    predicted = {"我们喜欢银杏树": words_to_tags(["我们", "喜欢", "银杏", "树"]),
                 "他来了": words_to_tags(["他", "来了"])}
    examples = [train_segment.Example(s) for s in gold]
    segmenter = _FixedSegmenter({t: [TAGS.index(c) for c in tags] for t, tags in predicted.items()})
    scores = train_segment.evaluate(segmenter, examples, known_words={"我们", "喜欢", "他", "来", "了"})
    # gold 6 words, predicted 6 words, 3 right (我们 喜欢 他)
    assert scores["precision"] == pytest.approx(3 / 6) and scores["recall"] == pytest.approx(3 / 6)
    assert scores["oov_recall"] == 0.0                     # the one unseen word, 银杏树, was cut
    scores = train_segment.evaluate(segmenter, examples[1:], known_words={"他"})
    assert scores["oov_recall"] == 0.0 and scores["recall"] == pytest.approx(1 / 3)


@pytest.mark.needs_shared("cws/pd199801/pd199801_seg.utf8")
def test_segment_trainer_resumes_from_its_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(train_segment, "CHECKPOINTS", tmp_path)
    common = ["--run", "tiny", "--limit-sentences", "60", "--hidden", "16", "--char-dim", "8", "--bigram-dim", "8",
              "--dilations", "1", "--batch-chars", "800", "--epochs", "1", "--no-progress", "--dev-tail"]
    assert train_segment.main(common + ["--max-steps", "2"]) == 0
    history = [json.loads(line) for line in (tmp_path / "tiny/history.jsonl").read_text().splitlines()]
    assert history[-1]["step"] == 2 and not history[-1]["complete_epoch"]
    assert "oov_recall" in history[-1]["dev"]
    assert (tmp_path / "tiny/best/model.safetensors").is_file()

    capsys.readouterr()
    assert train_segment.main(common + ["--max-steps", "4"]) == 0
    assert "resuming" in capsys.readouterr().err
    history = [json.loads(line) for line in (tmp_path / "tiny/history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [2, 4]


@pytest.mark.needs_shared("cws/pd199801/pd199801_seg.utf8")
def test_segment_trainer_distils_a_teacher(tmp_path, monkeypatch):
    import numpy as np
    import torch

    from engine.segment.model import load

    monkeypatch.setattr(train_segment, "CHECKPOINTS", tmp_path)
    common = ["--limit-sentences", "40", "--hidden", "16", "--char-dim", "8", "--bigram-dim", "8",
              "--dilations", "1", "--batch-chars", "800", "--epochs", "1", "--no-progress", "--dev-tail"]
    assert train_segment.main(["--run", "teacher", "--max-steps", "3"] + common) == 0
    teacher_dir = tmp_path / "teacher/best"

    sentences = train_segment.read_corpus(PD)[:3]
    examples = [train_segment.Example(s) for s in sentences]
    teacher = train_segment.Teacher([teacher_dir, teacher_dir], examples)
    # two copies of one model average to that model
    em, lengths = load(teacher_dir, precision="fp32").emissions([e.text for e in examples])
    for row, n, stored in zip(em, lengths, teacher.emissions):
        assert np.allclose(row[:n], stored.astype(np.float32), atol=1e-2)

    featuriser = load(teacher_dir).featuriser
    *_, mask, tags = train_segment.tensors_for(featuriser, examples, 0.0, np.random.default_rng(0))
    gold_u, gold_p = teacher.targets([0, 1, 2], tags, mask, 0.0)
    assert torch.equal(gold_u.argmax(2)[mask], tags[mask])
    soft_u, soft_p = teacher.targets([0, 1, 2], tags, mask, 1.0)
    assert torch.allclose(soft_u.sum(2)[mask], torch.ones(int(mask.sum())), atol=1e-4)
    assert torch.allclose(soft_p[:, 1:].sum((2, 3))[mask[:, 1:]], torch.ones(int(mask[:, 1:].sum())), atol=1e-4)
    assert not torch.allclose(soft_u, gold_u)   # an untrained teacher is far from one-hot

    assert train_segment.main(["--run", "student", "--max-steps", "2", "--teachers", str(teacher_dir),
                               "--distil", "0.7"] + common) == 0
    history = [json.loads(line) for line in (tmp_path / "student/history.jsonl").read_text().splitlines()]
    assert history[-1]["teachers"] == str(teacher_dir) and history[-1]["distil"] == 0.7
    assert np.isfinite(history[-1]["train_loss_per_char"])


@pytest.mark.needs_shared("charset")
def test_ocr_trainer_resumes_and_starts_from_other_weights(tmp_path, monkeypatch, capsys):
    from engine.ocr import synth
    from engine.train import ocr as train_ocr

    face = synth.default_face()
    if face is None:
        pytest.skip("no CJK font")
    # one face keeps the coverage scan (which reads every glyph of every face) short
    monkeypatch.setattr(synth, "find_fonts", lambda: [face])
    common = ["--batch", "4", "--channels", "4,4,8,8", "--hidden", "8", "--val-size", "4", "--max-chars", "6",
              "--eval-every", "2"]
    first = tmp_path / "first"
    assert train_ocr.main(common + ["--out", str(first), "--steps", "2"]) == 0
    assert json.loads((first / "history.json").read_text())[-1]["step"] == 2
    assert (first / "best/model.safetensors").is_file()

    capsys.readouterr()
    assert train_ocr.main(common + ["--out", str(first), "--steps", "4"]) == 0
    assert "resumed at step 2" in capsys.readouterr().err
    assert [h["step"] for h in json.loads((first / "history.json").read_text())] == [2, 4]

    second = tmp_path / "second"
    (second).mkdir()
    (second / "font_coverage.json").write_bytes((first / "font_coverage.json").read_bytes())
    assert train_ocr.main(common + ["--out", str(second), "--steps", "2", "--init", str(first / "best")]) == 0
    assert f"initialised from {first / 'best'}" in capsys.readouterr().err
    # the weights it started from are measured first: a run that only gets worse keeps them as its best
    assert [h["step"] for h in json.loads((second / "history.json").read_text())] == [0, 2]
    # a narrower model is refused, not silently half-loaded; a wider one grows from it
    assert train_ocr.main(common[:4] + ["--hidden", "4"] + common[6:] +
                          ["--out", str(tmp_path / "third"), "--steps", "2", "--init", str(first / "best")]) == 2
    capsys.readouterr()
    assert train_ocr.main(["--batch", "4", "--channels", "4,6,8,12", "--hidden", "12"] + common[6:] +
                          ["--out", str(tmp_path / "wide"), "--steps", "2", "--init", str(first / "best")]) == 0
    assert "widened from channels [4, 4, 8, 8], hidden 8" in capsys.readouterr().err


def test_a_widened_recogniser_reads_as_its_donor_did():
    import torch

    from engine.ocr.model import LineRecogniser
    from engine.train.ocr import RunRefused, widen_network

    torch.manual_seed(0)
    donor = LineRecogniser(30, (4, 6, 8, 10), 6, width_stride=4)
    donor.train()
    for _ in range(3):  # BatchNorm statistics that are not the identity
        donor(torch.rand(4, 1, 32, 48))
    donor.eval()
    config = {"channels": [4, 6, 8, 10], "hidden": 6}
    wide = LineRecogniser(30, (5, 9, 12, 16), 11, width_stride=4).eval()
    lines = torch.rand(3, 1, 32, 64)
    wide.load_state_dict(widen_network(donor.state_dict(), config, (5, 9, 12, 16), 11))
    assert torch.allclose(wide(lines), donor(lines), atol=1e-5)
    # noise parts the copies (they would get equal gradients forever) and changes the output only a little
    wide.load_state_dict(widen_network(donor.state_dict(), config, (5, 9, 12, 16), 11, noise=0.02))
    change = (wide(lines) - donor(lines)).abs().max()
    assert 0 < change < 0.05 * donor(lines).abs().max()
    with pytest.raises(RunRefused):
        widen_network(donor.state_dict(), config, (4, 6, 8, 8), 6)


def test_ocr_training_stream_mixes_in_clean_lines_by_seed():
    import numpy as np

    from engine.train.ocr import make_batches

    class Recorder:  # stands in for the synthesiser: records which seeds were asked for clean lines
        def __init__(self):
            self.clean = set()

        def sample(self, seed, degrade=True):
            if not degrade:
                self.clean.add(seed)
            return type("S", (), {"image": np.zeros((2, 2 + seed % 5)), "text": str(seed)})()

    seeds = list(range(400))
    first, again, none = Recorder(), Recorder(), Recorder()
    batches = make_batches(first, seeds, 32, lambda image: image, clean_fraction=0.2)
    make_batches(again, seeds, 32, lambda image: image, clean_fraction=0.2)
    make_batches(none, seeds, 32, lambda image: image)
    assert 0.12 < len(first.clean) / len(seeds) < 0.28
    assert first.clean == again.clean      # a resumed run renders the same lines
    assert not none.clean
    widths = [b[0].shape[1] for batch in batches for b in batch]
    assert widths == sorted(widths) and sum(len(b) for b in batches) == len(seeds)


@pytest.mark.needs_shared("couplet/modern_extra")
@pytest.mark.parametrize("kind, name, dim, loss_under", [("bert", "couplet-bert", 128, 6.0),
                                                         ("unilm", "couplet-unilm", 256, 4.6)])
def test_couplet_trainer_starts_from_a_shipped_model(tmp_path, monkeypatch, kind, name, dim, loss_under):
    from engine.couplet.data import DATA_DIR
    from engine.train import couplet as train_couplet

    shipped = train_couplet.ROOT / "assets/models/couplet" / name
    if not (shipped / "model.safetensors").is_file() or not DATA_DIR.is_dir():
        pytest.skip(f"needs the shipped {name} and the couplet data")
    monkeypatch.setattr(train_couplet, "ROOT", tmp_path)       # checkpoint and metrics go to tmp_path
    args = ["--model", kind, "--name", "warm", "--init", str(shipped), "--steps", "1", "--eval-every", "1",
            "--eval-size", "64", "--dropout", "0", "--lr", "1e-7", "--warmup", "1", "--threads", "1"]
    # (the UniLM decodes with int8 layers on a CPU; the trainer must start from its float weights)
    assert train_couplet.main(args) == 0
    records = [json.loads(line) for line in (tmp_path / "checkpoints/couplet/warm.metrics.jsonl").read_text().splitlines()]
    # a new model starts near ln(7455) ≈ 8.9 nats per character; couplet-bert is at ≈ 5.4, couplet-unilm ≈ 4.2
    assert records[0]["dev_loss"] < loss_under
    state = __import__("torch").load(tmp_path / "checkpoints/couplet/warm.pt", weights_only=False)
    assert state["config"]["dim"] == dim and state["config"]["init"] == name


@pytest.mark.needs_shared("couplet/modern_extra")
def test_unilm_couplet_trainer_keeps_the_best_dev_checkpoint_and_exports_it(tmp_path, monkeypatch):
    from engine.couplet.decode import generate_couplet
    from engine.couplet.model import load_unilm
    from engine.train import couplet as train_couplet

    monkeypatch.setattr(train_couplet, "ROOT", tmp_path)
    out = tmp_path / "export"
    args = ["--model", "unilm", "--name", "tiny", "--dim", "32", "--layers", "1", "--heads", "2", "--steps", "4",
            "--eval-every", "2", "--eval-size", "32", "--warmup", "1", "--threads", "1", "--batch-size", "8",
            "--poetry-fraction", "0.01", "--export", str(out)]
    assert train_couplet.main(args) == 0
    records = [json.loads(line) for line in (tmp_path / "checkpoints/couplet/tiny.metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 4] and records[0].get("best")
    best = __import__("torch").load(tmp_path / "checkpoints/couplet/tiny.best.pt", weights_only=False)
    best_loss = min(r["dev_loss"] for r in records)
    exported = json.loads((out / "training.json").read_text())
    assert exported["steps"] == best["step"] and abs(exported["dev"][0] - best_loss) < 1e-3
    model = load_unilm(out)
    assert model.kind == "unilm" and model.config["kind"] == "unilm"
    best_line = generate_couplet("春回大地", model=model).best
    assert best_line.rules.hard_ok and best_line.rules.no_reuse


# --- train(args) generators: 3 steps, then a second run resumes at step 3 (tiny models, data in tmp_path) ---

def _steps(job):
    """Drive a trainer's generator; (its Progress reports, its return value)."""
    from engine.progress import drive

    reports = []
    return reports, drive(job, reports.append)


def _assert_counts_up(reports, first, last):
    from engine.progress import Progress

    steps = [p.step for p in reports]
    assert all(isinstance(p, Progress) for p in reports)
    assert steps[0] == first and steps[-1] == last == reports[-1].total
    assert steps == sorted(steps) and set(range(first, last + 1)) <= set(steps)


def test_trainer_options_are_the_cli_defaults_with_some_replaced():
    from engine.train import couplet as train_couplet

    args = train_segment.options(run="tiny", max_steps=3)
    assert (args.run, args.max_steps, args.epochs, args.lr) == ("tiny", 3, 30, 2e-3)
    assert vars(train_segment.build_parser().parse_args(["--run", "tiny", "--max-steps", "3"])) == vars(args)
    with pytest.raises(TypeError):
        train_segment.options(max_step=3)          # a misspelt option is refused, not ignored
    with pytest.raises(TypeError):
        train_couplet.options(steps=3)             # --model is required


def test_segment_train_yields_progress_and_resumes(tmp_path, monkeypatch):
    import random

    monkeypatch.setattr(train_segment, "CHECKPOINTS", tmp_path / "checkpoints")
    words = ["我们", "喜欢", "银杏", "树", "他", "来", "了", "北京", "天气", "很", "好", "今天"]
    rng = random.Random(0)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(" ".join(rng.choice(words) for _ in range(6)) + "\n" for _ in range(80)), encoding="utf-8")
    args = dict(data=corpus, run="tiny", hidden=8, char_dim=4, bigram_dim=4, dilations="1", batch_chars=100,
                epochs=1, dev_tail=True, min_bigram_count=1)

    reports, best = _steps(train_segment.train(train_segment.options(max_steps=3, **args)))
    _assert_counts_up(reports, 0, 3)
    assert "loss" in reports[1].message and "dev F1" in reports[-1].message
    assert (best / "model.safetensors").is_file()

    reports, _ = _steps(train_segment.train(train_segment.options(max_steps=5, **args)))
    _assert_counts_up(reports, 3, 5)                 # resumed from last.pt, not from step 0
    history = [json.loads(line) for line in (tmp_path / "checkpoints/tiny/history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [3, 5]


def test_couplet_train_yields_progress_and_resumes_where_it_was_stopped(tmp_path, monkeypatch):
    import random

    import torch

    from engine.couplet import data
    from engine.couplet.data import Pair
    from engine.train import couplet as train_couplet

    rng = random.Random(0)
    chars = "春风花雨山水月日天地人家"
    pairs = [Pair("".join(rng.choice(chars) for _ in range(n)), "".join(rng.choice(chars) for _ in range(n)),
                  data.MODERN, str(i)) for i, n in enumerate([5, 7] * 20)]
    monkeypatch.setattr(data, "load_splits", lambda: (pairs[:32], pairs[32:]))
    monkeypatch.setattr(train_couplet, "ROOT", tmp_path)
    # the step budget is part of the run (kept in its checkpoint), so the first run is stopped at step 3 by
    # asking for no more reports (as a GUI's Cancel does); --ckpt-minutes 0 saves after every step
    args = train_couplet.options(model="cnn", name="tiny", dim=16, layers=1, steps=6, batch_size=4, warmup=1,
                                 eval_size=8, ckpt_minutes=0.0)
    job = train_couplet.train(args)
    reports = []
    for report in job:
        reports.append(report)
        if report.step == 3:
            break
    job.close()
    assert [p.step for p in reports] == [0, 1, 2, 3] and reports[-1].total == 6
    ckpt = tmp_path / "checkpoints/couplet/tiny.pt"
    assert torch.load(ckpt, weights_only=False)["step"] == 3

    reports, final = _steps(train_couplet.train(args))
    _assert_counts_up(reports, 3, 6)                 # resumed from tiny.pt, not from step 0
    assert final["final"] and final["step"] == 6
    assert torch.load(ckpt, weights_only=False)["step"] == 6
    # the CLI around it: --export-only with no checkpoint is one line and exit status 1, as before
    assert train_couplet.main(["--model", "cnn", "--name", "none", "--export-only", "--export", str(tmp_path / "x")]) == 1


@pytest.mark.needs_shared("charset")
def test_ocr_train_yields_progress_and_resumes(tmp_path, monkeypatch):
    from engine.ocr import synth
    from engine.train import ocr as train_ocr

    face = synth.default_face()
    if face is None:
        pytest.skip("no CJK font")
    monkeypatch.setattr(synth, "find_fonts", lambda: [face])   # one face keeps the coverage scan short
    tiny = dict(out=str(tmp_path / "run"), batch=4, channels="4,4,8,8", hidden=8, val_size=4, max_chars=6,
                eval_every=100)

    reports, history = _steps(train_ocr.train(train_ocr.options(steps=3, **tiny)))
    _assert_counts_up(reports, 0, 3)
    assert "loss" in reports[1].message and "val CER" in reports[-1].message
    assert [h["step"] for h in history] == [3] and (tmp_path / "run/best/model.safetensors").is_file()

    reports, history = _steps(train_ocr.train(train_ocr.options(steps=5, **tiny)))
    _assert_counts_up(reports, 3, 5)                 # resumed from last.pt, not from step 0
    assert [h["step"] for h in history] == [3, 5]
    # a checkpoint of another shape is refused with a message (the CLI's exit status 2), not half-loaded
    with pytest.raises(train_ocr.RunRefused):
        list(train_ocr.train(train_ocr.options(steps=5, **(tiny | {"hidden": 16}))))
    # a time budget that runs out between evaluations still measures (and may keep) the last weights
    timed = tiny | {"out": str(tmp_path / "timed")}
    reports, history = _steps(train_ocr.train(train_ocr.options(steps=50, minutes=0.0001, **timed)))
    assert 1 <= reports[-1].step < 50 and [h["step"] for h in history] == [reports[-1].step]
