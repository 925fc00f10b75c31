"""Helpers shared by the trainers: checkpoints that survive an interrupted session, options, progress.

A trainer saves ``state`` (model, optimiser, step, epoch, RNG, anything else) every few
minutes with :func:`save_checkpoint` and calls :func:`load_checkpoint` at start, so the
same command resumes where the last run stopped.

Each trainer is ``train(args)``, a generator of :class:`engine.progress.Progress` (optimiser
step of total; the first report is the step it starts or resumes at) that ends having
written its checkpoints and exports.  ``args`` is the namespace its CLI parses; code builds
one with :func:`options_from` (the CLI's defaults, some replaced).  ``main(argv)`` parses the
flags and runs the generator under :func:`drive_with_bar`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path
from typing import Any


def save_checkpoint(path: Path | str, state: dict[str, Any]) -> None:
    """Atomically write a checkpoint (torch pickle) with RNG states added."""
    import numpy as np
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = dict(state)
    state["rng"] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path | str) -> dict[str, Any] | None:
    """The saved state (RNG restored), or None when there is no checkpoint yet."""
    import numpy as np
    import torch

    path = Path(path)
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    rng = state.pop("rng", None)
    if rng:
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
    return state


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def options_from(parser: argparse.ArgumentParser, values: dict[str, Any]) -> argparse.Namespace:
    """What ``parser`` gives for no flags, with ``values`` (destination names: ``max_steps``) replacing defaults."""
    actions = {a.dest: a for a in parser._actions if a.dest != "help"}
    unknown = sorted(set(values) - set(actions))
    missing = [a.option_strings[0] for dest, a in actions.items() if a.required and dest not in values]
    if unknown or missing:
        raise TypeError(f"unknown options {unknown}, missing {missing}")
    # argparse converts a string default through the option's type; so does this
    defaults = {dest: a.type(a.default) if isinstance(a.default, str) and a.type else a.default
                for dest, a in actions.items()}
    return argparse.Namespace(**(defaults | values))


def say(text: str, file=None) -> None:
    """Print a line (to stderr by default) without breaking a progress bar that is being drawn."""
    from tqdm import tqdm

    tqdm.write(text, file=file or sys.stderr)


def drive_with_bar(job, desc: str = "", disable: bool = False):
    """Run a trainer's job with one tqdm bar on stderr; return what the job returns.

    The bar starts at the first report's step, so a resumed run's rate counts only its own steps.
    """
    from tqdm import tqdm

    from engine.progress import drive

    bar = None

    def show(p) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=p.total, initial=p.step, desc=desc, disable=disable, mininterval=5,
                       dynamic_ncols=True, file=sys.stderr)
        bar.total = p.total
        if p.message:
            bar.set_postfix_str(p.message, refresh=False)
        bar.update(p.step - bar.n)

    try:
        return drive(job, show)
    finally:
        if bar is not None:
            bar.close()
