"""WebSocket /api/v1/ws: the tenant's live events, as JSON text frames.

The bearer token never travels in the URL (access logs, proxies and browser histories keep URLs): it comes as
the subprotocol pair `niochat.bearer, <token>` (what a browser's `new WebSocket(url, ["niochat.bearer", token])`
sends; the server answers with `niochat.bearer`), or as the first frame `{"type": "auth", "token": "..."}`
within AUTH_SECONDS. A URL carrying `?token=` is refused.

Events come from Redis pub/sub (api.engine.live), so a client connected to any API process gets the events
caused by every process and worker. The first frame is `{"type": "ready"}` once subscribed. A bad, expired or
disabled user's token is refused with close code 4401; the token is checked again every REAUTH_SECONDS, so a
disabled user's open socket closes too. Events carry ids and statuses only, never message text.

While the socket is open it keeps its user's chosen presence alive (api.engine.presence): closing the browser
lets it expire. Managers and admins get every event of their tenant; an agent only those of the conversations
they may see, by the REST API's rule (api.routes.live_scope).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from fastapi import APIRouter, WebSocket
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocketDisconnect

from api.deps import CurrentUser, token_user
from api.engine import presence
from api.engine.live import events_channel
from api.routes.live_scope import EventScope
from api.security import InvalidToken, decode_token
from api.state import AppState
from niochat.database import tenant_transaction
from niochat.logging import get_logger

router = APIRouter(tags=["live"])
log = get_logger(__name__)

UNAUTHORIZED = 4401
REAUTH_SECONDS = 60.0
POLL_SECONDS = 1.0
BATCH = 100  # events read before one visibility check
AUTH_SECONDS = 10.0
SUBPROTOCOL = "niochat.bearer"


def _offered_token(websocket: WebSocket) -> str | None:
    """The token offered beside SUBPROTOCOL in Sec-WebSocket-Protocol, if any."""
    offered = [value.strip() for value in websocket.scope.get("subprotocols") or []]
    if SUBPROTOCOL not in offered:
        return None
    return next((value for value in offered if value != SUBPROTOCOL), None)


async def _first_frame_token(websocket: WebSocket) -> str | None:
    try:
        frame = await asyncio.wait_for(websocket.receive_text(), AUTH_SECONDS)
        message = json.loads(frame)
    except (TimeoutError, ValueError, KeyError, RuntimeError, WebSocketDisconnect):
        return None
    if isinstance(message, dict) and message.get("type") == "auth" and isinstance(message.get("token"), str):
        return message["token"]
    return None


async def _user_of(state: AppState, token: str | None) -> CurrentUser | None:
    """The token's user if the token is valid and its user and tenant are active; else None."""
    if not token:
        return None
    try:
        claims = decode_token(state.keyring, token)
    except InvalidToken:
        return None
    async with tenant_transaction(state.engine, claims.tenant_id) as conn:
        return await token_user(conn, claims)


def _text(message: dict | None) -> str | None:
    if not message or message.get("type") != "message":
        return None
    data = message["data"]
    return data.decode() if isinstance(data, bytes) else str(data)


async def _batch(pubsub: PubSub) -> list[str]:
    """The events waiting: the first within POLL_SECONDS, then whatever else is already there (up to BATCH)."""
    frames: list[str] = []
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_SECONDS)
    while message is not None:
        if (frame := _text(message)) is not None:
            frames.append(frame)
        if len(frames) >= BATCH:
            break
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0)
    return frames


async def _forward(websocket: WebSocket, pubsub: PubSub, state: AppState, token: str, scope: EventScope) -> int:
    """Send each event the user may see until the token stops being good (returns the close code to use)."""
    checked = time.monotonic()
    while True:
        if frames := await _batch(pubsub):
            for frame in await scope.allowed(frames):
                await websocket.send_text(frame)
        if time.monotonic() - checked >= REAUTH_SECONDS:
            if await _user_of(state, token) is None:
                return UNAUTHORIZED
            checked = time.monotonic()


async def _until_disconnect(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, to notice when it goes away."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _keep_present(state: AppState, user: CurrentUser) -> None:
    """While the workspace holds this socket, the user's chosen presence stays alive (api.engine.presence)."""
    while True:
        try:
            await presence.beat(state.redis, user.tenant_id, user.id)
        except (RedisError, OSError) as exc:  # a missed beat: the grace outlasts a few
            log.warning("presence not refreshed", error=type(exc).__name__)
        await asyncio.sleep(presence.BEAT_SECONDS)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # the client may be gone already
        await websocket.close(code, reason)


@router.websocket("/ws", name="live_events")
async def live_events(websocket: WebSocket) -> None:
    state: AppState = websocket.app.state.niochat
    token = _offered_token(websocket)
    # accept first: a close code only reaches the client on an open socket
    await websocket.accept(subprotocol=SUBPROTOCOL if token else None)
    if "token" in websocket.query_params:
        # a close reason holds at most 123 bytes
        await _close(websocket, UNAUTHORIZED,
                     f"no token in the URL: use subprotocol {SUBPROTOCOL} or a first auth frame")
        return
    if token is None:
        token = await _first_frame_token(websocket)
    user = await _user_of(state, token)
    if user is None:
        await _close(websocket, UNAUTHORIZED, "invalid or expired token, or user disabled")
        return
    tenant_id = user.tenant_id
    pubsub = state.redis.pubsub(ignore_subscribe_messages=True)
    tasks: list[asyncio.Task] = []
    try:
        await pubsub.subscribe(events_channel(tenant_id))
        await websocket.send_text(json.dumps({"type": "ready", "tenant_id": str(tenant_id)}))
        forwarder = asyncio.create_task(_forward(websocket, pubsub, state, token, EventScope(state.engine, user)))
        tasks = [forwarder, asyncio.create_task(_until_disconnect(websocket)),
                 asyncio.create_task(_keep_present(state, user))]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if forwarder in done:
            await _close(websocket, forwarder.result(), "token no longer valid")  # re-raises its error
    except (WebSocketDisconnect, RuntimeError):  # the client went away mid-send
        pass
    except (RedisError, OSError, SQLAlchemyError) as exc:
        log.warning("live events stopped", error=type(exc).__name__)
        await _close(websocket, 1011, "live events unavailable; reconnect")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await pubsub.aclose()
