"""Who may see the live view: the token when one is set (query ``token``, header ``Authorization:
Bearer``, or the cookie the page gets), else loopback Host names only (so a web page elsewhere cannot
reach a loopback view by DNS rebinding)."""

from __future__ import annotations

import hmac
import ipaddress
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.responses import PlainTextResponse

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}  # binds that need no token (the default is the first)


class TokenGuard:
    """ASGI middleware in front of every route: the token when one is set (query ``token``, header
    ``Authorization: Bearer``, or the cookie the page gets), else loopback Host names only (so a web
    page elsewhere cannot reach a loopback view by DNS rebinding)."""

    def __init__(self, app, token: str | None, port: int):
        """Args:
            app: the ASGI application guarded.
            token: the token every request needs; None: loopback Host names only.
            port: the server's port (names the cookie: cookies ignore ports).
        """
        self.app, self.token = app, token
        self.cookie = f"trajpipe_token_{port}"  # cookies ignore ports: one name per server

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        token = self.token
        if token is None:
            host = _host_name(headers.get("host", ""))
            if host and host not in LOOPBACK_NAMES and not _is_loopback(host):
                return await PlainTextResponse("forbidden host\n", status_code=403)(scope, receive, send)
            return await self.app(scope, receive, send)
        offered = self._offered(scope, headers)
        if offered is None or not hmac.compare_digest(offered.encode(), token.encode()):
            response = PlainTextResponse("unauthorized: this live view needs its token (?token=...)\n",
                                         status_code=401, headers={"WWW-Authenticate": "Bearer"})
            return await response(scope, receive, send)
        if scope["path"] == "/":  # the page's own requests (image, events, scripts) carry it as a cookie
            cookie = f"{self.cookie}={token}; Path=/; HttpOnly; SameSite=Strict"

            async def send_with_cookie(message):
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message["headers"], (b"set-cookie", cookie.encode())]}
                await send(message)
            return await self.app(scope, receive, send_with_cookie)
        return await self.app(scope, receive, send)

    def _offered(self, scope, headers: dict) -> str | None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if query.get("token"):
            return query["token"][0]
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value:
            return value.strip()
        if "cookie" in headers:
            jar = SimpleCookie()
            try:
                jar.load(headers["cookie"])
            except Exception:  # a malformed Cookie header is no token
                return None
            if self.cookie in jar:
                return jar[self.cookie].value
        return None


def _host_name(header: str) -> str:
    """The name in a Host header, without its port: ``[::1]:8090`` -> ``::1``, ``LocalHost:80`` -> ``localhost``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
