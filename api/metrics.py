"""Prometheus metrics of the API; `/metrics` serves them."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request
from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "niochat_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "niochat_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LOGINS = Counter("niochat_logins_total", "Login attempts", ["outcome"])


def _route_template(request: Request) -> str:
    """The path with its parameters put back as `{name}`, so ids don't explode label cardinality."""
    if request.scope.get("route") is None:
        return "unmatched"
    by_value = {str(value): f"{{{name}}}" for name, value in request.path_params.items()}
    return "/".join(by_value.get(segment, segment) for segment in request.url.path.split("/"))


def instrument(app: FastAPI) -> None:
    @app.middleware("http")
    async def record(request: Request, call_next):
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = _route_template(request)
            HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
            HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
