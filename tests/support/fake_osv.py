"""A fake OSV vulnerability service for tests: the real pip-audit queries it over HTTP (`--osv-url`).

It answers OSV's `POST /v1/query` from the advisories it is given, in OSV's schema, records every query, and can
be told to fail (503) as a service in trouble does.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def advisory(package: str, identifier: str, fixed: str, aliases: tuple[str, ...] = ()) -> dict:
    """One OSV record: `package` is affected below `fixed`."""
    return {
        "schema_version": "1.6.0",
        "id": identifier,
        "aliases": list(aliases),
        "summary": f"test advisory for {package}",
        "published": "2026-01-02T03:04:05Z",
        "affected": [{
            "package": {"name": package, "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
        }],
    }


def create_app(advisories: dict[tuple[str, str], list[dict]], failing: bool = False) -> FastAPI:
    """`advisories` maps (package, version) to the OSV records that affect it; anything else has none."""
    app = FastAPI()
    app.state.queries = []

    @app.post("/v1/query")
    async def query(request: Request):
        body = await request.json()
        app.state.queries.append(body)
        if failing:
            return JSONResponse({"code": 14, "message": "unavailable"}, status_code=503)
        vulns = advisories.get((body["package"]["name"], body["version"]), [])
        return {"vulns": vulns} if vulns else {}

    return app
