"""Train a couplet model: ``python -m engine.train.couplet --model cnn|bert|unilm ...``.

* ``cnn`` — the seed's gated-CNN sequence labeller (基于CNN和序列标注的对联机器人):
  cross-entropy of the lower character at every non-punctuation position.
* ``bert`` — the small BERT masked LM: for each pair a masking ratio is drawn (all lower
  positions masked half of the time, else a uniform fraction), and the loss is taken on the
  masked lower positions; training on partially revealed lines is what lets decoding lock
  characters and refine by re-masking (mask-predict).
* ``unilm`` — the same BERT as a seq2seq model under the UniLM mask (upper line
  bidirectional, lower line causal): cross-entropy of every lower character given the upper
  line and the gold characters before it (teacher forcing), all positions in one pass.
  Trained on :func:`engine.couplet.data.load_modern_splits` (``modern_extra`` added) and
  selected on its modern-only dev split: the best dev checkpoint is kept beside the
  latest (``<name>.best.pt``) and is what ``--export`` writes.

Batches hold pairs of one length (no padding).  Modern 楹联/春联 are repeated
``--modern-repeat`` times per epoch so that they weigh about as much as the poetry lines.
The run is resumable: the same command continues from ``checkpoints/couplet/<name>.pt``
(saved every ``--ckpt-minutes``).  At the end (or with ``--export-only``) the weights go
to ``--export`` as config.json + vocab.txt + model.safetensors (fp16).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import sys
import time
from pathlib import Path

from engine.errors import MowenError

ROOT = Path(__file__).resolve().parents[2]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m engine.train.couplet", description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["cnn", "bert", "unilm"], required=True)
    p.add_argument("--name", help="run / model name (default: couplet-<model>)")
    p.add_argument("--dim", type=int, default=None, help="width (cnn 128, bert 256)")
    p.add_argument("--layers", type=int, default=None, help="depth (cnn 5, bert 4)")
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--minutes", type=float, default=None,
                   help="training-time budget; the learning-rate schedule follows whichever of steps/time runs out "
                        "first (the machine is shared, so steps per minute vary)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-tokens", type=int, default=640, help="cap on batch_size × line length")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (cnn 2e-3, bert 1e-3)")
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--modern-repeat", type=int, default=3)
    p.add_argument("--swapped-repeat", type=int, default=0,
                   help="also train on each modern couplet this many times with its lines swapped")
    p.add_argument("--poetry-fraction", type=float, default=1.0,
                   help="share of the poetry pairs drawn into each epoch (unilm: users write modern couplets)")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--dropout", type=float, default=None,
                   help="BERT dropout (default 0.1; also applies when resuming: short runs underfit, 0 helps)")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--eval-size", type=int, default=1000)
    p.add_argument("--ckpt-minutes", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init-embeddings", type=Path, metavar="CHECKPOINT",
                   help="start the BERT's character embeddings from a trained CNN checkpoint (same vocabulary and "
                        "width): the baseline has already learnt which characters pair up, a head start on one CPU core")
    p.add_argument("--init", type=Path, metavar="MODEL_DIR",
                   help="start a new run from an exported model folder of the same kind (its width, depth and "
                        "weights; vocabulary must match): a warm restart with a fresh learning-rate schedule")
    p.add_argument("--export", type=Path, help="model folder to write at the end")
    p.add_argument("--export-only", action="store_true", help="write --export from the checkpoint and stop")
    p.add_argument("--no-resume", action="store_true")
    return p


def options(**values) -> argparse.Namespace:
    """The CLI's options with ``values`` in place of defaults, e.g. ``options(model="cnn", steps=3)``."""
    from engine.train.common import options_from

    return options_from(build_parser(), values)


class NoCheckpoint(MowenError):
    """``--export-only`` with no checkpoint to export."""


def run_name(args: argparse.Namespace) -> str:
    return args.name or f"couplet-{args.model}"


def main(argv=None) -> int:
    from engine.train.common import drive_with_bar

    args = build_parser().parse_args(argv)
    try:
        drive_with_bar(train(args), desc=run_name(args))
    except NoCheckpoint as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def train(args: argparse.Namespace):
    """Train (or resume, or with ``export_only`` just export) run ``run_name(args)``: yields Progress(optimiser
    step, total steps, running loss and accuracy, the last dev figures); writes ``checkpoints/couplet/<name>.pt``,
    ``.best.pt`` and ``.metrics.jsonl`` under ROOT and the ``--export`` folder; returns the last dev record."""
    import torch

    from engine.couplet.data import (MASK, UNK, build_vocab, length_batches, load_modern_splits, load_splits,
                                     training_examples)
    from engine.couplet.model import bert_lower_logits, build_net, export_state, unilm_logits
    from engine.device import bf16_is_fast
    from engine.progress import Progress
    from engine.train.common import load_checkpoint, save_checkpoint, say, seed_everything
    from engine.weights import save_model_dir

    torch.set_num_threads(args.threads)
    name = run_name(args)
    ckpt_path = ROOT / "checkpoints" / "couplet" / f"{name}.pt"
    log_path = ROOT / "checkpoints" / "couplet" / f"{name}.metrics.jsonl"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    seed_everything(args.seed)

    if args.model == "unilm":
        train, dev, _test = load_modern_splits()  # the test split is for benchmarks/couplet.py only
    else:
        train, dev = load_splits()
    best_path = ckpt_path.with_suffix(".best.pt")
    state = None if args.no_resume else load_checkpoint(ckpt_path)
    if state is not None:
        config, vocab = state["config"], state["vocab"]
        say(f"resuming {name} at step {state['step']}")
    else:
        vocab = build_vocab(train)
        defaults = {"cnn": (128, 5, 2e-3), "bert": (256, 4, 1e-3), "unilm": (256, 4, 1e-3)}[args.model]
        config = {"kind": args.model, "name": name, "vocab_size": len(vocab),
                  "dim": args.dim or defaults[0], "layers": args.layers or defaults[1],
                  "heads": args.heads, "max_len": 30, "max_positions": 64, "dropout": 0.1,
                  "lr": args.lr or defaults[2], "steps": args.steps, "batch_size": args.batch_size,
                  "modern_repeat": args.modern_repeat, "poetry_fraction": args.poetry_fraction,
                  "swapped_repeat": args.swapped_repeat,
                  "label_smoothing": args.label_smoothing, "seed": args.seed}
    donor = None
    if state is None and args.init is not None:
        from engine.couplet.model import load_bert, load_cnn

        from engine.couplet.model import load_unilm

        donor = {"bert": load_bert, "cnn": load_cnn,
                 "unilm": functools.partial(load_unilm, int8=False)}[config["kind"]](args.init)
        if donor.vocab != vocab:
            raise SystemExit(f"{args.init}: vocabulary differs from the training data's, cannot start from it")
        for key in ("dim", "layers", "heads", "max_len", "max_positions"):
            if key in donor.config:
                config[key] = donor.config[key]
        config["init"] = args.init.name
    if args.dropout is not None:
        config["dropout"] = args.dropout
    index = {t: i for i, t in enumerate(vocab)}
    net = build_net(config)
    if donor is not None:
        net.load_state_dict(donor.net.state_dict())
        say(f"weights initialised from {args.init}")
    total_steps = config["steps"]
    optimizer = torch.optim.AdamW(net.parameters(), lr=config["lr"], weight_decay=0.01)

    def progress(step):
        done = (step - args.warmup) / max(1, total_steps - args.warmup)
        if config.get("minutes"):
            done = max(done, (elapsed + time.time() - t0) / 60 / config["minutes"])
        return done

    def lr_at(step):  # linear warm-up, cosine decay to 5%
        if step < args.warmup:
            return config["lr"] * (step + 1) / args.warmup
        t = min(1.0, progress(step))
        return config["lr"] * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))

    step = 0
    elapsed = 0.0  # training seconds before this run (resumed runs)
    t0 = time.time()
    if args.minutes is not None:
        config["minutes"] = args.minutes
    rng = random.Random(args.seed)
    if state is None and args.init_embeddings is not None:
        donor = torch.load(args.init_embeddings, map_location="cpu", weights_only=False)
        if donor["vocab"] != vocab:
            raise SystemExit(f"{args.init_embeddings}: vocabulary differs, cannot reuse its embeddings")
        weight = donor["model"]["embed.weight"]
        # the CNN's embeddings have unit scale; BERT's (tied to its output layer) start at 0.02
        weight = weight * (0.05 / weight.std())
        with torch.no_grad():
            net.get_input_embeddings().weight.copy_(weight)
        config["init_embeddings"] = str(args.init_embeddings.name)
        say(f"character embeddings initialised from {args.init_embeddings}")
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
        elapsed = state.get("elapsed", 0.0)
        rng.setstate(state["data_rng"])

    def encode_batch(batch):
        up = torch.tensor([[index.get(c, UNK) for c in p.upper] for p in batch])
        low = torch.tensor([[index.get(c, UNK) for c in p.lower] for p in batch])
        punct = torch.tensor([[c in "，、；：。？！" for c in p.upper] for p in batch])
        return up, low, punct

    def loss_and_correct(up, low, punct, mask_all: bool):
        """Mean CE over predicted lower positions, count correct, count predicted."""
        target = low.clone()
        target[punct | (low == UNK)] = -100
        if config["kind"] == "cnn":
            logits = net(up)
            predicted = ~punct
        elif config["kind"] == "unilm":
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16 and net.training):
                logits = unilm_logits(net, up, low[:, :-1]).float()
            predicted = ~punct
        else:
            b, n = up.shape
            if mask_all:
                masked = ~punct
            else:
                ratio = torch.rand(b, 1)
                ratio = torch.where(torch.rand(b, 1) < 0.5, torch.ones_like(ratio), ratio)
                masked = (torch.rand(b, n) < ratio) & ~punct
                # at least one masked position per line
                first = torch.multinomial((~punct).float() + 1e-6, 1)
                masked.scatter_(1, first, True)
                masked &= ~punct
            lower_in = torch.where(masked, torch.full_like(low, MASK), low)
            logits = bert_lower_logits(net, up, lower_in)
            predicted = masked
            target[~masked] = -100
        smoothing = config.get("label_smoothing", 0.0) if net.training else 0.0
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                                 ignore_index=-100, reduction="sum", label_smoothing=smoothing)
        valid = target != -100
        correct = ((logits.argmax(-1) == low) & valid).sum().item()
        return loss, correct, int(valid.sum().item()), predicted

    use_bf16 = bf16_is_fast(torch.device("cpu"))
    best_dev = state.get("best_dev", float("inf")) if state is not None else float("inf")
    dev_rng = random.Random(1234)
    dev_sample = dev_rng.sample(dev, min(args.eval_size, len(dev)))

    @torch.inference_mode()
    def evaluate():
        net.eval()
        tot_loss = tot_correct = tot_n = 0
        for batch in length_batches(dev_sample, 128, random.Random(0)):
            loss, correct, n, _ = loss_and_correct(*encode_batch(batch), mask_all=True)
            tot_loss += loss.item()
            tot_correct += correct
            tot_n += n
        net.train()
        return tot_loss / max(1, tot_n), tot_correct / max(1, tot_n)

    def save(path=None):
        save_checkpoint(path or ckpt_path, {"model": net.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                                            "elapsed": elapsed + time.time() - t0, "config": config, "vocab": vocab,
                                            "data_rng": rng.getstate(), "best_dev": best_dev})

    def keep_if_best(record, dev_loss):
        """Save the best dev checkpoint beside the latest one (export ships it)."""
        nonlocal best_dev
        if dev_loss < best_dev:
            best_dev = dev_loss
            record["best"] = True
            save(best_path)

    def export():
        nonlocal step
        if args.export is None:
            return
        if best_path.is_file():  # ship the best dev checkpoint, not the latest
            best = torch.load(best_path, map_location="cpu", weights_only=False)
            net.load_state_dict(best["model"])
            step = best["step"]
        cfg = {k: v for k, v in config.items() if k not in ("lr", "steps", "batch_size", "modern_repeat", "seed")}
        save_model_dir(args.export, export_state(net), cfg, vocab)
        (args.export / "training.json").write_text(json.dumps(
            {"steps": step, "config": config, "dev": evaluate()}, ensure_ascii=False, indent=1) + "\n")
        say(f"exported {args.export}")

    if args.export_only:
        if state is None:
            raise NoCheckpoint("no checkpoint to export")
        export()
        return None

    def epoch_examples():
        return training_examples(train, config["modern_repeat"], config.get("poetry_fraction", 1.0), rng,
                                 config.get("swapped_repeat", 0))

    examples = epoch_examples()
    n_params = sum(p.numel() for p in net.parameters())
    say(f"{name}: {n_params / 1e6:.2f}M parameters, vocab {len(vocab)}, {len(examples)} examples/epoch, "
        f"{len(dev_sample)} dev pairs")
    net.train()
    last_ckpt = t0 = time.time()
    figures = dev_figures = ""
    yield Progress(step, total_steps)
    run_loss = run_correct = run_n = 0
    finished = False
    while not finished:
        if config.get("poetry_fraction", 1.0) < 1.0:  # a fresh poetry sample each epoch
            examples = epoch_examples()
        for batch in length_batches(examples, config["batch_size"], rng, args.max_tokens):
            if step >= total_steps or progress(step) >= 1.0:
                finished = True
                break
            for g in optimizer.param_groups:
                g["lr"] = lr_at(step)
            loss, correct, n, _ = loss_and_correct(*encode_batch(batch), mask_all=False)
            optimizer.zero_grad(set_to_none=True)
            (loss / max(1, n)).backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            step += 1
            run_loss += loss.item()
            run_correct += correct
            run_n += n
            if step % 50 == 0:
                figures = f"loss {run_loss / max(1, run_n):.3f} acc {run_correct / max(1, run_n):.3f}"
                run_loss = run_correct = run_n = 0
            if step % args.eval_every == 0:
                dev_loss, dev_acc = evaluate()
                record = {"step": step, "dev_loss": round(dev_loss, 4), "dev_acc": round(dev_acc, 4),
                          "minutes": round((elapsed + time.time() - t0) / 60, 2), "lr": lr_at(step)}
                keep_if_best(record, dev_loss)
                say(json.dumps(record), sys.stdout)
                with open(log_path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")
                dev_figures = f" · dev loss {dev_loss:.3f} acc {dev_acc:.3f}"
            if time.time() - last_ckpt > args.ckpt_minutes * 60:
                save()
                last_ckpt = time.time()
            yield Progress(step, total_steps, figures + dev_figures)  # after a due save: a stop here keeps it
    dev_loss, dev_acc = evaluate()
    record = {"step": step, "dev_loss": round(dev_loss, 4), "dev_acc": round(dev_acc, 4), "final": True,
              "minutes": round((elapsed + time.time() - t0) / 60, 2)}
    keep_if_best(record, dev_loss)
    say(json.dumps(record))
    with open(log_path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    save()
    export()
    return record


if __name__ == "__main__":
    raise SystemExit(main())
