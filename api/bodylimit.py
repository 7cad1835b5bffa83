"""A cap on request bodies under /api/v1: 413 before reading past it (webhooks have their own, api/webhooks).

Plain ASGI middleware: the declared Content-Length is refused at once; a body sent without one (chunked) is
counted as the application reads it and refused the moment it passes the cap.
"""

from __future__ import annotations

import json

API_PREFIX = "/api/v1"
MAX_API_BODY_BYTES = 1_000_000  # the largest real body (settings with business hours) is a few KB


class _TooLarge(BaseException):  # noqa: N818 - not an Exception: FastAPI would turn it into a 400 on the way up
    """Raised from `receive` past the cap, caught here."""


class BodyLimit:
    def __init__(self, app, max_bytes: int = MAX_API_BODY_BYTES, prefix: str = API_PREFIX):
        self.app, self.max_bytes, self.prefix = app, max_bytes, prefix

    async def _refuse(self, send) -> None:
        body = json.dumps({"detail": f"request body larger than {self.max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)
