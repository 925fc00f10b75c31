"""Helpers shared by the trainers: checkpoints that survive an interrupted session.

A trainer saves ``state`` (model, optimiser, step, epoch, RNG, anything else) every few
minutes with :func:`save_checkpoint` and calls :func:`load_checkpoint` at start, so the
same command resumes where the last run stopped.
"""

from __future__ import annotations

import os
import random
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
