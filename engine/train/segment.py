"""Train the BMES segmentation tagger (engine.segment.model) on People's Daily 1998-01.

    python -m engine.train.segment --run main --epochs 30 --max-minutes 55

* Data: ``pd199801_seg.utf8`` (words separated by spaces).  Every 20th sentence
  (index % 20 == 0, so deterministic, 5%) is held out as dev; all model selection uses it.
  ``--dev-tail`` holds out the last 5% instead: more unseen words, and a dev F1 within half a
  point of the PKU test F1 where the interleaved split overstates it by two (see split_dev).
* Vocabularies (characters, character bigrams with count ≥ ``--min-bigram-count``) come
  from the training split only, after ``normalise_for_model``.
* Loss: CRF negative log-likelihood.  The CRF's transition/start/end scores sit in their
  own Adam group with ``lr × --crf-lr-mult`` — Su Jianlin's "你的CRF层的学习率可能不够大":
  with a shared small learning rate the transitions barely move while the emissions do all
  the work.  ``--crf-lr-mult 1`` is the comparison run.
* ``--teachers DIR,DIR,...``: distillation.  The teachers' average emission and transition scores
  (the geometric mean of their CRFs) define a distribution over tag paths for every training
  sentence; the student minimises ``(1 − w) · NLL(gold) + w · cross-entropy(teacher)`` with
  ``w = --distil`` (CRF.cross_entropy, exact by forward–backward).  Train the teachers on the
  same split, so the dev sentences stay unseen.
* Learning rate: linear warm-up, then ``× --decay`` after every epoch (so the first k
  epochs of a long run are the same as a k-epoch run with the same seed).
* Resumable: ``checkpoints/segment/<run>/last.pt`` every ``--checkpoint-minutes`` and at
  each epoch end (mid-epoch position included); the same command continues.  The best
  dev model is written as a model folder to ``checkpoints/segment/<run>/best/``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "cws" / "pd199801" / "pd199801_seg.utf8"
CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints" / "segment"


def read_corpus(path: Path) -> list[list[str]]:
    """Sentences as word lists (empty lines skipped)."""
    sentences = []
    with open(path, encoding="utf-8-sig") as handle:
        for line in handle:
            words = line.split()
            if words:
                sentences.append(words)
    return sentences


def split_dev(sentences: list, every: int = 20, tail: bool = False) -> tuple[list, list]:
    """(train, dev): 1/every of the sentences go to dev.

    Default: sentence i when i % every == 0.  ``tail``: the last 1/every of the file instead, i.e. the
    last days of the month.  Interleaved dev sentences share articles (names, topics) with training, so
    only 2.6% of their words are unseen; the tail has 4.2%, closer to the 5.8% of the SIGHAN test set,
    which makes it the better judge of how a model copes with new words.
    """
    if tail:
        cut = len(sentences) - len(sentences) // every
        return sentences[:cut], sentences[cut:]
    train = [s for i, s in enumerate(sentences) if i % every]
    dev = [s for i, s in enumerate(sentences) if i % every == 0]
    return train, dev


def build_vocab(texts: list[str], min_bigram_count: int) -> tuple[list[str], list[str]]:
    from engine.segment.model import SPECIAL_BIGRAMS, SPECIAL_CHARS

    char_counts = Counter()
    for t in texts:
        char_counts.update(t)
    chars = SPECIAL_CHARS + sorted(c for c in char_counts if not c.isspace())
    known = set(chars)
    bigram_counts = Counter()
    for t in texts:
        ext = ["<s>"] + list(t) + ["<s>"]
        bigram_counts.update(zip(ext, ext[1:]))
    pairs = sorted(p for p, n in bigram_counts.items()
                   if n >= min_bigram_count and p[0] in known and p[1] in known)
    return chars, SPECIAL_BIGRAMS + [f"{a}\t{b}" for a, b in pairs]


class Example:
    __slots__ = ("text", "tags")

    def __init__(self, words: list[str]):
        from engine.segment.bmes import TAGS, words_to_tags
        from engine.segment.text import normalise_for_model

        self.text = normalise_for_model("".join(words))
        self.tags = [TAGS.index(t) for t in words_to_tags(words)]


def pack_by_length(order: list[int], examples: list[Example], batch_chars: int) -> list[list[int]]:
    """Cut ``order`` (indices sorted by text length) into consecutive batches whose padded size
    (longest text × count) stays within ``batch_chars``; a text longer than that gets a batch of its own."""
    batches, current, width = [], [], 0
    for i in order:
        n = len(examples[i].text)
        if current and max(width, n) * (len(current) + 1) > batch_chars:
            batches.append(current)
            current, width = [], 0
        current.append(i)
        width = max(width, n)
    if current:
        batches.append(current)
    return batches


def make_batches(examples: list[Example], batch_chars: int, rng: random.Random) -> list[list[int]]:
    """Index batches of similar length (≈ batch_chars characters each), in shuffled order."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i].text), rng.random()))
    batches = pack_by_length(order, examples, batch_chars)
    rng.shuffle(batches)
    return batches


def tensors_for(featuriser, examples: list[Example], char_dropout: float, rng):
    import numpy as np
    import torch

    from engine.segment.model import UNK

    chars, bigrams, types, mask = featuriser.batch([e.text for e in examples])
    if char_dropout > 0:
        # Replace some characters and bigrams by <unk> so the model learns to cope with
        # characters and bigrams it has never seen (the test set is three years later).
        drop_c = (rng.random(chars.shape) < char_dropout) & mask
        chars = np.where(drop_c, UNK, chars)
        valid = bigrams > 0
        drop_b = (rng.random(bigrams.shape) < char_dropout) & valid
        bigrams = np.where(drop_b, UNK, bigrams)
    tags = np.zeros(chars.shape, dtype=np.int64)
    for i, e in enumerate(examples):
        tags[i, :len(e.tags)] = e.tags
    return (torch.from_numpy(chars), torch.from_numpy(bigrams), torch.from_numpy(types),
            torch.from_numpy(mask), torch.from_numpy(tags))


class Teacher:
    """Several trained segmenters as one CRF: the average of their emission and transition scores.

    The emissions of every training sentence are computed once (float16, ≈ 4 bytes per character);
    :meth:`targets` turns a batch of them into the posteriors the student is trained on.
    """

    def __init__(self, model_dirs: list[Path], examples: list[Example], batch_chars: int = 20000):
        import numpy as np
        import torch

        from engine.segment.crf import CRF
        from engine.segment.model import load

        models = [load(d, precision="fp32") for d in model_dirs]
        self.crf = CRF()
        with torch.no_grad():
            for name in ("transitions", "start", "end"):
                getattr(self.crf, name).copy_(torch.stack([getattr(m.tagger.crf, name) for m in models]).mean(0))
        self.emissions: list = [None] * len(examples)
        order = sorted(range(len(examples)), key=lambda i: len(examples[i].text))
        for chunk in pack_by_length(order, examples, batch_chars):
            texts = [examples[i].text for i in chunk]
            total = None
            for m in models:
                em, lengths = m.emissions(texts)
                total = em if total is None else total + em
            total /= len(models)
            for i, row, n in zip(chunk, total, lengths.tolist()):
                self.emissions[i] = row[:n].astype(np.float16)

    def targets(self, indices: list[int], tags, mask, weight: float):
        """(unary (B, T, 4), pairwise (B, T, 4, 4)) of ``(1 − weight) · gold + weight · teacher``."""
        import torch

        batch, width = mask.shape
        em = torch.zeros(batch, width, 4)
        for b, i in enumerate(indices):
            em[b, :len(self.emissions[i])] = torch.from_numpy(self.emissions[i].astype("float32"))
        unary, pairwise = self.crf.posteriors(em, mask)
        gold = torch.nn.functional.one_hot(tags, 4).float() * mask[..., None]
        gold_pairs = torch.zeros_like(pairwise)
        gold_pairs[:, 1:] = gold[:, :-1, :, None] * gold[:, 1:, None, :]
        return (1 - weight) * gold + weight * unary, (1 - weight) * gold_pairs + weight * pairwise


def evaluate(segmenter, examples: list[Example], known_words: set, batch_chars: int = 20000) -> dict:
    """Word P/R/F1 of Viterbi decoding on ``examples`` (the dev split), and the recall of words not in
    ``known_words`` (the training vocabulary)."""
    from engine.segment.bmes import span_f1, tags_to_spans

    segmenter.tagger.eval()
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].text))
    gold, pred = [], []
    for batch in pack_by_length(order, examples, batch_chars):
        chunk = [examples[k] for k in batch]
        for e, (tags, _) in zip(chunk, segmenter.tag([e.text for e in chunk])):
            gold.append(tags_to_spans(e.tags))
            pred.append(tags_to_spans(tags.tolist()))
    p, r, f = span_f1(gold, pred)
    texts = [examples[k].text for k in order]
    oov = [{(a, b) for a, b in g if t[a:b] not in known_words} for g, t in zip(gold, texts)]
    found = sum(len(o & set(h)) for o, h in zip(oov, pred))
    return {"precision": p, "recall": r, "f1": f, "oov_recall": found / max(1, sum(len(o) for o in oov))}


def export_model(run: str, name: str, dest_root: Path | None = None) -> Path:
    """Copy the best dev model of ``run`` into ``assets/models/segment/<name>/``.

    Embedding tables are stored as float16 (half the size; the loader widens them back to
    float32 and inference runs in bf16 or fp32 anyway).  ``manifest.json`` is NOT written
    here: write MODEL.md and the metrics first, then ``engine.registry.write_manifest``.
    """
    import json as _json

    from engine.weights import load_state_dict, read_config, read_vocab, save_model_dir, write_vocab

    source = CHECKPOINTS / run / "best"
    dest = (dest_root or Path(__file__).resolve().parents[2] / "assets" / "models" / "segment") / name
    config = read_config(source)
    config["name"] = name
    history = []
    log_path = CHECKPOINTS / run / "history.jsonl"
    if log_path.is_file():
        history = [_json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    config["training"] = {"run": run, "dev_f1_by_epoch": [round(h["dev"]["f1"], 5) for h in history],
                          "trained_minutes": history[-1]["trained_minutes"] if history else None}
    state = {k: (v.half() if k.endswith("_emb.weight") else v) for k, v in load_state_dict(source).items()}
    save_model_dir(dest, state, config, vocab=read_vocab(source))
    write_vocab(dest, read_vocab(source, "bigrams.txt"), "bigrams.txt")
    return dest


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine.train.segment", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--run", default="main", help="run name: checkpoints/segment/<run>/")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--max-minutes", type=float, default=0, help="stop (and keep the best dev model) after this much training time; 0 = no limit")
    parser.add_argument("--max-steps", type=int, default=0, help="stop after this many optimiser steps in total; 0 = no limit")
    parser.add_argument("--batch-chars", type=int, default=4000)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--crf-lr-mult", type=float, default=100.0, help="learning-rate multiplier of the CRF transition/start/end scores")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--decay", type=float, default=0.88, help="learning rate × this after each epoch")
    parser.add_argument("--clip", type=float, default=5.0)
    parser.add_argument("--char-dropout", type=float, default=0.02)
    parser.add_argument("--min-bigram-count", type=int, default=2)
    parser.add_argument("--char-dim", type=int, default=64)
    parser.add_argument("--bigram-dim", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--dilations", default="1,2,4")
    parser.add_argument("--gated", action="store_true", help="GLU convolutions instead of ReLU (2x the compute)")
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--dev-every", type=int, default=20)
    parser.add_argument("--dev-tail", action="store_true",
                        help="hold out the last 1/dev-every of the sentences as dev instead of every dev-every-th")
    parser.add_argument("--limit-sentences", type=int, default=0, help="use only the first N training sentences (smoke tests)")
    parser.add_argument("--checkpoint-minutes", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--teachers", default="", help="comma-separated model folders to distil (see above)")
    parser.add_argument("--distil", type=float, default=0.5, help="weight of the teachers' cross-entropy against the gold NLL")
    parser.add_argument("--seed", type=int, default=1998)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--export", metavar="NAME", help="do not train: copy the run's best model to assets/models/segment/NAME/")
    return parser


def options(**values) -> argparse.Namespace:
    """The CLI's options with ``values`` in place of defaults, e.g. ``options(run="tiny", max_steps=3)``."""
    from engine.train.common import options_from

    return options_from(build_parser(), values)


def main(argv: list[str] | None = None) -> int:
    from engine.train.common import drive_with_bar

    args = build_parser().parse_args(argv)
    if args.export:
        print(export_model(args.run, args.export))
        return 0
    drive_with_bar(train(args), desc=args.run, disable=args.no_progress)
    return 0


def train(args: argparse.Namespace):
    """Train (or resume) run ``args.run``: yields Progress(optimiser step, total steps, epoch and loss or dev
    figures); writes ``last.pt``, ``history.jsonl`` and ``best/`` under ``CHECKPOINTS/<run>/``, returns ``best/``."""
    import numpy as np
    import torch

    from engine.device import set_device
    from engine.progress import Progress
    from engine.segment.model import Featuriser, Segmenter, Tagger, TaggerConfig
    from engine.train.common import load_checkpoint, save_checkpoint, say, seed_everything
    from engine.weights import save_model_dir

    torch.set_num_threads(args.threads)
    set_device("cpu")
    run_dir = CHECKPOINTS / args.run
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / "history.jsonl", "a", encoding="utf-8")

    sentences = read_corpus(args.data)
    train_sents, dev_sents = split_dev(sentences, args.dev_every, args.dev_tail)
    if args.limit_sentences:
        train_sents = train_sents[:args.limit_sentences]
    from engine.segment.text import normalise_for_model
    known_words = {normalise_for_model(w) for s in train_sents for w in s}
    train = [Example(s) for s in train_sents]
    dev = [Example(s) for s in dev_sents]

    teacher = None
    if args.teachers:
        say("computing the teachers' scores on the training sentences")
        teacher = Teacher([Path(d) for d in args.teachers.split(",")], train)

    state = load_checkpoint(run_dir / "last.pt")
    if state is not None:
        chars, bigrams, model_config = state["chars"], state["bigrams"], state["config"]
        say(f"resuming {run_dir} at epoch {state['epoch']} step {state['step']}")
    else:
        seed_everything(args.seed)
        chars, bigrams = build_vocab([e.text for e in train], args.min_bigram_count)
        model_config = TaggerConfig(
            char_vocab_size=len(chars), bigram_vocab_size=len(bigrams), char_dim=args.char_dim,
            bigram_dim=args.bigram_dim, hidden=args.hidden,
            dilations=[int(d) for d in args.dilations.split(",")], gated=args.gated,
            dropout=args.dropout).to_dict()
    featuriser = Featuriser(chars, bigrams)
    tagger = Tagger(TaggerConfig.from_dict(model_config))
    optimiser = torch.optim.Adam([
        {"params": tagger.other_parameters(), "lr_scale": 1.0},
        {"params": tagger.crf_parameters(), "lr_scale": args.crf_lr_mult},
    ], lr=args.lr)
    epoch, step, batch_index, best_f1, trained_seconds = 0, 0, 0, -1.0, 0.0
    if state is not None:
        tagger.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        epoch, step, batch_index = state["epoch"], state["step"], state["batch_index"]
        best_f1, trained_seconds = state["best_f1"], state["trained_seconds"]
    say(f"train {len(train)} sentences ({sum(len(e.text) for e in train)} chars), dev {len(dev)}; "
        f"{len(chars)} chars, {len(bigrams)} bigrams; "
        f"{sum(p.numel() for p in tagger.parameters())} parameters")
    segmenter = Segmenter(tagger, featuriser, model_config)

    def checkpoint():
        save_checkpoint(run_dir / "last.pt", {
            "model": tagger.state_dict(), "optimiser": optimiser.state_dict(), "config": model_config,
            "chars": chars, "bigrams": bigrams, "epoch": epoch, "step": step, "batch_index": batch_index,
            "best_f1": best_f1, "trained_seconds": trained_seconds, "args": vars(args) | {"data": str(args.data)}})

    def set_lr():
        warm = min(1.0, (step + 1) / max(1, args.warmup))
        for group in optimiser.param_groups:
            group["lr"] = args.lr * group["lr_scale"] * warm * args.decay ** epoch

    # every epoch has the same number of batches (packing depends on the lengths only, not on the shuffle)
    per_epoch = len(pack_by_length(sorted(range(len(train)), key=lambda i: len(train[i].text)), train, args.batch_chars))
    total = step + (args.epochs - epoch) * per_epoch - batch_index
    if args.max_steps:
        total = min(total, args.max_steps)
    yield Progress(step, total, f"epoch {epoch + 1}/{args.epochs}")

    stop = False
    last_checkpoint = time.monotonic()
    while epoch < args.epochs and not stop:
        rng = random.Random(args.seed * 1000 + epoch)
        np_rng = np.random.default_rng(args.seed * 1000 + epoch)
        batches = make_batches(train, args.batch_chars, rng)
        tagger.train()
        total_loss, total_chars = 0.0, 0
        while batch_index < len(batches):
            started = time.monotonic()
            batch = [train[i] for i in batches[batch_index]]
            chars_t, bigrams_t, types_t, mask_t, tags_t = tensors_for(featuriser, batch, args.char_dropout, np_rng)
            set_lr()
            emissions = tagger.emissions(chars_t, bigrams_t, types_t, mask_t)
            if teacher is None:
                loss = tagger.crf.nll(emissions, tags_t, mask_t).sum() / mask_t.sum()
            else:
                unary, pairwise = teacher.targets(batches[batch_index], tags_t, mask_t, args.distil)
                loss = tagger.crf.cross_entropy(emissions, mask_t, unary, pairwise).sum() / mask_t.sum()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(tagger.parameters(), args.clip)
            optimiser.step()
            n = int(mask_t.sum())
            total_loss += float(loss.detach()) * n
            total_chars += n
            step += 1
            batch_index += 1
            trained_seconds += time.monotonic() - started
            if time.monotonic() - last_checkpoint > args.checkpoint_minutes * 60:
                checkpoint()
                last_checkpoint = time.monotonic()
            # after a due checkpoint: a caller that stops asking here keeps it
            yield Progress(step, total, f"epoch {epoch + 1}/{args.epochs} loss {total_loss / max(1, total_chars):.4f}")
            if (args.max_minutes and trained_seconds > args.max_minutes * 60) or (args.max_steps and step >= args.max_steps):
                stop = True
                break
        finished_epoch = batch_index >= len(batches)
        scores = evaluate(segmenter, dev, known_words=known_words)
        tagger.train()
        record = {"epoch": epoch + 1, "complete_epoch": finished_epoch, "step": step,
                  "train_loss_per_char": total_loss / max(1, total_chars),
                  "dev": scores, "trained_minutes": round(trained_seconds / 60, 2),
                  "crf_lr_mult": args.crf_lr_mult, "teachers": args.teachers, "distil": args.distil,
                  "transitions": [[round(x, 3) for x in row] for row in tagger.crf.transitions.tolist()]}
        log.write(json.dumps(record) + "\n")
        log.flush()
        say(f"epoch {epoch + 1}: dev P {scores['precision']:.4f} R {scores['recall']:.4f} "
            f"F1 {scores['f1']:.4f} OOV R {scores['oov_recall']:.4f}  ({trained_seconds / 60:.1f} min, step {step})")
        yield Progress(step, total, f"epoch {epoch + 1}/{args.epochs} dev F1 {scores['f1']:.4f}")
        if scores["f1"] > best_f1:
            best_f1 = scores["f1"]
            config = dict(model_config, dev_f1=round(best_f1, 5), epoch=epoch + 1, step=step)
            save_model_dir(run_dir / "best", {k: v for k, v in tagger.state_dict().items()}, config, vocab=chars)
            from engine.weights import write_vocab

            write_vocab(run_dir / "best", bigrams, "bigrams.txt")
        if finished_epoch:
            epoch += 1
            batch_index = 0
        checkpoint()
        last_checkpoint = time.monotonic()
    say(f"best dev F1 {best_f1:.4f}; model folder {run_dir / 'best'}")
    return run_dir / "best"


if __name__ == "__main__":
    sys.exit(main())
