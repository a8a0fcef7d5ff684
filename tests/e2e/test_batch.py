"""``trajpipe batch``: both engines for real (worker processes, a local Ray with 2 CPUs) on two short
clips cut from the bundled videos plus a corrupt file; the Parquet table; the command line."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from conftest import REPO, cut_clip, find_asset
from trajpipe.running.batch import format_summary, run_batch
from trajpipe.running.engines import RAY_INSTALL_HINT, ray_actor_options
from trajpipe.running.jobs import find_videos, output_names
from trajpipe.app.cli import build_parser, main, parse_args
from trajpipe.errors import TrajpipeError
from trajpipe.io.mcap import read_records
from trajpipe.io.tracks_table import video_table, write_tracks_parquet

CLIP_FRAMES = 18
CONFIG = ["min_track_age=0.4"]  # forecasts within the short clips


@pytest.fixture(scope="module")
def clips(tmp_path_factory, concourse) -> Path:
    """a/clip.mp4 (concourse), b/clip.mp4 (market street): the same file name twice; corrupt.mp4."""
    market = find_asset("videos", "market_street_1906.mp4")
    if market is None:
        pytest.skip("videos/market_street_1906.mp4 not available (run `make assets` where ../shared exists)")
    root = tmp_path_factory.mktemp("clips")
    cut_clip(concourse, root / "a" / "clip.mp4", CLIP_FRAMES)
    cut_clip(market, root / "b" / "clip.mp4", CLIP_FRAMES)
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video" * 40)
    return root


def by_input(summary: dict, root: Path) -> dict[str, dict]:
    """Summary entries by input path relative to ``root``."""
    return {Path(e["input"]).relative_to(root).as_posix(): e for e in summary["videos"]}


def json_lines_tracks(paths) -> int:
    return sum(len(json.loads(line)["tracks"]) for p in paths for line in Path(p).read_text().splitlines())


@pytest.fixture(scope="module")
def local_run(clips, detector_weights, tmp_path_factory):
    """The command line with the local engine, twice: (out, first exit code and summary, rerun's)."""
    out = tmp_path_factory.mktemp("local")
    # key=value before the inputs, between options and at the end: all are config overrides
    argv = ["batch", "conf=0.25", str(clips), "--out", str(out), "--workers", "2", "--quiet", "--output-mcap",
            "--model", str(detector_weights), *CONFIG]
    workers_tmp = tmp_path_factory.mktemp("workers_tmp")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(workers_tmp))  # the spawned workers' temp directory
        first = main(argv), json.loads((out / "summary.json").read_text())
    assert not [p.name for p in workers_tmp.iterdir() if "trajpipe" in p.name]  # no copy of the weights left
    jsonl_times = {p: p.stat().st_mtime_ns for p in out.glob("*.jsonl")}
    second = main(argv), json.loads((out / "summary.json").read_text())
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.jsonl")} == jsonl_times  # skipped: not rewritten
    return out, first, second


def test_local_batch_isolates_the_failure_and_resumes(local_run, clips):
    out, (code, summary), (rerun_code, rerun) = local_run
    assert code == 1 and rerun_code == 1
    entries = by_input(summary, clips)
    assert {k: e["status"] for k, e in entries.items()} == {"a/clip.mp4": "ok", "b/clip.mp4": "ok", "corrupt.mp4": "failed"}
    assert "cannot read" in entries["corrupt.mp4"]["error"]
    jsonls = [entries[k]["outputs"]["jsonl"] for k in ("a/clip.mp4", "b/clip.mp4")]
    videos = [entries[k]["outputs"]["video"] for k in ("a/clip.mp4", "b/clip.mp4")]
    assert len(set(jsonls)) == 2 and len(set(videos)) == 2  # same file name, no collision
    for entry, jsonl, video in zip((entries["a/clip.mp4"], entries["b/clip.mp4"]), jsonls, videos):
        assert entry["frames"] == CLIP_FRAMES and entry["track_ids"] > 0 and entry["seconds"] > 0
        assert len(Path(jsonl).read_text().splitlines()) == CLIP_FRAMES
        assert cv2.VideoCapture(video).get(cv2.CAP_PROP_FRAME_COUNT) == CLIP_FRAMES
        assert entry["outputs"]["mcap"] == str(Path(jsonl).with_suffix(".mcap"))  # --output-mcap: DIR/<name>.mcap
        lines = [json.loads(line) for line in Path(jsonl).read_text().splitlines()]
        assert [record for _, record in read_records(entry["outputs"]["mcap"])] == lines
    totals = summary["totals"]
    assert (totals["ok"], totals["failed"], totals["skipped"], totals["frames"]) == (2, 1, 0, 2 * CLIP_FRAMES)

    rerun_entries = by_input(rerun, clips)
    assert {k: e["status"] for k, e in rerun_entries.items()} == {"a/clip.mp4": "skipped", "b/clip.mp4": "skipped",
                                                                  "corrupt.mp4": "failed"}
    assert rerun_entries["a/clip.mp4"]["track_ids"] == entries["a/clip.mp4"]["track_ids"]  # from its JSON lines

    table = pq.read_table(out / "tracks.parquet")
    assert table.num_rows == json_lines_tracks(jsonls) > 0
    assert set(table.column("video").to_pylist()) == {entries[k]["input"] for k in ("a/clip.mp4", "b/clip.mp4")}
    assert table.column("forecast_xy").drop_null().to_pylist()  # some tracks were forecast
    modes_in_json = sum("modes" in t.get("forecast", {}) for p in jsonls for line in Path(p).read_text().splitlines()
                        for t in json.loads(line)["tracks"])
    assert len(table.column("forecast_modes").drop_null()) == modes_in_json
    assert pl.read_parquet(out / "tracks.parquet").height == table.num_rows
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary left behind
    table_text = format_summary(summary)
    assert "2 ok, 0 skipped, 1 failed" in table_text and entries["corrupt.mp4"]["error"] in table_text


def test_readme_batch_examples(local_run, clips, capsys):
    """The docs' run_batch call (on the clips: all done already, so skipped) and its DuckDB query."""
    out = local_run[0]
    docs = (REPO / "docs" / "batch.md").read_text() + (REPO / "docs" / "outputs.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", docs, re.S) if "runs/batch" in b]
    assert len(blocks) == 2
    for block in blocks:
        exec(block.replace('"videos/"', repr(str(clips))).replace("runs/batch", str(out)), {"__name__": "__main__"})
    printed = capsys.readouterr().out
    assert printed.count(" skipped 18 ") == 2 and "corrupt.mp4 failed" in printed
    people = duckdb.sql(f"SELECT count(DISTINCT (video, id)) FROM '{out / 'tracks.parquet'}' WHERE class = 'person'").fetchall()[0][0]
    assert people > 0 and "mean_speed_px_s" in printed


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is in the dev extra: pip install -e '.[dev]'")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_engine_gives_the_local_outputs(local_ray, local_run, clips, detector_weights, tmp_path):
    """``trajpipe batch --engine ray`` in another process, joining the test's Ray by its address."""
    local_out = local_run[0]
    address = local_ray.get_runtime_context().gcs_address
    proc = subprocess.run([sys.executable, "-m", "trajpipe", "batch", str(clips), "--out", str(tmp_path), "--engine", "ray",
                           "--address", address, "--workers", "2", "--model", str(detector_weights), "conf=0.25", *CONFIG],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 1, proc.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    entries = by_input(summary, clips)
    assert {k: e["status"] for k, e in entries.items()} == {"a/clip.mp4": "ok", "b/clip.mp4": "ok", "corrupt.mp4": "failed"}
    assert summary["totals"]["engine"] == "ray" and summary["totals"]["workers"] == 2
    for entry in entries.values():
        if entry["status"] == "ok":
            name = Path(entry["outputs"]["jsonl"]).name
            assert (tmp_path / name).read_bytes() == (local_out / name).read_bytes()
            assert Path(entry["outputs"]["video"]).is_file()
    assert pq.read_table(tmp_path / "tracks.parquet").equals(pq.read_table(local_out / "tracks.parquet"))

    with pytest.raises(TrajpipeError, match="has 0 GPUs"):  # no GPU here: said, not waited for forever
        run_batch([str(clips)], tmp_path / "gpu", engine="ray", gpus_per_worker=0.5, force=True,
                  model=str(detector_weights))


@pytest.fixture(scope="module")
def long_clip(clips, concourse) -> Path:
    """90 frames of the concourse: long enough to be stopped half-way."""
    path = clips.parent / "long" / "concourse.mp4"
    cut_clip(concourse, path, frames=90)
    return path


def _descendants(pid: int) -> list:
    import psutil

    return psutil.Process(pid).children(recursive=True)


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_signal_keeps_finished_videos_stops_the_workers_and_the_rerun_does_the_rest(signum, code, clips, long_clip,
                                                                                    detector_weights, tmp_path):
    """Ctrl-C, or SIGTERM as a job scheduler sends it, while the long video is processed: the workers
    are gone within 5 s, the short clip's outputs stay whole, the long video's are nowhere (no temporary
    either), the summary marks it interrupted, one line says so; the same command again does the rest."""
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "trajpipe", "batch", str(clips / "a" / "clip.mp4"), str(long_clip), "--out", str(out),
            "--workers", "1", "--no-video", "--quiet", "--model", str(detector_weights), "forecaster=cv"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    partial = out / ".concourse.partial.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not partial.exists() or partial.read_text().count("\n") < 10):
        time.sleep(0.1)
    workers = _descendants(proc.pid)
    assert workers, "no worker process"
    proc.send_signal(signum)
    signalled = time.monotonic()
    _, err = proc.communicate(timeout=60)
    for worker in workers:  # the workers go with the batch, not on alone
        worker.wait(timeout=max(0.1, signalled + 5 - time.monotonic()))
    assert time.monotonic() - signalled < 5
    assert proc.returncode == code, err
    assert len(err.strip().splitlines()) == 1 and f"stopped by {signal.Signals(signum).name}" in err, err
    assert "summary.json" in err and "1 interrupted" in err
    assert sorted(p.name for p in out.iterdir()) == ["clip.jsonl", "summary.json"]
    assert len((out / "clip.jsonl").read_text().splitlines()) == CLIP_FRAMES
    summary = json.loads((out / "summary.json").read_text())
    statuses = {Path(e["input"]).name: (e["status"], e["error"]) for e in summary["videos"]}
    assert statuses == {"clip.mp4": ("ok", None), "concourse.mp4": ("interrupted", "interrupted before it finished")}
    assert (summary["totals"]["ok"], summary["totals"]["interrupted"]) == (1, 1)

    rerun = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    statuses = {Path(e["input"]).name: e["status"] for e in json.loads((out / "summary.json").read_text())["videos"]}
    assert statuses == {"clip.mp4": "skipped", "concourse.mp4": "ok"}
    assert len((out / "concourse.jsonl").read_text().splitlines()) == 90


# ------------------------------------------------------------------------------------- fast units


def test_tracks_table_carries_modes_and_tolerates_absent_keys(tmp_path):
    forecast = {"t": [0.4, 0.8], "xy": [[1.0, 2.0], [3.0, 4.0]], "sigma": [[0.5, 0.5], [1.0, 1.0]],
                "modes": [{"p": 0.52, "xy": [[1.0, 2.0], [3.0, 4.0]], "sigma": [[0.4, 0.4], [0.9, 0.9]]},
                          {"p": 0.48, "xy": [[1.0, 2.0], [0.0, 5.0]]}]}
    records = [
        {"frame": 0, "timestamp": 0.0, "tracks": [{"id": 1, "class": "person", "conf": 0.9, "box": [0, 0, 2, 4],
                                                   "point": [1.0, 4.0], "forecast": forecast}]},
        {"frame": 1, "timestamp": 0.04, "camera": {"future": "key"}, "tracks": [  # unknown keys are left out
            {"id": 1, "class": "person", "conf": 0.8, "box": [0, 0, 2, 4], "point": [1.0, 4.0]},
            {"id": 2, "class": "car", "conf": 0.7, "box": [5, 5, 9, 9], "point": [7.0, 9.0], "point_world": [1.5, 2.5],
             "forecast": {"t": [0.4], "xy": [[7.0, 9.5]]}}]},
        {"frame": 2, "timestamp": 0.08, "tracks": []},
    ]
    jsonl = tmp_path / "v.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records))
    written = write_tracks_parquet(tmp_path / "t.parquet", [("v.mp4", jsonl)])
    assert (written["v.mp4"].frames, written["v.mp4"].rows, written["v.mp4"].track_ids) == (3, 3, 2)
    rows = pq.read_table(tmp_path / "t.parquet").to_pylist()
    assert rows[0]["forecast_modes"] == [{"sigma": None, "xy_world": None, **mode} for mode in forecast["modes"]]
    assert rows[0]["forecast_sigma"] == forecast["sigma"]
    assert rows[1]["forecast_t"] is None and rows[1]["forecast_modes"] is None
    assert rows[2]["point_world"] == [1.5, 2.5] and rows[2]["forecast_sigma"] is None
    modes = duckdb.sql(f"SELECT m.p FROM (SELECT unnest(forecast_modes) AS m FROM '{tmp_path / 't.parquet'}')").fetchall()
    assert [p for (p,) in modes] == [0.52, 0.48]
    assert not list(tmp_path.glob(".*"))

    jsonl.write_text("{broken\n")
    with pytest.raises(TrajpipeError, match="v.jsonl:1"):
        video_table("v.mp4", jsonl)


def test_same_file_names_get_distinct_stable_outputs(tmp_path):
    names = output_names(["a/clip.mp4", "b/clip.mp4", "c/other.mp4", "d/clip.avi"])
    assert names[2] == "other" and len(set(names)) == 4 and all(n.startswith("clip-") for n in names[:2] + names[3:])
    assert output_names(["b/clip.mp4", "a/clip.mp4"]) == [names[1], names[0]]  # by path, not by order


def test_inputs_from_directories_and_globs_leave_out_the_output_directory(tmp_path):
    for name in ("in/x.mp4", "in/sub/y.MOV", "in/notes.txt", "out/x.mp4"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = find_videos([str(tmp_path), str(tmp_path / "in" / "*.mp4"), str(tmp_path / "missing.mp4")], tmp_path / "out")
    assert [Path(p).relative_to(tmp_path).as_posix() for p in found] == ["in/sub/y.MOV", "in/x.mp4", "missing.mp4"]


def test_key_value_anywhere_on_the_line():
    parser = build_parser()
    args = parse_args(parser, ["run", "video.mp4", "--quiet", "conf=0.3", "--max-frames", "2", "iou=0.5"])
    assert (args.source, args.overrides, args.quiet, args.max_frames) == ("video.mp4", ["conf=0.3", "iou=0.5"], True, 2)
    args = parse_args(parser, ["run", "conf=0.3", "video.mp4"])
    assert (args.source, args.overrides) == ("video.mp4", ["conf=0.3"])
    args = parse_args(parser, ["batch", "a.mp4", "conf=0.3", "b/", "--out", "o", "--no-video", "device=cpu"])
    assert (args.inputs, args.overrides, args.no_video) == (["a.mp4", "b/"], ["conf=0.3", "device=cpu"], True)
    with pytest.raises(SystemExit):
        parse_args(parser, ["run", "video.mp4", "--no-such-option"])


def test_batch_command_line_errors(clips, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert main(["batch", str(clips / "a" / "clip.mp4"), "--out", str(tmp_path), "--engine", "ray", "forecaster=cv"]) == 2
    assert capsys.readouterr().err.strip() == f"trajpipe: error: {RAY_INSTALL_HINT}"
    assert main(["batch", str(clips / "a" / "clip.mp4"), "--out", str(tmp_path), "nosuchkey=1"]) == 2
    assert "unknown config key 'nosuchkey'" in capsys.readouterr().err
    assert main(["batch", str(tmp_path / "empty*.mp4"), "--out", str(tmp_path)]) == 2
    assert "no input videos" in capsys.readouterr().err
    assert main(["batch", str(clips), "--out", str(tmp_path), "--gpus-per-worker", "1"]) == 2
    assert "for --engine ray" in capsys.readouterr().err


def test_gpus_per_worker_is_the_ray_resource_request():
    assert ray_actor_options() == {"num_cpus": 1}
    assert ray_actor_options(0.25) == {"num_cpus": 1, "num_gpus": 0.25}


def test_device_reaches_ultralytics_and_a_failed_run_leaves_no_output(concourse, detector_weights, tmp_path):
    from trajpipe.pipeline import Pipeline
    from trajpipe.running.loop import run

    def fail_at_frame_3(result):
        if result.frame_index == 3:
            raise RuntimeError("a failure in the middle of a video")

    with Pipeline(model=str(detector_weights), forecaster="cv", device="cpu", detector_runtime="ultralytics") as pipeline:
        pipeline.process(cv2.VideoCapture(str(concourse)).read()[1], 0.0)
        assert pipeline.detector.model.predictor.args.device == "cpu"
        for keep_incomplete in (False, True):  # batch workers: False; trajpipe run: True
            jsonl = tmp_path / f"keep_{keep_incomplete}.jsonl"
            pipeline.reset()
            with pytest.raises(RuntimeError):
                run(pipeline, concourse, None, jsonl, progress=False, on_result=fail_at_frame_3,
                    keep_incomplete=keep_incomplete)
            assert jsonl.exists() == keep_incomplete
    assert len((tmp_path / "keep_True.jsonl").read_text().splitlines()) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep_True.jsonl"]
