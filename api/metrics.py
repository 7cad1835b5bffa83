"""Prometheus metrics of the API; `/metrics` serves them."""

from __future__ import annotations

import time

from fastapi import FastAPI
from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "niochat_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "niochat_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LOGINS = Counter("niochat_logins_total", "Login attempts", ["outcome"])


def _route_template(scope: dict) -> str:
    """The path with its parameters put back as `{name}`, so ids don't explode label cardinality."""
    if scope.get("route") is None:
        return "unmatched"
    by_value = {str(value): f"{{{name}}}" for name, value in scope.get("path_params", {}).items()}
    return "/".join(by_value.get(segment, segment) for segment in scope["path"].split("/"))


class _Instrument:
    """Plain ASGI middleware (Starlette's BaseHTTPMiddleware costs a task group per request)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = _route_template(scope)
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)


def instrument(app: FastAPI) -> None:
    app.add_middleware(_Instrument)
