"""The baseline: a bare FastAPI app that reads the body of a POST and answers {"ok": true}.

Served by the same uvicorn settings as the API (`uvicorn --factory bench.bare:app_factory`), on the same
machine, in the same run, with the same payloads: the webhook/bare ratio is the cost of NioChat's own work
(auth, parse, dedup, rate limits, PostgreSQL insert, enqueue) relative to the framework's floor.
"""

from __future__ import annotations

from fastapi import FastAPI, Request


def app_factory() -> FastAPI:
    app = FastAPI(title="bare baseline")

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/webhooks/uazapi/{channel_key}")
    async def webhook(channel_key: str, request: Request) -> dict[str, bool]:
        await request.body()
        return {"ok": True}

    return app
