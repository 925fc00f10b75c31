"""Reading and writing a model folder: ``config.json`` + ``model.safetensors`` (+ vocab).

Shared by every task's loader and trainer so that all shipped models have one layout.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.files import atomic_write_text
from engine.registry import ModelCorrupt, ModelMissing


def read_config(model_dir: Path | str) -> dict[str, Any]:
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise ModelMissing(f"file {path} is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelCorrupt(f"file {path} cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise ModelCorrupt(f"file {path} is not valid JSON: {exc}") from None


def read_vocab(model_dir: Path | str, filename: str = "vocab.txt") -> list[str]:
    """One token per line; the line number is the id."""
    path = Path(model_dir) / filename
    if not path.is_file():
        raise ModelMissing(f"file {path} is missing")
    try:
        return path.read_text(encoding="utf-8").split("\n")[:-1]
    except OSError as exc:
        raise ModelCorrupt(f"file {path} cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ModelCorrupt(f"file {path} is not UTF-8 text: {exc}") from None


def write_vocab(model_dir: Path | str, tokens: list[str], filename: str = "vocab.txt") -> None:
    if any("\n" in t for t in tokens):
        raise ValueError("vocabulary tokens may not contain newlines")
    atomic_write_text(Path(model_dir) / filename, "".join(t + "\n" for t in tokens))


def load_state_dict(model_dir: Path | str, filename: str = "model.safetensors") -> dict:
    """Tensors of ``model.safetensors`` on the CPU; clear errors for missing/corrupt files."""
    from safetensors.torch import load_file

    path = Path(model_dir) / filename
    if not path.is_file():
        raise ModelMissing(f"file {path} is missing")
    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:
        raise ModelCorrupt(f"file {path} is not a readable safetensors file: {exc}") from exc


def save_model_dir(model_dir: Path | str, state_dict: dict, config: dict[str, Any],
                   vocab: list[str] | None = None) -> Path:
    """Write config.json, model.safetensors (contiguous fp32/bf16 tensors) and vocab.txt."""
    from safetensors.torch import save_file

    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(model_dir / "config.json", json.dumps(config, ensure_ascii=False, indent=2) + "\n")
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    tmp = model_dir / ".model.safetensors.tmp"
    save_file(tensors, str(tmp))  # safetensors writes by path; fsync it before the rename like every output
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(model_dir / "model.safetensors")
    if vocab is not None:
        write_vocab(model_dir, vocab)
    return model_dir
