"""The package as a user installs it: sdist and wheel built with the standard tool, installed outside the
repository, run at its defaults from another directory (no checkout, no ../shared)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from trajpipe import __version__

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
DEMO_CLIP = REPO / "videos" / "market_street_1906_10s.mp4"  # committed: always there
PACKAGED = ["trajpipe/cfg/default.yaml", "trajpipe/cfg/tracker.yaml", "trajpipe/cfg/calibration_frame.jpg",
            "trajpipe/weights/forecaster.pt"]
# what a build must leave out: the work tree's local state, never part of a clean clone
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "runs", "node_modules", "__pycache__", ".pytest_cache", "build",
                                     "dist", "*.egg-info")


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """``python -m build``: the sdist, then the wheel built from it, from a copy of this work tree with
    its gitignored assets (detector weights and videos copied from ../shared by ``make assets``)."""
    pytest.importorskip("build")
    tmp = tmp_path_factory.mktemp("build")
    source = tmp / "trajpipe-src"
    shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SOURCES)
    out = tmp / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory) -> Path:
    """The wheel installed with pip into a directory outside the repository (dependencies: this venv's)."""
    target = tmp_path_factory.mktemp("site")
    wheel = next(dist.glob("trajpipe-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, timeout=300)
    return target


def run_installed(installed: Path, cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python ARGS`` from ``cwd`` with only the installed wheel's trajpipe importable (PYTHONPATH first)."""
    env = {**os.environ, "PYTHONPATH": str(installed)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_wheel_holds_the_defaults_as_files_and_nothing_from_shared(dist):
    wheel = zipfile.ZipFile(next(dist.glob("trajpipe-*.whl")))
    members = {info.filename: info for info in wheel.infolist()}
    for name in PACKAGED:
        info = members[name]
        assert not stat.S_ISLNK(info.external_attr >> 16), f"{name} is a link in the wheel"
        assert wheel.read(name) == (REPO / name).read_bytes(), name
    assert f"trajpipe-{__version__}.dist-info/licenses/LICENSE" in members
    assert "# trajpipe" in wheel.read(f"trajpipe-{__version__}.dist-info/METADATA").decode()  # the README
    shared = {p.name for p in SHARED.rglob("*") if p.is_file()} if SHARED.is_dir() else set()
    package = [name for name in members if not name.startswith(f"trajpipe-{__version__}.dist-info/")]
    for name in package:
        assert name.startswith("trajpipe/") and (Path(name).suffix in {".py", ".yaml", ".pt", ".jpg"}
                                                 or name.startswith("trajpipe/serve/static/")), name
        assert Path(name).name not in shared or Path(name).name == "__init__.py", name
    static = sorted(f"trajpipe/serve/static/{p.name}" for p in (REPO / "trajpipe" / "serve" / "static").iterdir())
    assert sorted(n for n in package if not n.endswith(".py")) == sorted(PACKAGED + static)  # no detector weights, videos, data

    with tarfile.open(next(dist.glob("trajpipe-*.tar.gz"))) as sdist:
        names = {Path(*Path(m).parts[1:]).as_posix() for m in sdist.getnames()}
    assert {"LICENSE", "README.md", "pyproject.toml", *PACKAGED} <= names


def test_installed_package_runs_at_its_defaults_from_anywhere(installed, tmp_path, detector_weights):
    """Pipeline(model=...) at its defaults and ``python -m trajpipe run``: the LSTM forecaster from the
    package's own checkpoint, the tracker from its own YAML, from a directory with no configs/ or weights/."""
    clip = tmp_path / "clip.mp4"
    shutil.copyfile(DEMO_CLIP, clip)
    script = (
        "import trajpipe\n"
        "from trajpipe import Pipeline\n"
        "from trajpipe.forecast.lstm import LSTMForecaster\n"
        f"assert trajpipe.__file__.startswith({str(installed)!r}), trajpipe.__file__\n"
        f"with Pipeline(model={str(detector_weights)!r}) as pipeline:\n"
        "    assert isinstance(pipeline.forecaster, LSTMForecaster), pipeline.forecaster\n"
        f"    assert pipeline.detector.tracker.startswith({str(installed)!r}), pipeline.detector.tracker\n"
        "    results = list(pipeline.stream('clip.mp4', max_frames=40))\n"
        "forecasts = [t.forecast for r in results for t in r.tracks if t.forecast is not None]\n"
        "assert forecasts and all(f.modes is not None and len(f.modes.probs) == 3 for f in forecasts), len(forecasts)\n"
        "print(len(results), len(forecasts))\n"
    )
    proc = run_installed(installed, tmp_path, "-c", script)
    assert proc.returncode == 0, proc.stderr[-3000:]
    frames, forecasts = map(int, proc.stdout.split())
    assert frames == 40 and forecasts > 0

    proc = run_installed(installed, tmp_path, "-m", "trajpipe", "run", "clip.mp4", "--model", str(detector_weights),
                         "--max-frames", "5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len((tmp_path / "runs" / "clip_trajpipe.jsonl").read_text().splitlines()) == 5
    assert (tmp_path / "runs" / "clip_trajpipe.mp4").stat().st_size > 0
    assert not (tmp_path / "configs").exists() and not (tmp_path / "weights").exists()


def test_installed_version_and_checkpoint_provenance(installed, tmp_path):
    proc = run_installed(installed, tmp_path, "-m", "trajpipe", "--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"trajpipe {__version__}", proc.stdout + proc.stderr
    proc = run_installed(installed, tmp_path, "-m", "trajpipe", "info")  # the packaged weights/forecaster.pt
    assert proc.returncode == 0, proc.stderr
    info = dict(line.split(": ", 1) for line in proc.stdout.splitlines())
    assert info["format"] == "trajpipe-forecaster/1" and info["modes"] == "20" and info["neighbours"] == "4"
    for key in ("trajpipe version", "training data", "trained"):
        assert info[key] != "not recorded" and "not recorded" not in info[key], (key, info[key])
