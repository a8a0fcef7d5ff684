"""The live view's page in a real browser: Debian's chromium, headless, driven by Playwright, during a
real ``trajpipe run --serve`` (subprocess), which Ctrl-C then stops with its outputs finalised.

Playwright's own browser downloads are never used (``playwright install`` needs the network): the test
runs Debian's ``chromium`` (.ci/run installs it) and is skipped with a reason where it is absent.
``TRAJPIPE_SCREENSHOT=docs/live_view.png`` also saves the screenshot there (``make live-image``).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from live_client import get, wait_for

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGE_READY = ("() => { const v = window.trajpipeView; return v && v.rows > 0 && v.imageLoaded && v.fps > 0 "
              "&& document.querySelectorAll('#tracks tbody tr').length > 0; }")


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does it)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def frames_served(port: int) -> int:
    try:
        status, _, body = get(port, "/healthz", timeout=2)
    except OSError:
        return 0
    return orjson.loads(body)["frames"] if status == 200 else 0


def test_page_shows_video_tracks_and_fps_in_headless_chromium(concourse, detector_weights, tmp_path):
    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra has it)")
    pytest.importorskip("uvicorn", reason="the live view needs pip install 'trajpipe[serve]'")
    port = free_port()
    video, jsonl = tmp_path / "run.mp4", tmp_path / "run.jsonl"
    command = [sys.executable, "-m", "trajpipe", "run", str(concourse), "--serve", str(port), "--model",
               str(detector_weights), "--output-video", str(video), "--output-jsonl", str(jsonl), "--quiet",
               "loop=true"]  # runs until Ctrl-C, whatever the machine's speed
    run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: run.poll() is not None or frames_served(port) > 0, timeout=120, step=0.5)
        assert run.poll() is None, run.stderr.read()
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 760})
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_function(PAGE_READY, timeout=60_000)
                # for the picture: forecasts (tracks older than min_track_age) and a few points of the plot
                page.wait_for_function("() => window.trajpipeView.forecasts > 0 && window.trajpipeView.frames >= 30",
                                       timeout=120_000)
                page.wait_for_function(PAGE_READY, timeout=30_000)
                screenshot = page.screenshot()
                state = page.evaluate("() => ({...window.trajpipeView, "
                                      "shown: document.getElementById('fps').textContent, "
                                      "width: document.getElementById('video').naturalWidth, "
                                      "cells: [...document.querySelectorAll('#tracks tbody tr')].map(r => r.cells.length)})")
                phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
                phone.goto(f"http://127.0.0.1:{port}/")
                phone.wait_for_function(PAGE_READY, timeout=60_000)
                overflow = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                phone_screenshot = phone.screenshot()
            finally:
                browser.close()
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGINT)  # Ctrl-C: stop after the current frame, outputs finalised
        out, err = run.communicate(timeout=120)
    (tmp_path / "live_view.png").write_bytes(screenshot)
    (tmp_path / "live_view_phone.png").write_bytes(phone_screenshot)
    if os.environ.get("TRAJPIPE_SCREENSHOT"):
        (REPO / os.environ["TRAJPIPE_SCREENSHOT"]).write_bytes(screenshot)
    assert state["rows"] > 0 and state["fps"] > 0 and float(state["shown"]) > 0, state
    assert state["imageLoaded"] and 0 < state["width"] <= 960  # scaled to serve_width
    assert set(state["cells"]) == {4} and len(state["cells"]) == state["rows"]  # id, class, speed, approach
    assert overflow <= 1, f"the page is wider than a phone's screen by {overflow} px"
    assert run.returncode == 130, err
    assert f"live view at http://127.0.0.1:{port}/" in err and "Stopped early by interrupt" in out
    lines = jsonl.read_text().splitlines()
    assert lines and all(orjson.loads(line)["frame"] >= 0 for line in lines)  # every line whole
    assert video.stat().st_size > 0
    with pytest.raises(OSError):  # the server is gone with the run
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
