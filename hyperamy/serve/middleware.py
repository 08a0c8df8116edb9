"""ASGI middleware of the HTTP API: body limits, security headers, an access log; one error shape."""
from __future__ import annotations

from fastapi.responses import JSONResponse


def error(status: int, message: str) -> JSONResponse:
    """The API's one error shape: {"error": message}."""
    return JSONResponse({"error": message}, status_code=status)


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes is refused with 413, declared or streamed."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            response = error(413, f"request body of {int(declared)} bytes is over the limit of {self.limit}")
            return await response(scope, receive, send)
        received, over = 0, False
        started = False

        async def bounded():
            nonlocal received, over
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                over = True
                return {"type": "http.disconnect"}  # the route stops reading; answered with 413 below
            return message

        async def guarded_send(message):
            nonlocal started
            if over:
                return  # whatever the route made of a cut-off body, the answer is 413
            started = True
            await send(message)

        await self.app(scope, bounded, guarded_send)
        if over and not started:
            response = error(413, f"request body is over the limit of {self.limit} bytes")
            await response(scope, receive, send)


class AccessLog:
    """ASGI middleware: one line per request on stderr: client, method, path and query, status, time."""

    def __init__(self, app):
        import logging
        import sys

        self.app = app
        self.log = logging.getLogger("hyperamy.access")
        if not self.log.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
            self.log.addHandler(handler)
            self.log.setLevel(logging.INFO)
            self.log.propagate = False

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        import time
        from urllib.parse import unquote_plus

        started, status = time.perf_counter(), [500]

        async def noted(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope.get("path", "") + (f"?{unquote_plus(query)}" if query else "")
            client = (scope.get("client") or ("-",))[0]
            self.log.info("%s %s %s %d %.0f ms", client, scope.get("method", ""), target[:300], status[0],
                          1000 * (time.perf_counter() - started))


class SecurityHeaders:
    """ASGI middleware: browsers must not sniff types; the page runs only its own scripts."""

    HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
    PAGE = [(b"content-security-policy", b"default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                            b"style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                            b"object-src 'none'; frame-ancestors 'none'; base-uri 'none'")]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        page = scope.get("path") == "/"  # the page's policy; /docs loads what FastAPI's UI needs

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS, *(self.PAGE if page else [])]
            await send(message)

        await self.app(scope, receive, with_headers)
