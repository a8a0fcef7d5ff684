"""The live view during real runs (detector, tracker, forecaster on the concourse video), on loopback."""

import threading
import time

import cv2
import numpy as np
import pytest

from live_client import open_stream, read_events, read_part, stalled_viewer

pytest.importorskip("uvicorn", reason="the live view needs pip install 'trajpipe[serve]'")
FRAMES = 40  # forecasts start after min_track_age (0.8 s = 20 frames)


def test_events_are_the_json_lines_and_viewers_change_nothing(detector_weights, concourse, tmp_path):
    """Every /events message is the file's JSON line of its frame, byte for byte; two reading viewers,
    a stalled one and one that keeps coming and going leave the outputs as a run without a server."""
    from trajpipe import Pipeline
    from trajpipe.running.loop import run
    from trajpipe.serve import LiveServer

    with Pipeline(model=str(detector_weights), forecaster="lstm") as pipe:
        run(pipe, concourse, None, str(tmp_path / "alone.jsonl"), max_frames=FRAMES, progress=False)
        pipe.reset()
        with LiveServer(0, fps=1000) as live:
            connection, events = open_stream(live.port, "/events")
            video_connection, video = open_stream(live.port, "/stream.mjpg")
            stalled = [stalled_viewer(live.port), stalled_viewer(live.port, "/events")]
            messages, parts, done = [], [], threading.Event()
            readers = [threading.Thread(target=lambda: messages.extend(read_events(events))),  # until the server ends it
                       threading.Thread(target=lambda: parts.extend(iter(lambda: read_part(video), b"")))]

            def come_and_go():
                while not done.is_set():
                    connection_, response = open_stream(live.port, "/stream.mjpg")
                    read_part(response)
                    connection_.close()

            churn = threading.Thread(target=come_and_go)
            for thread in [*readers, churn]:
                thread.start()
            summary = run(pipe, concourse, str(tmp_path / "served.mp4"), str(tmp_path / "served.jsonl"),
                          max_frames=FRAMES, progress=False, live=live)
            deadline = time.monotonic() + 20  # the last frames are still on their way to the viewers
            while len(messages) < FRAMES and time.monotonic() < deadline:
                time.sleep(0.05)
            done.set()
            churn.join()
            stats = live.stats()
        for thread in readers:
            thread.join(10)
        for sock in stalled:
            sock.close()
        connection.close()
        video_connection.close()
    served = (tmp_path / "served.jsonl").read_bytes()
    assert served == (tmp_path / "alone.jsonl").read_bytes()  # the viewers changed nothing
    lines = served.splitlines()
    assert summary.frames == FRAMES and len(lines) == FRAMES
    assert messages == lines  # every frame's message, exactly the JSON line written to the file
    assert b'"forecast"' in lines[-1]
    assert stats["frames"] == FRAMES and stats["jpeg"]["encoded"] >= 1
    assert len(parts) >= 1
    for part in parts[:3]:
        image = cv2.imdecode(np.frombuffer(part, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[1] <= 960
