"""The live view's server for real on loopback, fed synthetic results (the detector runs in tests/e2e/test_serve.py)."""

import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette", reason="the live view needs pip install 'trajpipe[serve]'")
pytest.importorskip("uvicorn", reason="the live view needs pip install 'trajpipe[serve]'")

from live_client import get, open_stream, read_event, read_events, read_part, read_parts, stalled_viewer, wait_for  # noqa: E402
from trajpipe.config import Config, serve_address  # noqa: E402
from trajpipe.core.results import Forecast, FrameResult, TrackState  # noqa: E402
from trajpipe.errors import TrajpipeError  # noqa: E402
from trajpipe.io.sinks import json_line  # noqa: E402
from trajpipe.serve import LiveServer  # noqa: E402

REPO_VIDEO = "videos/market_street_1906_10s.mp4"


def result(index: int, width: int = 1280, height: int = 720, noise: bool = False) -> FrameResult:
    """Frame ``index`` with one walking person and a forecast; ``noise``: an incompressible image (big JPEGs)."""
    rng = np.random.default_rng(index)
    image = (rng.integers(0, 256, (height, width, 3), dtype=np.uint8) if noise
             else np.full((height, width, 3), 40, np.uint8))
    x = 100.0 + 5 * index
    forecast = Forecast(np.array([0.4, 0.8]), np.array([[x + 4, 400.0], [x + 8, 400.0]]), origin=index / 25,
                        start=np.array([x, 400.0]))
    track = TrackState(7, 0, "person", 0.9, np.array([x - 20, 300, x + 20, 400.0]), np.array([[x, 400.0]]),
                       np.array([index / 25]), forecast)
    return FrameResult(index, index / 25, [track], image=image)


def publish_while(server: LiveServer, frames: int, interval: float = 0.02, **kwargs) -> threading.Thread:
    def work():
        for i in range(frames):
            server.publish(result(i, **kwargs))
            time.sleep(interval)
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_mjpeg_parts_are_scaled_jpegs_and_events_are_the_json_lines():
    with LiveServer(0, width=640, fps=50) as server:
        connection, events = open_stream(server.port, "/events")
        publisher = publish_while(server, 60)
        parts = read_parts(server.port, 3)
        messages = read_events(events, 10)
        publisher.join()
        connection.close()
    for part in parts:
        image = cv2.imdecode(np.frombuffer(part, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (360, 640, 3)  # 1280 x 720 scaled to serve_width, aspect kept
    first = int(messages[0].split(b'"frame":')[1].split(b",")[0])
    assert messages == [json_line(result(first + i).to_json()) for i in range(10)]  # every frame, in order


def test_two_viewers_share_one_encoding_per_frame():
    with LiveServer(0, fps=1000) as server:
        server.publish(result(0))
        wait_for(lambda: server.hub.encoded == 1)
        connections = [open_stream(server.port, "/stream.mjpg") for _ in range(2)]
        firsts = [read_part(response) for _, response in connections]  # each starts with the newest frame
        for i in range(1, 6):
            server.publish(result(i))
            parts = [read_part(response) for _, response in connections]
            assert parts[0] == parts[1]
        for connection, _ in connections:
            connection.close()
        assert firsts[0] == firsts[1] and server.hub.encoded == 6  # one JPEG per frame, not per viewer


def test_jpeg_rate_is_capped_at_serve_fps_and_the_newest_frame_is_sent():
    with LiveServer(0, fps=5) as server:
        started = time.monotonic()
        for i in range(50):
            server.publish(result(i))
            time.sleep(0.01)
        wait_for(lambda: server.hub.lines == 50)
        wait_for(lambda: server.hub.latest is not None and server.hub.encoded and
                 server.stats()["frame"] == 49 and time.monotonic() - started > 0.3)
        elapsed = time.monotonic() - started
        time.sleep(0.3)  # the last frame waits for its slot, then is sent
        assert server.hub.encoded <= 5 * elapsed + 2
        status, headers, body = get(server.port, "/snapshot.jpg")
        assert status == 200 and headers["content-type"] == "image/jpeg"
        assert body == server.hub.jpeg


def test_a_stalled_viewer_blocks_nothing():
    """A viewer that never reads: publishing never waits, and the other viewers get every new frame."""
    with LiveServer(0, fps=100) as server:
        stalled = [stalled_viewer(server.port), stalled_viewer(server.port, "/events")]
        connection, events = open_stream(server.port, "/events")
        for i in range(150):  # 150 JPEGs of ~1 MB of noise: far more than the stalled sockets' buffers
            server.publish(result(i, noise=True))
            time.sleep(0.005)
        messages = read_events(events, 150)
        assert [int(m.split(b'"frame":')[1].split(b",")[0]) for m in messages] == list(range(150))
        wait_for(lambda: server.hub.encoded > 20)
        assert cv2.imdecode(np.frombuffer(read_parts(server.port, 1)[0], np.uint8), cv2.IMREAD_COLOR) is not None
        stats = server.stats()
        assert stats["viewers"]["video"] >= 1 and stats["viewers"]["skipped"] > 0  # the stalled one lost old frames
        connection.close()
        for sock in stalled:
            sock.close()


def test_path_traversal_gets_404():
    with LiveServer(0) as server:
        for path in ["/../", "/../pyproject.toml", "/%2e%2e/pyproject.toml", "/%2E%2E%2Fpyproject.toml",
                     "/..%2f..%2fetc%2fpasswd", "/app.js/../../pyproject.toml", "/static/../server.py",
                     "//etc/passwd", "/index.html", "/static/app.js", "/hub.py", "/%252e%252e/x", "/.%2e/.%2e/x",
                     "/stats/", "/..\\..\\pyproject.toml"]:
            status, _, body = get(server.port, path)
            assert status == 404, (path, status)
            assert b"import" not in body and b"[project]" not in body
        for path in ["/", "/app.js", "/style.css", "/stats", "/healthz"]:
            assert get(server.port, path)[0] == 200, path


def test_loopback_needs_no_token_but_checks_the_host_name():
    with LiveServer(0) as server:
        assert server.host == "127.0.0.1" and server.token is None and "token" not in server.url
        assert get(server.port, "/healthz")[0] == 200
        assert get(server.port, "/healthz", headers={"Host": f"localhost:{server.port}"})[0] == 200
        # a page elsewhere that rebinds its DNS name to 127.0.0.1 sends its own name: refused
        assert get(server.port, "/healthz", headers={"Host": "attacker.example"})[0] == 403


def test_a_non_loopback_bind_needs_the_token_on_every_request():
    with LiveServer(0, host="127.0.0.2") as server:  # a second loopback address stands for a LAN one
        token = server.token
        assert token and len(token) >= 20 and server.url == f"http://127.0.0.2:{server.port}/?token={token}"
        for path in ["/", "/app.js", "/stream.mjpg", "/events", "/snapshot.jpg", "/healthz", "/stats", "/nothing"]:
            assert get(server.port, path, "127.0.0.2")[0] == 401, path
            assert get(server.port, path + "?token=wrong", "127.0.0.2")[0] == 401, path
            assert get(server.port, path, "127.0.0.2", {"Authorization": "Bearer " + token[:-1]})[0] == 401, path
        assert get(server.port, f"/healthz?token={token}", "127.0.0.2")[0] == 200
        assert get(server.port, "/stats", "127.0.0.2", {"Authorization": f"Bearer {token}"})[0] == 200
        status, headers, _ = get(server.port, f"/?token={token}", "127.0.0.2")
        assert status == 200
        cookie = headers["set-cookie"].split(";")[0]  # the page's own requests carry it
        assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
        assert get(server.port, "/app.js", "127.0.0.2", {"Cookie": cookie})[0] == 200
        assert get(server.port, f"/../pyproject.toml?token={token}", "127.0.0.2")[0] == 404
    with LiveServer(0, token="s3cret") as server:  # a token given is required on loopback too
        assert get(server.port, "/healthz")[0] == 401
        assert get(server.port, "/healthz?token=s3cret")[0] == 200


def test_viewers_beyond_the_limit_get_503():
    with LiveServer(0, max_clients=2) as server:
        server.publish(result(0))
        first, _ = open_stream(server.port, "/stream.mjpg")
        second, events = open_stream(server.port, "/events")
        status, _, body = get(server.port, "/stream.mjpg")
        assert status == 503 and b"serve_max_clients" in body
        assert get(server.port, "/events")[0] == 503
        assert get(server.port, "/stats")[0] == 200  # short requests are not viewers
        first.close()
        wait_for(lambda: server.stats()["viewers"]["video"] == 0)
        third, response = open_stream(server.port, "/stream.mjpg")
        assert response.status == 200
        third.close()
        second.close()


def test_close_ends_every_stream_and_frees_the_port():
    server = LiveServer(0)
    server.publish(result(0))
    connection, events = open_stream(server.port, "/events")
    video, parts = open_stream(server.port, "/stream.mjpg")
    assert read_event(events) == json_line(result(0).to_json())
    server.close()
    assert read_event(events) is None  # the stream ended cleanly
    connection.close()
    video.close()
    with LiveServer(server.port) as again:  # the same port binds again at once
        assert again.port == server.port


def test_healthz_reports_frames_and_seconds_since_the_last():
    with LiveServer(0) as server:
        status, _, body = get(server.port, "/healthz")
        assert status == 200 and b'"frames":0' in body and b'"seconds_since_last_frame":null' in body
        assert get(server.port, "/snapshot.jpg")[0] == 503  # nothing to show yet
        for i in range(3):
            server.publish(result(i))
        wait_for(lambda: server.hub.lines == 3)
        time.sleep(0.2)
        status, _, body = get(server.port, "/healthz")
        assert b'"frames":3' in body
        since = float(body.split(b'"seconds_since_last_frame":')[1].rstrip(b"}"))
        assert 0.2 <= since < 5


def test_a_busy_port_and_bad_settings_are_one_line_errors():
    with LiveServer(0) as server:
        with pytest.raises(TrajpipeError, match="cannot serve the live view on 127.0.0.1"):
            LiveServer(server.port)
    with pytest.raises(TrajpipeError, match="serve_fps"):
        Config().merged({"serve_fps": "0"})
    with pytest.raises(TrajpipeError, match=r"expected \[HOST:\]PORT"):
        Config().merged({"serve": "localhost:http"})
    assert serve_address("8090") == ("127.0.0.1", 8090)
    assert serve_address("0.0.0.0:8090") == ("0.0.0.0", 8090)
    assert serve_address("[::1]:8090") == ("::1", 8090)
    assert Config().merged({"serve_token": "1:30"}).serve_token == "1:30"  # taken as written, not YAML's 90


def test_without_the_extra_serve_says_how_to_install_it():
    code = ("import sys; sys.modules['uvicorn'] = None\n"
            "from trajpipe.app.cli import main\n"
            f"sys.exit(main(['run', '{REPO_VIDEO}', '--serve', '0', '--output-video', 'none', '--output-jsonl', 'none']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "trajpipe: error: the live view (--serve) needs Starlette and uvicorn: pip install 'trajpipe[serve]'"]


def test_a_frame_that_cannot_be_drawn_is_skipped_for_the_viewers_only():
    with LiveServer(0) as server:
        broken = FrameResult(0, 0.0, image=np.zeros((8, 8, 3), object))  # no JPEG can be made of this
        server.publish(broken)
        wait_for(lambda: server.hub.error is not None)
        server.publish(result(1))
        wait_for(lambda: server.hub.encoded == 1)
        assert server.stats()["error"].startswith("frame 0: ") and server.hub.lines == 2
