"""Planned failures (POST /sandbox/faults): an HTTP error, a refused token, or a request that hangs."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import Request

HANG_SECONDS = 30.0
TIMEOUT_STATUS = 504


@dataclass
class Fault:
    count: int
    mode: str  # "error" | "timeout" | "forbidden"
    status: int = 500
    endpoint: str | None = None  # a substring of the request path; None: every /api/ura/ call

    def matches(self, path: str) -> bool:
        return self.count > 0 and (not self.endpoint or self.endpoint in path)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def take_fault(faults: list[Fault], path: str) -> Fault | None:
    """Spend one use of the first planned fault for this path; used-up faults are dropped."""
    for fault in faults:
        if fault.matches(path):
            fault.count -= 1
            if fault.count == 0:
                faults.remove(fault)
            return fault
    return None


async def hang(request: Request, stopping: asyncio.Event, seconds: float = HANG_SECONDS) -> None:
    """Hold the request open like a stuck SGP; give up early when the client hangs up or the server stops."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline and not stopping.is_set():
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.1)
