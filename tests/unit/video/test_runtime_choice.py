"""detector_runtime=auto: the choice rule on given timing tables, and the cache that makes the timing a
one-time cost per machine, weights file and runtime version."""

import numpy as np
import pytest

from trajpipe.errors import TrajpipeError
from trajpipe.video import network_tracker, runtime_choice
from trajpipe.video.runtime_choice import RuntimeTable, Timing, choose, frame_ms

# The network alone on 2 cores of an AMD EPYC Zen 4 (issue 30's table): wall / CPU ms a frame.
ZEN4 = [Timing("openvino", None, 40.7, 81.0), Timing("litert", 1, 36.6, 36.6), Timing("litert", 2, 20.5, 39.6)]
# The same on an earlier machine, where OpenVINO was the faster (16.8 against LiteRT's 22.3 ms, 2 threads).
EARLIER = [Timing("openvino", None, 16.8, 33.0), Timing("litert", 1, 40.0, 40.0), Timing("litert", 2, 22.3, 43.5)]


def test_live_sources_take_the_lowest_latency():
    assert choose(ZEN4, live=True, cores=2, rest_cpu_ms=20).name == "litert:2"
    assert choose(EARLIER, live=True, cores=2, rest_cpu_ms=20).name == "openvino"


def test_video_files_weigh_the_cpu_the_rest_of_the_pipeline_needs():
    # One frame at a time, the network's latency and the rest's share of the cores add up: the
    # fastest network wins, unless several frames at once keep both cores busy for less.
    assert choose(ZEN4, live=False, cores=2, rest_cpu_ms=10).name == "litert:2"
    with_copies = ZEN4 + [Timing("litert", 1, 18.5, 37.0, copies=2)]
    assert choose(with_copies, live=False, cores=2, rest_cpu_ms=60).name == "litert:1x2"
    assert frame_ms(with_copies[3], 2, 60) < frame_ms(ZEN4[2], 2, 60) < frame_ms(ZEN4[0], 2, 60)


def test_frame_time_of_one_frame_or_several_at_once():
    one, two = Timing("litert", 2, 20.5, 39.6), Timing("litert", 1, 18.5, 37.0, copies=2)
    assert frame_ms(one, 2, 0) == 20.5
    assert frame_ms(one, 2, 40.0) == pytest.approx(40.5)  # 20.5 + 40 / 2
    assert frame_ms(two, 2, 0) == 18.5  # the network's own time a frame binds
    assert frame_ms(two, 2, 43.0) == pytest.approx(40.0)  # (37 + 43) CPU ms over 2 cores
    assert frame_ms(one, 1, 0) == 20.5


def test_ties_go_to_less_cpu_then_fewer_threads():
    tied = [Timing("litert", 2, 30.0, 60.0), Timing("litert", 1, 30.0, 30.0)]
    assert choose(tied, live=True, cores=2, rest_cpu_ms=0).name == "litert:1"
    with pytest.raises(ValueError):
        choose([], live=True, cores=2, rest_cpu_ms=0)


def test_the_rest_of_the_pipeline_is_a_first_guess_until_a_run_measured_it(tmp_path):
    table = RuntimeTable("k", ZEN4, 0.0, 1.0)
    assert table.rest_estimate() == pytest.approx(runtime_choice.FIRST_GUESS_REST_SHARE * 36.6)
    table.record_rest_cpu(60.0, tmp_path / "cache.json")
    assert table.rest_estimate() == 60.0
    table.record_rest_cpu(40.0, tmp_path / "cache.json")
    assert table.rest_estimate() == 50.0
    table.record_rest_cpu(float("nan"), tmp_path / "cache.json")  # a failed measurement changes nothing
    assert RuntimeTable.load("k", tmp_path / "cache.json").rest_cpu_ms == 50.0


def test_a_table_survives_the_cache_and_a_corrupt_cache_is_ignored(tmp_path):
    path = tmp_path / "cache.json"
    RuntimeTable("k", ZEN4, 123.0, 1.5, cpu="CPU", machine_load=0.3).save(path)
    loaded = RuntimeTable.load("k", path)
    assert loaded.timings == ZEN4 and loaded.from_cache and loaded.machine_load == 0.3
    assert RuntimeTable.load("other", path) is None
    path.write_text("{not json")
    assert RuntimeTable.load("k", path) is None
    RuntimeTable("k", ZEN4, 123.0, 1.5).save(path)  # a corrupt file is replaced
    assert RuntimeTable.load("k", path).timings == ZEN4


class FakeNetwork:
    """Stands in for a runtime: counts the frames it ran."""

    runs = 0

    def __init__(self, runtime, threads, copies=1):
        self.runtime = {"litert": "LiteRT", "openvino": "OpenVINO"}[runtime]
        self.threads, self.copies, self.closed = threads, copies, False

    def detect(self, frame):
        FakeNetwork.runs += 1
        return np.zeros((0, 6), np.float32)

    def describe(self):
        return f"{self.runtime}, fake"

    def close(self):
        self.closed = True


@pytest.fixture
def fake_runtimes(monkeypatch, tmp_path):
    """NetworkTracker with fake networks, a cache of its own, 2 cores and both runtimes' versions known."""
    monkeypatch.setenv("TRAJPIPE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(network_tracker, "build_network",
                        lambda runtime, threads, copies, *a: FakeNetwork(runtime, threads, copies))
    monkeypatch.setattr(network_tracker, "usable_cores", lambda: 2)
    monkeypatch.setattr(runtime_choice, "usable_cores", lambda: 2)
    versions = {"litert": "2.3.0", "openvino": "2026.4.1"}
    monkeypatch.setattr(network_tracker, "runtime_versions", lambda runtimes: {r: versions[r] for r in runtimes})
    monkeypatch.setattr(network_tracker, "model_names", lambda weights: {0: "person"})
    FakeNetwork.runs = 0
    return versions


def weights_file(tmp_path, content: bytes):
    path = tmp_path / "model.tflite"
    path.write_bytes(content)
    return str(path)


def test_the_cache_is_used_on_the_second_run(fake_runtimes, tmp_path):
    weights = weights_file(tmp_path, b"weights one")
    first = network_tracker.NetworkTracker(weights, runtimes=("litert", "openvino"))
    timed = FakeNetwork.runs
    # litert:1, litert:2, openvino one frame a round, litert:1x2 two: a warm-up round and the timed ones
    assert timed == (3 + 2) * (1 + runtime_choice.CALIBRATION_RUNS)
    assert not first.table.from_cache and "measured now" in first.choice()
    second = network_tracker.NetworkTracker(weights, runtimes=("litert", "openvino"))
    assert FakeNetwork.runs == timed  # read from the cache: nothing timed
    assert second.table.from_cache and "read from" in second.choice()
    assert second.table.timings == first.table.timings


def test_new_weights_or_a_new_runtime_version_calibrate_again(fake_runtimes, tmp_path):
    weights = weights_file(tmp_path, b"weights one")
    network_tracker.NetworkTracker(weights)
    timed = FakeNetwork.runs
    weights_file(tmp_path, b"weights two, retrained")  # same name, new content
    network_tracker.NetworkTracker(weights)
    assert FakeNetwork.runs == 2 * timed
    fake_runtimes["openvino"] = "2027.0.0"
    network_tracker.NetworkTracker(weights)
    assert FakeNetwork.runs == 3 * timed
    network_tracker.NetworkTracker(weights)
    assert FakeNetwork.runs == 3 * timed


def test_one_candidate_is_not_timed(fake_runtimes, tmp_path):
    tracker = network_tracker.NetworkTracker(weights_file(tmp_path, b"w"), runtimes=("openvino",))
    assert FakeNetwork.runs == 0 and tracker.table is None and tracker.choice() is None
    assert tracker.runtime == "OpenVINO"


def test_the_network_follows_the_kind_of_source(fake_runtimes, tmp_path, monkeypatch):
    """A table where the fastest for files and for live sources differ: the network is switched when a
    stream says which it is, and the calibrated candidates are reused, not loaded again."""
    weights = weights_file(tmp_path, b"w")
    options = network_tracker.candidates(["litert", "openvino"], 2)
    key = network_tracker.cache_key(weights, {**network_tracker.runtime_versions(["litert", "openvino"]),
                                              "candidates": str(options)})
    RuntimeTable(key, ZEN4 + [Timing("litert", 1, 18.5, 37.0, copies=2)], 0.0, 1.0, rest_cpu_ms=60.0).save()
    tracker = network_tracker.NetworkTracker(weights)
    assert tracker.network is None  # the uses disagree: nothing loaded until one is known
    tracker.prefer(live=False)
    assert (tracker.runtime, tracker.network.threads, tracker.parallel) == ("LiteRT", 1, 2)
    tracker.prefer(live=True)
    assert (tracker.runtime, tracker.network.threads, tracker.parallel) == ("LiteRT", 2, 1)


def test_a_thread_count_given_is_the_only_one_timed():
    assert network_tracker.candidates(["litert", "openvino"], 4) == [
        ("litert", 1, 1), ("litert", 2, 1), ("litert", 3, 1), ("litert", 4, 1), ("litert", 1, 4), ("litert", 2, 2),
        ("openvino", None, 1)]
    assert network_tracker.candidates(["litert", "openvino"], 4, threads=2) == [
        ("litert", 2, 1), ("litert", 2, 2), ("openvino", 2, 1)]
    assert network_tracker.candidates(["litert"], 4, threads=3) == [("litert", 3, 1)]


# 2 cores of an AMD EPYC with AVX2 only (2026-12-07): two frames at once on one LiteRT thread each cost
# the least CPU and give the most frames a second; a live source cannot use them.
AVX2 = [Timing("litert", 1, 207.2, 206.3), Timing("litert", 2, 125.3, 222.8), Timing("openvino", None, 126.1, 247.1),
        Timing("litert", 1, 109.5, 209.5, copies=2)]


def test_several_frames_at_once_serve_files_never_live_sources():
    assert choose(AVX2, live=False, cores=2, rest_cpu_ms=62).name == "litert:1x2"
    assert choose(AVX2, live=True, cores=2, rest_cpu_ms=62).name == "litert:2"
    with pytest.raises(ValueError):
        choose([AVX2[3]], live=True, cores=2, rest_cpu_ms=0)


def test_a_candidate_named_in_full_is_the_only_one_run(fake_runtimes, tmp_path):
    from trajpipe.video.detector import parse_runtime

    assert parse_runtime("litert:1x2") == ("litert", 1, 2)
    assert parse_runtime("litert:2") == ("litert", 2, 1)
    assert parse_runtime("auto", 3) == ("auto", 3, None)
    for bad in ("litert:x2", "openvino:1x2", "tpu"):
        with pytest.raises(TrajpipeError, match="detector_runtime"):
            parse_runtime(bad)
    tracker = network_tracker.NetworkTracker(weights_file(tmp_path, b"w"), runtimes=("litert",), threads=1, copies=2)
    assert FakeNetwork.runs == 0 and tracker.table is None  # nothing to choose: nothing timed
    assert tracker.parallel == 2 and tracker.network.copies == 2
