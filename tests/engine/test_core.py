"""Engine core: import boundaries, registry, progress jobs, device choice, CLI."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import engine
from engine.progress import Progress, drive
from engine.registry import ModelCorrupt, ModelMissing, Registry, atomic_write_text, update_metrics, write_manifest

ROOT = Path(__file__).resolve().parents[2]


def _engine_modules() -> list[str]:
    names = ["engine"]
    for info in pkgutil.walk_packages(engine.__path__, prefix="engine."):
        names.append(info.name)
    return names


def test_engine_never_imports_qt():
    modules = _engine_modules()
    assert "engine.registry" in modules and "engine.__main__" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    if name.endswith('__main__'):\n"
        "        continue\n"
        "    importlib.import_module(name)\n"
        "bad = [m for m in ('PySide6', 'pyqtgraph', 'superqt', 'qtpy') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_importing_engine_and_cli_modules_is_light():
    code = (
        "import sys, engine, engine.registry, engine.progress, engine.device, engine.__main__ as m\n"
        "m.build_parser()\n"
        "heavy = [x for x in ('torch', 'transformers', 'cv2') if x in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _job(n: int):
    total = 0
    for i in range(n):
        total += i
        yield Progress(i + 1, n, f"item {i}")
    return total


def test_drive_returns_result_and_reports_every_step():
    seen = []
    assert drive(_job(4), seen.append) == 6
    assert [p.step for p in seen] == [1, 2, 3, 4]
    assert seen[-1].fraction == 1.0
    assert Progress(0, 0).fraction == 0.0


def _make_model(root: Path, name: str = "tiny", default: bool = True) -> Path:
    folder = root / "demo" / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"value": 41}), encoding="utf-8")
    (folder / "MODEL.md").write_text("# tiny\ntrained on nothing\n", encoding="utf-8")
    write_manifest(folder, name=name, task="demo", loader="tests.engine.test_core:load_demo",
                   metrics={"f1": 0.5}, default=default, summary="a test model")
    return folder


LOADS = []


def load_demo(model_dir: Path):
    LOADS.append(model_dir)
    return json.loads((model_dir / "config.json").read_text())["value"] + 1


def test_registry_loads_once_and_caches(tmp_path):
    _make_model(tmp_path)
    registry = Registry(tmp_path)
    LOADS.clear()
    assert registry.load(task="demo") == 42
    assert registry.load("tiny") == 42
    assert len(LOADS) == 1
    entry = registry.entry("tiny")
    assert entry.metrics == {"f1": 0.5} and entry.default and "trained on nothing" in entry.card()


def test_update_metrics_merges_and_keeps_the_rest_of_the_manifest(tmp_path):
    folder = _make_model(tmp_path)
    update_metrics(folder, {"cer": 0.02, "f1": 0.6})
    entry = Registry(tmp_path).verify("tiny")          # file hashes still match
    assert entry.metrics == {"f1": 0.6, "cer": 0.02}
    assert (entry.name, entry.task, entry.default, entry.summary) == ("tiny", "demo", True, "a test model")


def test_registry_missing_file_names_the_file(tmp_path):
    folder = _make_model(tmp_path)
    (folder / "config.json").unlink()
    with pytest.raises(ModelMissing, match="config.json"):
        Registry(tmp_path).load("tiny")


def test_registry_corrupt_file_is_detected(tmp_path):
    folder = _make_model(tmp_path)
    (folder / "config.json").write_text('{"value": 1}', encoding="utf-8")
    with pytest.raises(ModelCorrupt, match="config.json"):
        Registry(tmp_path).load("tiny")


def test_registry_unknown_model_and_empty_task(tmp_path):
    registry = Registry(tmp_path)
    with pytest.raises(ModelMissing, match="no model named"):
        registry.load("nope")
    with pytest.raises(ModelMissing, match="no demo model"):
        registry.load(task="demo")


def test_registry_bad_manifest_is_a_clear_error(tmp_path):
    """One broken manifest is reported and skipped; it does not disable the other models."""
    folder = tmp_path / "demo" / "broken"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    registry = Registry(tmp_path)
    assert registry.entries() == {}
    assert "unreadable" in registry.problems[str(folder / "manifest.json")]
    with pytest.raises(ModelMissing, match="unreadable"):
        registry.load("broken")


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "第一版")
    atomic_write_text(target, "第二版")
    assert target.read_text(encoding="utf-8") == "第二版"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_device_override(monkeypatch):
    from engine import device

    monkeypatch.setenv("MOWEN_DEVICE", "cpu")
    device.set_device(None)
    assert device.get_device().type == "cpu"
    assert device.describe_device().startswith("CPU")
    with pytest.raises(device.DeviceError):
        device.set_device("tpu")
    monkeypatch.setenv("MOWEN_DEVICE", "quantum")
    device.set_device(None)
    from engine.errors import MowenError

    assert issubclass(device.DeviceError, MowenError)  # a user's mistake, not a bug
    with pytest.raises(device.DeviceError, match="quantum"):
        device.get_device()
    device.set_device(None)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_cli_help_and_version():
    out = _cli("--help")
    assert out.returncode == 0 and "models" in out.stdout
    version = _cli("--version")
    assert version.returncode == 0 and engine.__version__ in version.stdout


def test_cli_models_lists_shipped_models_on_cpu():
    out = _cli("--device", "cpu", "models", "--verify", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["device"].startswith("CPU")
    assert all(m["status"] == "ok" for m in data["models"])


def test_cli_models_verify_reports_a_damaged_file(tmp_path):
    folder = _make_model(tmp_path)
    (folder / "config.json").write_text("changed", encoding="utf-8")
    code = ("import sys; from engine import registry; "
            f"registry.REGISTRY = registry.Registry({str(tmp_path)!r}); "
            "from engine.__main__ import main; sys.exit(main(['models', '--verify']))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "damaged" in out.stdout
