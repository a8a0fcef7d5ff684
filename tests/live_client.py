"""A plain-socket client of the live view (trajpipe.serve) for the tests: nothing the server ships is used.

Importable from any test (pytest puts tests/, the directory of the root conftest.py, on sys.path).
"""

from __future__ import annotations

import http.client
import socket
import time


def get(port: int, path: str, host: str = "127.0.0.1", headers: dict | None = None,
        timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """(status, headers, body) of a GET sent exactly as written (no normalisation of ``path``)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def open_stream(port: int, path: str, host: str = "127.0.0.1", headers: dict | None = None,
                timeout: float = 20.0) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection.request("GET", path, headers=headers or {})
    return connection, connection.getresponse()


def read_part(response: http.client.HTTPResponse) -> bytes:
    """The next JPEG of a multipart/x-mixed-replace response (b"" at the end of the stream)."""
    boundary = "--" + response.getheader("content-type").split("boundary=")[1]
    line = response.readline()
    while line and line.strip() != boundary.encode():
        line = response.readline()
    if not line:
        return b""
    headers = {}
    while (line := response.readline().strip()):
        key, _, value = line.decode().partition(":")
        headers[key.lower()] = value.strip()
    assert headers["content-type"] == "image/jpeg", headers
    return response.read(int(headers["content-length"]))


def read_parts(port: int, count: int, host: str = "127.0.0.1", headers: dict | None = None) -> list[bytes]:
    connection, response = open_stream(port, "/stream.mjpg", host, headers)
    try:
        assert response.status == 200, response.status
        return [read_part(response) for _ in range(count)]
    finally:
        connection.close()


def read_event(response: http.client.HTTPResponse) -> bytes | None:
    """The data of the next server-sent event (comments skipped); None at the end of the stream."""
    data = []
    while True:
        line = response.readline()
        if not line:
            return None
        line = line.rstrip(b"\r\n")
        if not line:
            if data:
                return b"\n".join(data)
            continue
        if line.startswith(b"data: "):
            data.append(line[len(b"data: "):])


def read_events(response: http.client.HTTPResponse, count: int | None = None) -> list[bytes]:
    """``count`` events, or all of them until the stream ends."""
    events = []
    while count is None or len(events) < count:
        event = read_event(response)
        if event is None:
            break
        events.append(event)
    return events


def stalled_viewer(port: int, path: str = "/stream.mjpg", host: str = "127.0.0.1") -> socket.socket:
    """A viewer that asks for ``path`` and never reads a byte (small receive buffer: it fills at once)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    return sock


def wait_for(condition, timeout: float = 30.0, step: float = 0.05):
    """Poll ``condition()`` until it is truthy (returned) or ``timeout`` seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")
