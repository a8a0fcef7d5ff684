import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def find_asset(kind: str, name: str) -> Path | None:
    """A bundled asset from the repository's ``weights/``/``videos/`` or ``../shared`` beside the repository."""
    for base in (REPO / kind, SHARED / kind):
        if (base / name).is_file():
            return base / name
    return None


@pytest.fixture(scope="session")
def concourse() -> Path:
    path = find_asset("videos", "concourse.mp4")
    if path is None:
        pytest.skip("videos/concourse.mp4 not available (run `make assets` where ../shared exists)")
    return path


@pytest.fixture(scope="session")
def detector_weights(tmp_path_factory) -> Path:
    path = find_asset("weights", "yolov8n_int8.tflite")
    if path is None:
        pytest.skip("weights/yolov8n_int8.tflite not available (run `make assets` where ../shared exists)")
    copy = tmp_path_factory.mktemp("weights") / path.name
    shutil.copyfile(path, copy)
    return copy


@pytest.fixture(scope="session", autouse=True)
def private_runtime_cache(tmp_path_factory):
    """The detector runtimes are timed once per test session into a cache of its own, never the user's
    (subprocesses inherit it): results do not depend on what an earlier run left."""
    before = os.environ.get("TRAJPIPE_CACHE_DIR")
    os.environ["TRAJPIPE_CACHE_DIR"] = str(tmp_path_factory.mktemp("trajpipe-cache"))
    yield
    if before is None:
        os.environ.pop("TRAJPIPE_CACHE_DIR", None)
    else:
        os.environ["TRAJPIPE_CACHE_DIR"] = before


def cut_clip(source: Path, target: Path, frames: int) -> None:
    """The first ``frames`` frames of the video ``source`` written to ``target`` (MPEG-4, same frame rate)."""
    import cv2

    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS)
    target.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    for _ in range(frames):
        ok, image = capture.read()
        assert ok
        if writer is None:
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps, image.shape[1::-1])
        writer.write(image)
    writer.release()
    capture.release()


def pytest_collection_modifyitems(items):
    """Everything under tests/e2e/ is end to end (real detector, videos, subprocesses): ``-m "not e2e"`` skips it."""
    for item in items:
        if "/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


def read_mcap(path) -> tuple[dict, object]:
    """``({topic: [(log time ns, decoded message), ...]}, summary)`` of an MCAP file, every message decoded
    with the schemas the file carries: ROS 2 (mcap_ros2), protobuf (mcap_protobuf) and JSON."""
    import json

    from mcap.decoder import DecoderFactory
    from mcap.reader import make_reader
    from mcap_protobuf.decoder import DecoderFactory as ProtobufDecoders
    from mcap_ros2.decoder import DecoderFactory as Ros2Decoders

    class JsonDecoders(DecoderFactory):
        def decoder_for(self, message_encoding, schema):
            return json.loads if message_encoding == "json" else None

    with open(path, "rb") as stream:
        reader = make_reader(stream, decoder_factories=[Ros2Decoders(), ProtobufDecoders(), JsonDecoders()])
        summary = reader.get_summary()
        messages: dict = {}
        for _, channel, message, decoded in reader.iter_decoded_messages(log_time_order=True):
            messages.setdefault(channel.topic, []).append((message.log_time, decoded))
    return messages, summary
