"""Train the OCR line recogniser (CNN + BiLSTM + CTC) on synthetic lines rendered on the fly.

    python -m engine.train.ocr --steps 4000 --minutes 70

Every batch is rendered fresh by :mod:`engine.ocr.synth` from the *training* part of
the corpora (held-out lines are never used), seeded by (seed, step) so a resumed run
sees the same stream.  Every ``--eval-every`` steps the greedy CER on a fixed held-out
rendered set (degraded and clean) is measured, the current weights are exported as a
model folder to ``<out>/export`` and, when the CER improved, to ``<out>/best``.
``<out>/last.pt`` (model, optimiser, step, RNG) is written every few minutes, and the
same command resumes from it.  Runs on one CPU thread by default (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

from engine.errors import MowenError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m engine.train.ocr", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="checkpoints/ocr", help="checkpoint folder (resumes from <out>/last.pt)")
    p.add_argument("--steps", type=int, default=4000, help="total optimiser steps (LR schedule length)")
    p.add_argument("--minutes", type=float, default=0,
                   help="training time budget in minutes over all resumed runs; the LR schedule anneals by "
                        "whichever of steps or minutes runs out first; 0 = steps only")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--channels", default="32,64,128,192")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--width-stride", type=int, default=8, choices=(4, 8),
                   help="input pixels per CTC column (--init may come from the other stride: same weights)")
    p.add_argument("--max-chars", type=int, default=20, help="longest training line in characters")
    p.add_argument("--clean-fraction", type=float, default=0.2,
                   help="share of training lines rendered black on white with no degradation (the clean "
                        "benchmark subset; degraded rendering almost never produces such a line)")
    p.add_argument("--real-lines", action="append", default=[], metavar="DIR",
                   help="a page set built with `python -m benchmarks.ocr_real.build --text train` (Chromium screens, "
                        "Writer scans, photos of the trainer's own text): its ground-truth lines are cut out and mixed "
                        "into the batches; every 10th page is kept for validation (repeatable)")
    p.add_argument("--pipeline-lines", action="append", default=[], metavar="DIR",
                   help="line crops cut by the page pipeline from a training page set (python -m "
                        "engine.train.ocr_harvest): mixed in with --real-lines; every 10th page is kept for validation")
    p.add_argument("--real-fraction", type=float, default=0.3,
                   help="share of training lines taken from --real-lines and --pipeline-lines")
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--checkpoint-minutes", type=float, default=3.0)
    p.add_argument("--val-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--init", metavar="DIR", help="start a new run (fresh optimiser and LR schedule) from the weights "
                   "in DIR (an exported or shipped model folder, e.g. checkpoints/ocr/best or "
                   "assets/models/ocr/crnn-ctc-s7); a narrower one (smaller --channels or --hidden) is widened to this "
                   "run's shape and starts reading as it did (widen_network); ignored when resuming")
    p.add_argument("--ship", metavar="NAME", help="instead of training: copy <out>/best (weights, config, charset) "
                   "to assets/models/ocr/NAME, build the character LM there and write the manifest")
    p.add_argument("--rebuild-lm", action="store_true", help="with --ship: rebuild lm.npz even if the folder has one")
    p.add_argument("--lm-weight", type=float, default=0.3, help="with --ship: LM weight stored in config.json")
    p.add_argument("--length-bonus", type=float, default=0.6, help="with --ship: per-character bonus in beam search")
    return p


def options(**values) -> argparse.Namespace:
    """The CLI's options with ``values`` in place of defaults, e.g. ``options(out="/tmp/run", steps=3)``."""
    from engine.train.common import options_from

    return options_from(build_parser(), values)


class RunRefused(MowenError):
    """A checkpoint or ``--init`` folder that does not fit this run (the CLI exits 2)."""


def selection_score(record: dict) -> float:
    """What the best checkpoint minimises: synthetic val CER, averaged with the real-renderer val CER if any."""
    return (record["val_cer"] + record["real_cer"]) / 2 if "real_cer" in record else record["val_cer"]


def ship(args) -> int:
    """Copy the best checkpoint export into assets/models/ocr/<name>/ with the LM; manifest last."""
    from engine.ocr.lm import build_lm
    from engine.registry import ASSETS_DIR, write_manifest
    from engine.weights import load_state_dict, read_config, save_model_dir

    source = Path(args.out) / "best"
    target = ASSETS_DIR / "models" / "ocr" / args.ship
    target.mkdir(parents=True, exist_ok=True)
    config = read_config(source)
    config.update({"lm_file": "lm.npz", "lm_weight": args.lm_weight, "length_bonus": args.length_bonus,
                   "beam_width": 8})
    shutil.copyfile(source / "charset.txt", target / "charset.txt")
    # float16 on disk halves the download; the loader copies into the float32 network
    tensors = {k: (v.half() if v.is_floating_point() else v) for k, v in load_state_dict(source).items()}
    save_model_dir(target, tensors, config)
    if args.rebuild_lm or not (target / "lm.npz").is_file():
        build_lm().save(target / "lm.npz")
    history = json.loads((Path(args.out) / "history.json").read_text(encoding="utf-8"))
    best = min(history, key=selection_score)
    metrics = {"val_cer_greedy": round(best["val_cer"], 4), "val_clean_cer_greedy": round(best["clean_cer"], 4),
               "train_steps": best["step"], "train_minutes": round(best["minutes"], 1)}
    lines = "synthetic lines"
    if "real_cer" in best:
        metrics["val_real_cer_greedy"] = round(best["real_cer"], 4)
        lines = "synthetic and real-renderer lines"
    # benchmark figures are added afterwards by `benchmarks/ocr.py --update-manifest`
    write_manifest(target, name=args.ship, task="ocr", loader="engine.ocr.model:load", metrics=metrics,
                   default=True, summary="CRNN (CNN + BiLSTM + CTC) line recogniser for printed Chinese, "
                   f"{config['num_symbols']:,} symbols, with a character trigram LM; trained on {lines}")
    print(f"shipped {target}: {metrics}")
    return 0


def make_batches(synth, seeds, batch, prepare, clean_fraction=0.0, real=(), real_fraction=0.0):
    """Render samples for ``seeds`` (or, for a ``real_fraction`` of them, take a prepared line of ``real``), sort
    them by width and cut into batches (less padding).

    Whether a seed's line is clean or real depends on the seed alone, so a resumed run sees the same stream.
    """
    prepared = []
    for s in seeds:
        pick = random.Random(s ^ 0x4EA1)
        if real and pick.random() < real_fraction:
            prepared.append(real[pick.randrange(len(real))])
        else:
            sample = synth.sample(s, degrade=random.Random(s ^ 0x5EED).random() >= clean_fraction)
            prepared.append((prepare(sample.image), sample.text))
    prepared.sort(key=lambda p: p[0].shape[1])
    return [prepared[i:i + batch] for i in range(0, len(prepared), batch)]


def tidy_label(text: str) -> str:
    """A page line's text as the recogniser is taught to read it: single spaces, none between two CJK characters
    (the rule ``engine.ocr.decode.tidy_spaces`` applies to what it reads)."""
    from engine.ocr.decode import tidy_text

    return tidy_text(" ".join(text.split()))


def pipeline_lines(folders, symbols, prepare) -> tuple[list, list]:
    """(train, val) prepared (image, label) lines from folders written by :mod:`engine.train.ocr_harvest`; lines
    with a symbol outside ``symbols`` are left out; every 10th page goes to val."""
    import cv2

    known = set(symbols)
    train, val = [], []
    for folder in folders:
        folder = Path(folder)
        pages: dict[str, int] = {}
        for row in (folder / "lines.jsonl").read_text(encoding="utf-8").splitlines():
            rec = json.loads(row)
            k = pages.setdefault(rec["page"], len(pages))
            gray = cv2.imread(str(folder / rec["file"]), cv2.IMREAD_GRAYSCALE)
            if gray is None or not rec["text"] or not set(rec["text"]) <= known:
                continue
            (val if k % 10 == 0 else train).append((prepare(gray), rec["text"]))
    return train, val


def real_lines(folders, symbols, prepare) -> tuple[list, list]:
    """(train, val) prepared (image, label) lines cut from page sets made by benchmarks/ocr_real/build.py: each
    ground-truth quad (or box) warped flat with a little page around it; lines with a symbol outside ``symbols``
    are left out; every 10th page goes to val."""
    import cv2
    import numpy as np

    known = set(symbols)
    train, val = [], []
    for folder in folders:
        folder = Path(folder)
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        for k, item in enumerate(index["items"]):
            gt = json.loads((folder / item["gt"]).read_text(encoding="utf-8"))
            gray = cv2.imread(str(folder / item["image"]), cv2.IMREAD_GRAYSCALE)
            if gray is None:
                continue
            for line in gt["lines"]:
                label = tidy_label(line["text"])
                if not label or not set(label) <= known:
                    continue
                x0, y0, x1, y1 = line["box"]
                quad = np.float32(line.get("quad") or [[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
                h = float(np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
                w = float(np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
                if h < 6 or w < 4:
                    continue
                px, py = 0.25 * h, 0.08 * h
                flat = np.float32([[px, py], [px + w, py], [px + w, py + h], [px, py + h]])
                crop = cv2.warpPerspective(gray, cv2.getPerspectiveTransform(quad, flat),
                                           (int(w + 2 * px), int(h + 2 * py)), flags=cv2.INTER_AREA,
                                           borderMode=cv2.BORDER_REPLICATE)
                (val if k % 10 == 0 else train).append((prepare(crop), label))
    return train, val


def evaluate(net, val, symbols, batch=32):
    """Greedy CER on prepared (image, text) pairs."""
    import torch

    from engine.ocr.decode import greedy_decode
    from engine.ocr.metrics import corpus_cer
    from engine.ocr.recognise import batch_lines

    net.eval()
    pairs = []
    with torch.inference_mode():
        for i in range(0, len(val), batch):
            chunk = val[i:i + batch]
            images, widths = batch_lines([c[0] for c in chunk])
            logp = net(torch.from_numpy(images)).log_softmax(-1).numpy()
            for j, (_, text) in enumerate(chunk):
                hyp = greedy_decode(logp[: max(1, widths[j] // net.width_stride), j], symbols).text
                pairs.append((hyp, text))
    net.train()
    return corpus_cer(pairs), pairs


# Noise on the units a widened network copies, in standard deviations of each weight tensor: enough for the
# copies to part under training, small enough that the network starts reading as its donor did.
WIDEN_NOISE = 0.02

# The feature layers of LineRecogniser in order: (conv producing the channels, its BatchNorm, the index into
# ``channels`` of its width, the weights consuming its output along their input dimension).
_WIDENED = (
    ("features.0", "features.1", 0, ("features.4.weight",)),
    ("features.4", "features.5", 1, ("features.8.weight",)),
    ("features.8", "features.9", 2, ("features.11.weight",)),
    ("features.11", "features.12", 2, ("features.15.weight",)),
    ("features.15", "features.16", 3, ("collapse.0.weight",)),
    ("collapse.0", "collapse.1", 3, ("rnn.weight_ih_l0", "rnn.weight_ih_l0_reverse")),
)


def _copies(old: int, new: int, rng):
    """Which old unit each of ``new`` units copies (the old ones themselves, then random ones), and how many
    units share each old one."""
    import torch

    source = torch.cat([torch.arange(old), torch.randint(old, (new - old,), generator=rng)])
    return source, torch.bincount(source, minlength=old).float()


def widen_network(donor: dict, donor_config: dict, channels: tuple[int, ...], hidden: int, noise: float = 0.0,
                  seed: int = 0) -> dict:
    """``donor``'s weights (a LineRecogniser state dict) in a wider network of ``channels`` and ``hidden`` that
    computes the same function (Net2WiderNet, Chen, Goodfellow & Shlens 2016).

    A new unit copies an old one (a conv channel with its BatchNorm, or an LSTM cell with all four gates);
    every weight reading the copied unit is shared out among its copies, so the sum it feeds onwards is
    unchanged.  Copies get the same gradient and would stay equal: ``noise`` (a fraction of each tensor's
    standard deviation) added to the copied rows lets them part.  The classifier keeps its symbols.
    """
    import torch

    old_channels, old_hidden = tuple(donor_config["channels"]), int(donor_config["hidden"])
    if len(channels) != len(old_channels) or any(n < o for n, o in zip(channels, old_channels)) or hidden < old_hidden:
        raise RunRefused(f"a network of channels {old_channels}, hidden {old_hidden} can only grow, "
                         f"not become {tuple(channels)}, hidden {hidden}")
    if old_hidden == 0 and hidden:
        raise RunRefused("a network without its LSTM cannot grow one")
    rng = torch.Generator().manual_seed(seed)
    state = {k: v.float().clone() for k, v in donor.items()}

    def jitter(t, rows):
        if noise and len(rows):
            t[rows] += noise * float(t.std()) * torch.randn(t[rows].shape, generator=rng)

    for conv, bn, which, consumers in _WIDENED:
        old, new = old_channels[which], channels[which]
        if new == old:
            continue
        if conv == "collapse.0" and not old_hidden:  # no LSTM: the classifier reads the columns directly
            consumers = ("classifier.weight",)
        source, share = _copies(old, new, rng)
        state[f"{conv}.weight"] = state[f"{conv}.weight"][source]
        jitter(state[f"{conv}.weight"], torch.arange(old, new))
        for key in ("weight", "bias", "running_mean", "running_var"):
            state[f"{bn}.{key}"] = state[f"{bn}.{key}"][source]
        for key in consumers:
            state[key] = state[key][:, source] / share[source].view(1, -1, *([1] * (state[key].dim() - 2)))
    if hidden != old_hidden:
        source, share = _copies(old_hidden, hidden, rng)
        gates = torch.cat([g * old_hidden + source for g in range(4)])   # rows of i, f, g, o in turn
        for direction in ("", "_reverse"):
            for key in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                state[f"rnn.{key}{direction}"] = state[f"rnn.{key}{direction}"][gates]
            hh = f"rnn.weight_hh_l0{direction}"
            state[hh] = state[hh][:, source] / share[source]
            new_rows = torch.cat([g * hidden + torch.arange(old_hidden, hidden) for g in range(4)])
            jitter(state[f"rnn.weight_ih_l0{direction}"], new_rows)
        columns = torch.cat([source, old_hidden + source])
        state["classifier.weight"] = state["classifier.weight"][:, columns] / torch.cat([share[source]] * 2)
    return state


def grow_classifier(donor: dict, fresh: dict, symbols: list[str]) -> dict:
    """``donor``'s weights in the shape of ``fresh``, whose classifier has more ``symbols`` (appended ones).

    An appended symbol whose NFKC form is an old symbol (full-width Ａ, ％) starts as a copy of that symbol's row,
    a little less likely; any other starts with zero weights and a bias far below every old one.  Random rows,
    or a constant one near the old biases, would outvote the trained rows (where the model sees no character all
    its logits are strongly negative) and the model would start by reading garbage; this way it starts reading
    exactly as the donor did.
    """
    import unicodedata

    import torch

    grown = dict(donor)
    weight, bias = donor["classifier.weight"].float(), donor["classifier.bias"].float()
    n = weight.shape[0]  # the blank + the old symbols
    old_ids = {c: i + 1 for i, c in enumerate(symbols[: n - 1])}
    new_weight = torch.zeros_like(fresh["classifier.weight"], dtype=torch.float32)
    new_bias = torch.zeros_like(fresh["classifier.bias"], dtype=torch.float32) + float(bias[1:].min()) - 20.0
    new_weight[:n], new_bias[:n] = weight, bias
    for k, c in enumerate(symbols[n - 1:], start=n):
        twin = old_ids.get(unicodedata.normalize("NFKC", c))
        if twin is not None:
            new_weight[k], new_bias[k] = weight[twin], bias[twin] - 1.0
    grown["classifier.weight"], grown["classifier.bias"] = new_weight, new_bias
    return grown


# the text mix of training and validation lines; the "symbols" lines teach the symbols beyond hanzi and ASCII,
# the "ui" lines what app screens show (versions, times, dates, dashes, capitals)
TEXT_WEIGHTS = {"news": 0.37, "poem": 0.11, "couplet": 0.09, "mixed": 0.11, "symbols": 0.16, "ui": 0.08,
                "random": 0.08}


def main(argv=None) -> int:
    from engine.train.common import drive_with_bar

    args = build_parser().parse_args(argv)
    if args.ship:
        return ship(args)
    try:
        drive_with_bar(train(args), desc="ocr")
    except RunRefused as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def train(args: argparse.Namespace):
    """Train (or resume) the run in ``args.out``: yields Progress(optimiser step, ``args.steps``, running loss and
    learning rate, the last val CER); writes ``last.pt``, ``history.json``, ``export/`` and ``best/`` there and
    returns the history (one record per evaluation)."""
    import numpy as np
    import torch

    from engine.device import bf16_is_fast
    from engine.ocr import synth as synth_mod
    from engine.ocr.model import LineRecogniser, output_lengths
    from engine.ocr.recognise import batch_lines, prepare_line
    from engine.progress import Progress
    from engine.train.common import load_checkpoint, save_checkpoint, say, seed_everything
    from engine.weights import save_model_dir

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    coverage = synth_mod.coverage_table(str(out / "font_coverage.json"))
    symbols = synth_mod.build_charset(coverage)
    index = {c: i + 1 for i, c in enumerate(symbols)}
    channels = tuple(int(c) for c in args.channels.split(","))
    config = {"architecture": "crnn-ctc", "num_symbols": len(symbols), "channels": list(channels),
              "hidden": args.hidden, "dropout": 0.1, "line_height": 32, "width_stride": args.width_stride,
              "lm_file": "lm.bin"}

    seed_everything(args.seed)
    net = LineRecogniser(len(symbols), channels, args.hidden, width_stride=args.width_stride)
    optimiser = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    warmup = min(300, args.steps // 10)

    def progress_at(step):
        by_steps = step / args.steps
        by_time = (trained_seconds + time.time() - started) / (args.minutes * 60) if args.minutes else 0.0
        return min(1.0, max(by_steps, by_time))

    def lr_at(step):
        if step < warmup:
            return args.lr * (step + 1) / warmup
        progress = min(1.0, max(0.0, (progress_at(step) - warmup / args.steps) / (1 - warmup / args.steps)))
        return args.lr * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * progress)))

    state = load_checkpoint(out / "last.pt")
    step, best_cer, history, trained_seconds = 0, float("inf"), [], 0.0
    started = time.time()
    if state is not None:
        if state["config"] != config:
            raise RunRefused(f"checkpoint {out / 'last.pt'} has another config; move it away to start afresh")
        net.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        step, best_cer, history = state["step"], state["best_cer"], state["history"]
        trained_seconds = state.get("trained_seconds", 0.0)
        say(f"resumed at step {step} (best val CER {best_cer:.4f})")
    elif args.init:
        from engine.weights import load_state_dict, read_config
        init_config = read_config(Path(args.init))
        # a shipped folder adds decoding settings; the architecture has to match, a narrower shape is widened
        if init_config.get("architecture") != config["architecture"]:
            raise RunRefused(f"{args.init} has another network shape than this run")
        init_symbols = (Path(args.init) / "charset.txt").read_text(encoding="utf-8").split("\n")[:-1]
        if init_symbols != symbols[: len(init_symbols)]:
            raise RunRefused(f"{args.init}: its character set is not a prefix of this run's")
        donor = load_state_dict(Path(args.init))
        widened = any(init_config.get(k) != config[k] for k in ("channels", "hidden"))
        if widened:  # a wider network that starts as the donor
            donor = widen_network(donor, init_config, channels, args.hidden, noise=WIDEN_NOISE, seed=args.seed)
        net.load_state_dict(grow_classifier(donor, net.state_dict(), symbols))
        say(f"initialised from {args.init} ({len(init_symbols)} of {len(symbols)} symbols"
            + (f", widened from channels {init_config['channels']}, hidden {init_config['hidden']})" if widened else ")"))
    # bf16 autocast where the CPU has native bf16 (about 2x faster steps); the CTC loss stays in fp32
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16_is_fast(torch.device("cpu")))

    train_synth = synth_mod.LineSynthesizer(symbols, coverage, held_out=False, max_chars=args.max_chars,
                                            weights=TEXT_WEIGHTS)
    val_synth = synth_mod.LineSynthesizer(symbols, coverage, held_out=True, max_chars=args.max_chars,
                                          weights=TEXT_WEIGHTS)
    val = [(prepare_line(s.image), s.text) for s in (val_synth.sample(900_000_000 + i) for i in range(args.val_size))]
    fonts = val_synth.fonts
    val_clean = [(prepare_line(s.image), s.text) for s in
                 (val_synth.sample(910_000_000 + i, degrade=False, font=fonts[i % len(fonts)]) for i in range(args.val_size // 2))]
    real, val_real = real_lines(args.real_lines, symbols, prepare_line) if args.real_lines else ([], [])
    if args.pipeline_lines:
        cut, val_cut = pipeline_lines(args.pipeline_lines, symbols, prepare_line)
        real, val_real = real + cut, val_real + val_cut
    if real:
        say(f"real-renderer lines: {len(real)} to train on, {len(val_real)} to validate")

    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    net.train()
    started = time.time()  # rendering the validation set does not count as training time
    last_ckpt = time.time()
    queue = []
    running = None

    def save():
        save_checkpoint(out / "last.pt", {"model": net.state_dict(), "optimiser": optimiser.state_dict(),
                                          "step": step, "best_cer": best_cer, "history": history, "config": config,
                                          "trained_seconds": trained_seconds + time.time() - started})

    def export(folder):
        save_model_dir(out / folder, net.state_dict(), config)
        (out / folder / "charset.txt").write_text("".join(c + "\n" for c in symbols), encoding="utf-8")

    val_figures = ""

    def validate():
        nonlocal best_cer, last_ckpt, val_figures
        val_cer, pairs = evaluate(net, val, symbols)
        clean_cer, _ = evaluate(net, val_clean, symbols)
        elapsed = time.time() - started
        record = {"step": step, "loss": running, "val_cer": val_cer, "clean_cer": clean_cer,
                  "minutes": (trained_seconds + elapsed) / 60, "lr": lr_at(step)}
        # with real-renderer lines the best checkpoint is the best on both kinds of validation line
        if val_real:
            record["real_cer"], _ = evaluate(net, val_real, symbols)
        score = selection_score(record)
        history.append(record)
        real_text = f" real CER {record['real_cer']:.4f}" if val_real else ""
        loss_text = f" loss {running:.3f}" if running is not None else ""
        say(f"\nstep {step}{loss_text} val CER {val_cer:.4f} clean CER {clean_cer:.4f}{real_text} "
            f"e.g. {pairs[0][0]!r} / {pairs[0][1]!r}")
        val_figures = f" · val CER {val_cer:.4f} clean {clean_cer:.4f}{real_text}"
        export("export")
        if score < best_cer:
            best_cer = score
            export("best")
        (out / "history.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
        save()
        last_ckpt = time.time()

    yield Progress(step, args.steps)
    if step == 0 and args.init:
        validate()  # the weights started from are the best until something beats them
    while step < args.steps and progress_at(step) < 1.0:
        if not queue:
            group = 4
            seeds = [args.seed * 1_000_003 + step * 1000 + i for i in range(group * args.batch)]
            queue = make_batches(train_synth, seeds, args.batch, prepare_line, args.clean_fraction, real,
                                 args.real_fraction)
            # shuffle batch order deterministically so width does not cycle with the step
            order = np.random.default_rng(step).permutation(len(queue))
            queue = [queue[i] for i in order]
        chunk = queue.pop()
        images, widths = batch_lines([c[0] for c in chunk])
        targets = [torch.tensor([index[ch] for ch in c[1]], dtype=torch.long) for c in chunk]
        for g in optimiser.param_groups:
            g["lr"] = lr_at(step)
        with autocast:
            logits = net(torch.from_numpy(images))
        logp = logits.float().log_softmax(-1)
        loss = ctc(logp, torch.cat(targets), output_lengths(torch.from_numpy(widths), net.width_stride),
                   torch.tensor([len(t) for t in targets]))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimiser.step()
        step += 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        figures = f"loss {running:.3f} lr {lr_at(step):.1e}"

        if step % args.eval_every == 0 or step == args.steps:
            validate()
        elif time.time() - last_ckpt > args.checkpoint_minutes * 60:
            save()
            last_ckpt = time.time()
        yield Progress(step, args.steps, figures + val_figures)  # after a due save: a stop here keeps it
    say(f"\nstopped at step {step} after {(trained_seconds + time.time() - started) / 60:.1f} min")
    if not history or history[-1]["step"] != step:
        validate()  # a time budget stops between evaluations, after the steps at the lowest rate
    return history


if __name__ == "__main__":
    sys.exit(main())
