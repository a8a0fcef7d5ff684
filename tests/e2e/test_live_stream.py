"""Live mode end to end: the real detector on an MJPEG stream served on loopback, with an outage."""

import json
import threading
import time

import cv2
import numpy as np


def test_loopback_mjpeg_stream_with_outage(detector_weights, concourse, tmp_path):
    from trajpipe import Pipeline
    from trajpipe.app.mjpeg import MjpegServer, encode_frames
    from trajpipe.running.loop import run

    server = MjpegServer(encode_frames(concourse, max_frames=100), fps=25).start()

    def outage():
        time.sleep(2.0)
        server.stop()
        time.sleep(1.5)
        server.start()

    with Pipeline(model=str(detector_weights), forecaster="cv", classes=["person"], reconnect_max_delay=0.5) as pipe:
        source = pipe.open(server.url)
        threading.Thread(target=outage, daemon=True).start()
        try:
            summary = run(pipe, source, str(tmp_path / "live.mp4"), str(tmp_path / "live.jsonl"),
                          max_frames=120, progress=False)
        finally:
            server.stop()
    assert summary.live and summary.frames == 120
    [outage_report] = summary.outages
    assert 1.0 < outage_report.seconds < 4.0
    assert summary.captured >= summary.frames and summary.captured - summary.dropped - summary.frames in (0, 1)
    records = [json.loads(line) for line in (tmp_path / "live.jsonl").read_text().splitlines()]
    assert len(records) == 120
    assert all(0 <= r["latency"] < 1.0 for r in records)
    stamps = [r["timestamp"] for r in records]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    assert max(np.diff(stamps)) > 1.0  # the outage shows as a gap in capture time
    assert sum(1 for r in records if r["tracks"]) > 100
    assert "outage" in str(summary)
    assert cv2.VideoCapture(str(tmp_path / "live.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) >= 120


