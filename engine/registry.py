"""The registry of shipped models.

Every model Mowen ships lives in ``assets/models/<task>/<name>/`` with a
``manifest.json`` describing it::

    {"name": "...", "task": "segment", "loader": "engine.segment.model:load",
     "files": {"model.safetensors": "<sha256>", "config.json": "<sha256>", ...},
     "metrics": {"pku_test_f1": 0.95, ...}, "default": true, "summary": "..."}

The registry is the union of those per-model manifests (one file per model keeps
parallel work on different models from colliding in one shared file).  Models are
verified (files present, sha256 equal) and loaded on first use, then cached; a
missing or damaged file raises :class:`ModelMissing` or :class:`ModelCorrupt`
naming the file, which the GUI shows as a message and the CLI prints on stderr.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import MowenError
from engine.files import atomic_write_bytes, atomic_write_text  # noqa: F401  (re-exported: older callers)

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
MODELS_DIR = Path(os.environ.get("MOWEN_MODELS_DIR", ASSETS_DIR / "models"))


class ModelError(MowenError):
    """A model cannot be used; the message says which file and why."""


class ModelMissing(ModelError):
    pass


class ModelCorrupt(ModelError):
    pass


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str
    path: Path
    loader: str
    files: dict[str, str]
    metrics: dict[str, Any] = field(default_factory=dict)
    default: bool = False
    summary: str = ""

    @property
    def card_path(self) -> Path:
        return self.path / "MODEL.md"

    def card(self) -> str:
        """The model card's text (data, command, metrics), or '' if absent."""
        try:
            return self.card_path.read_text(encoding="utf-8")
        except OSError:
            return ""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Registry:
    """Models found under one folder; load on first use, cached, thread-safe."""

    def __init__(self, root: Path | str = MODELS_DIR):
        self.root = Path(root)
        self._entries: dict[str, ModelEntry] | None = None
        self._loaded: dict[str, Any] = {}
        self._lock = threading.RLock()
        # name -> the folders that all claim it (refused); manifest path -> why it is unusable
        self.conflicts: dict[str, list[ModelEntry]] = {}
        self.problems: dict[str, str] = {}

    # -- discovery -------------------------------------------------------
    def entries(self) -> dict[str, ModelEntry]:
        """The usable models by name.  A broken manifest is skipped (see ``problems``) so that it
        cannot disable the others; a name claimed by two folders is refused (see ``conflicts``)."""
        with self._lock:
            if self._entries is None:
                found: dict[str, list[ModelEntry]] = {}
                for manifest in sorted(self.root.glob("*/*/manifest.json")):
                    try:
                        entry = _read_manifest(manifest)
                    except ModelCorrupt as exc:
                        self.problems[str(manifest)] = str(exc)
                        continue
                    found.setdefault(entry.name, []).append(entry)
                self._entries = {}
                for name, claims in found.items():
                    if len(claims) == 1:
                        self._entries[name] = claims[0]
                    else:
                        self.conflicts[name] = claims
            return self._entries

    def conflict_message(self, name: str) -> str:
        folders = " and ".join(str(e.path) for e in self.conflicts[name])
        return f"{len(self.conflicts[name])} model folders claim the name {name!r} ({folders}); remove or rename all but one"

    def list(self, task: str | None = None) -> list[ModelEntry]:
        return [e for e in self.entries().values() if task is None or e.task == task]

    def entry(self, name: str) -> ModelEntry:
        try:
            return self.entries()[name]
        except KeyError:
            if name in self.conflicts:
                raise ModelCorrupt(self.conflict_message(name)) from None
            known = ", ".join(sorted(self.entries())) or "none"
            broken = f"; {len(self.problems)} unreadable manifest(s): {next(iter(self.problems))}" if self.problems else ""
            raise ModelMissing(f"no model named {name!r} in {self.root} (known: {known}{broken})") from None

    def default(self, task: str) -> ModelEntry:
        entries = self.entries()
        clashing = [n for n, claims in self.conflicts.items() if any(e.task == task for e in claims)]
        if clashing:  # the default might be the refused name: say so rather than pick another
            raise ModelCorrupt(self.conflict_message(clashing[0]))
        candidates = [e for e in entries.values() if e.task == task]
        if not candidates:
            raise ModelMissing(f"no {task} model is installed under {self.root}")
        return next((e for e in candidates if e.default), candidates[0])

    # -- verification and loading ----------------------------------------
    def verify(self, name: str) -> ModelEntry:
        entry = self.entry(name)
        for filename, expected in entry.files.items():
            path = entry.path / filename
            if not path.is_file():
                raise ModelMissing(f"model {name!r}: file {path} is missing")
            try:
                digest = sha256_of(path)
            except OSError as exc:
                raise ModelCorrupt(f"model {name!r}: file {path} cannot be read ({exc.strerror or exc})") from None
            if digest != expected:
                raise ModelCorrupt(f"model {name!r}: file {path} is damaged (sha256 does not match the manifest)")
        return entry

    def load(self, name: str | None = None, task: str | None = None) -> Any:
        """Load model ``name`` (or ``task``'s default) once and return the cached object."""
        if name is None:
            if task is None:
                raise ValueError("give a model name or a task")
            name = self.default(task).name
        elif task is not None and self.entry(name).task != task:
            raise ModelMissing(f"model {name!r} is a {self.entry(name).task} model, not a {task} model "
                               f"(the {task} models: {', '.join(e.name for e in self.list(task)) or 'none'})")
        with self._lock:
            if name not in self._loaded:
                entry = self.verify(name)
                try:
                    loader = _resolve(entry.loader)
                except (ImportError, AttributeError, ValueError) as exc:
                    raise ModelCorrupt(f"model {name!r}: its manifest names the loader {entry.loader!r}, "
                                       f"which cannot be imported ({exc})") from None
                try:
                    self._loaded[name] = loader(entry.path)
                except ModelError:
                    raise
                except Exception as exc:  # a file that hashes right but does not parse
                    raise ModelCorrupt(f"model {name!r} in {entry.path} could not be loaded: {exc}") from exc
            return self._loaded[name]

    def unload(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._loaded.clear()
            else:
                self._loaded.pop(name, None)


def _read_manifest(path: Path) -> ModelEntry:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ModelEntry(
            name=data["name"],
            task=data["task"],
            path=path.parent,
            loader=data["loader"],
            files=dict(data["files"]),
            metrics=dict(data.get("metrics", {})),
            default=bool(data.get("default", False)),
            summary=data.get("summary", ""),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelCorrupt(f"model manifest {path} is unreadable: {exc}") from exc


def _resolve(dotted: str):
    module_name, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def write_manifest(model_dir: Path | str, *, name: str, task: str, loader: str,
                   metrics: dict[str, Any] | None = None, default: bool = False,
                   summary: str = "") -> Path:
    """(Re)write ``manifest.json`` for a model folder, hashing every file but the manifest."""
    model_dir = Path(model_dir)
    files = {
        p.name: sha256_of(p)
        for p in sorted(model_dir.iterdir())
        if p.is_file() and p.name not in ("manifest.json", "MODEL.md")
    }
    manifest = {"name": name, "task": task, "loader": loader, "files": files,
                "metrics": metrics or {}, "default": default, "summary": summary}
    target = model_dir / "manifest.json"
    atomic_write_text(target, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return target


def update_metrics(model_dir: Path | str, metrics: dict[str, Any]) -> Path:
    """Merge ``metrics`` into a model folder's manifest, keeping everything else (benchmarks call this)."""
    entry = _read_manifest(Path(model_dir) / "manifest.json")
    return write_manifest(model_dir, name=entry.name, task=entry.task, loader=entry.loader,
                          metrics=entry.metrics | metrics, default=entry.default, summary=entry.summary)


REGISTRY = Registry()


def load_model(name: str | None = None, task: str | None = None) -> Any:
    """Load a shipped model from the default registry (cached)."""
    return REGISTRY.load(name, task)


def list_models(task: str | None = None) -> list[ModelEntry]:
    return REGISTRY.list(task)
