"""Setting a channel up with its provider, before anything is stored: is the key right, does the instance exist,
which token will its webhooks carry, is the number connected; then registering our webhook.

Evolution API v2 (EvolutionAPI/evolution-api: src/api/guards/auth.guard.ts, instance.guard.ts,
src/api/controllers/instance.controller.ts, src/api/services/channel.service.ts):
- every instance route takes, in the `apikey` header, the server's global key (AUTHENTICATION_API_KEY) or the
  instance's own token; an unknown instance is a 404 before the key is looked at, a wrong key a 401;
- GET /instance/connectionState/{instance} answers {"instance": {"instanceName", "state"}}, state "open",
  "connecting" (waiting for the QR code) or "close";
- GET /instance/fetchInstances?instanceName= lists the instance with its `token` (for the global key, or for
  that instance's token);
- webhooks carry the instance's token as `apikey` (null when AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES is off,
  which is Evolution's default when the variable is unset; src/api/services/channel.service.ts sendDataWebhook),
  never the global key: a channel that calls with the global key must check webhooks against the instance's;
- a webhook set with the header `jwt_key` gets `Authorization: Bearer <HS256 JWT signed with it, 10 minutes>`
  on every post (src/api/integrations/event/webhook/webhook.controller.ts, since 2.3.0; before, headers are sent
  as they are): NioChat registers its webhook with the token it checks, so every webhook carries a secret.
uazapiGO v2: the instance token is the only key (`token` header); GET /webhook lists the instance's webhooks
(401 for a wrong token); POST /webhook with `action` "add" adds one beside the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from api.whatsapp.clients import ChannelAccess, ProviderError, client_for

SETUP_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
CONNECTION_STATES = {"open": "connected", "connecting": "connecting", "close": "disconnected"}  # as webhooks map


class SetupError(Exception):
    """The provider refused the channel (a wrong key, no such instance, unreachable): why, and what to do, in
    words for the operator."""


@dataclass(frozen=True)
class ChannelKeys:
    api_key: str  # what NioChat calls the provider with, as the operator gave it
    webhook_token: str | None  # what the provider's webhooks carry, when it is not api_key (None: the same)
    kind: str  # "instance": the instance's own token; "global": Evolution's global key; "unknown"
    connection: str | None  # "connected" | "connecting" | "disconnected" as the provider said; None: not asked
    notices: list[str] = field(default_factory=list)  # worth telling the operator, not worth refusing for

    def describe(self, provider: str, instance: str) -> str:
        if self.kind == "global":
            return (f"the key is the Evolution server's global key: NioChat calls Evolution with it, and checks "
                    f"webhooks against the token of instance '{instance}' (what they carry), fetched with it and "
                    "stored encrypted")
        if self.kind == "unknown":
            return ("Evolution did not show the instance's token (AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES=false): "
                    "its webhooks carry no apikey, so NioChat checks the JWT they are signed with (the webhook's "
                    "jwt_key, Evolution 2.3+), and calls it with the key given")
        return f"the key is the token of instance '{instance}' itself ({provider})"


async def check_channel(http: httpx.AsyncClient, provider: str, base_url: str, instance: str,
                        key: str) -> ChannelKeys:
    """What the provider says about this key and instance; SetupError when it refuses them."""
    base_url = base_url.rstrip("/")
    if provider == "evolution":
        return await _check_evolution(http, base_url, instance, key)
    return await _check_uazapi(http, base_url, key)


async def register_webhook(http: httpx.AsyncClient, access: ChannelAccess, url: str, *,
                           secret: str | None = None, replaces: Callable[[str], bool] | None = None) -> list[str]:
    """Point the provider at our webhook URL; returns notices (a webhook of someone else replaced). Raises
    ProviderError (or httpx.HTTPError) when the provider does not take it. `secret`: the token webhooks are
    checked against (for Evolution's JWT); `replaces`: which URLs are this channel's earlier ones (a rotation)."""
    notices = []
    if access.provider == "evolution":  # one webhook per instance: setting ours replaces any other
        try:
            current = await _get(http, f"{access.base_url}/webhook/find/{quote(access.instance, safe='')}",
                                 {"apikey": access.token})
        except SetupError:
            current = (0, None)
        previous = current[1] if current[0] == 200 and isinstance(current[1], dict) else {}
        earlier = previous.get("url")
        ours = earlier in (None, "", url) or (replaces is not None and isinstance(earlier, str) and replaces(earlier))
        if previous.get("enabled") and not ours:
            notices.append(f"instance '{access.instance}' posted its events to {earlier}; Evolution keeps "
                           "one webhook per instance, so it now posts them to NioChat instead")
    await client_for(http, access).register_webhook(url, replaces=replaces, secret=secret)
    return notices


# ------------------------------------------------------------------------------------------------ Evolution


async def _check_evolution(http: httpx.AsyncClient, base_url: str, instance: str, key: str) -> ChannelKeys:
    headers = {"apikey": key}
    status, body = await _get(http, f"{base_url}/instance/connectionState/{quote(instance, safe='')}", headers)
    if status != 200:
        raise _evolution_refusal(status, body, base_url, instance)
    found = body.get("instance") if isinstance(body, dict) else None
    state = found.get("state") if isinstance(found, dict) else None
    connection = CONNECTION_STATES.get(str(state).lower()) if state else None

    status, body = await _get(http, f"{base_url}/instance/fetchInstances", headers, {"instanceName": instance})
    if status != 200:
        raise _evolution_refusal(status, body, base_url, instance)
    record = _instance_record(body, instance)
    if record is None:
        raise _evolution_refusal(404, body, base_url, instance)
    token = record.get("token") or record.get("apikey")
    token = token if isinstance(token, str) and token and token != "Apikey not found" else None
    if token is None:
        keys = ChannelKeys(key, None, "unknown", connection)
    elif token == key:
        keys = ChannelKeys(key, None, "instance", connection)
    else:
        keys = ChannelKeys(key, token, "global", connection)
    if connection in ("connecting", "disconnected"):
        keys.notices.append(
            f"instance '{instance}' is not connected to WhatsApp (Evolution says '{state}'): connect it in the "
            "Evolution manager (scan the QR code); messages arrive once it is")
    return keys


def _instance_record(body: Any, instance: str) -> dict | None:
    """The named instance in fetchInstances' list: v2 records ({"name", "token"}) or v1 ones ({"instance":
    {"instanceName", "apikey"}})."""
    for item in body if isinstance(body, list) else []:
        if not isinstance(item, dict):
            continue
        if item.get("name") == instance:
            return item
        inner = item.get("instance")
        if isinstance(inner, dict) and inner.get("instanceName") == instance:
            return inner
    return None


def _evolution_refusal(status: int, body: Any, base_url: str, instance: str) -> SetupError:
    said, shown = _message_of(body), _phrase(status)  # what it said decides; only the status is repeated
    if status in (401, 403):
        return SetupError(
            f"Evolution at {base_url} refused the apikey for instance '{instance}' "
            f"({status} {shown}): it is neither the server's global key (AUTHENTICATION_API_KEY "
            f"in the Evolution server's environment) nor the token of instance '{instance}' (Evolution manager, "
            "the instance's API key). Give one of the two and run the command again.")
    if status == 404 and (said.startswith("Cannot ") or "instance" not in said.lower()):  # Express: no such route
        return SetupError(
            f"{base_url} has no Evolution API routes ({status} {shown}): the base URL must be the Evolution "
            "server's address (e.g. https://evolution.example.com), not its manager page")
    if status == 404:
        return SetupError(
            f"Evolution at {base_url} has no instance named '{instance}' ({status} {shown}). Instance names "
            "are case-sensitive: check the name in the Evolution manager, or create the instance there first.")
    return SetupError(f"Evolution at {base_url} answered {status} {shown} when asked about instance '{instance}'")


# ------------------------------------------------------------------------------------------------ Uazapi


async def _check_uazapi(http: httpx.AsyncClient, base_url: str, key: str) -> ChannelKeys:
    status, _body = await _get(http, f"{base_url}/webhook", {"token": key})
    if status == 401:
        raise SetupError(
            f"Uazapi at {base_url} refused the token (401 {_phrase(401)}): use the instance's own token "
            "(Uazapi panel, the instance's token), not the admin token, and run the command again.")
    if status == 404:
        raise SetupError(f"{base_url} has no Uazapi API (GET /webhook answered 404): the base URL must be your "
                         "Uazapi server, e.g. https://yourcompany.uazapi.com")
    if status != 200:
        raise SetupError(f"Uazapi at {base_url} answered {status} {_phrase(status)} when asked for the instance's "
                         "webhooks")
    return ChannelKeys(key, None, "instance", None)


# ------------------------------------------------------------------------------------------------ helpers


async def _get(http: httpx.AsyncClient, url: str, headers: dict, params: dict | None = None) -> tuple[int, Any]:
    """(status, parsed JSON or text); SetupError when the provider cannot be reached."""
    try:
        response = await http.get(url, headers=headers, params=params, timeout=SETUP_TIMEOUT)
    except httpx.TimeoutException:
        raise SetupError(f"{url} did not answer in time: is the provider up, and the base URL right?") from None
    except httpx.HTTPError as exc:
        raise SetupError(f"cannot reach {url} ({type(exc).__name__}: {exc}): check the base URL and that this "
                         "machine can reach the provider") from None
    except httpx.InvalidURL as exc:
        raise SetupError(f"{url!r} cannot be called ({exc}): check the base URL") from None
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text[:300]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "(no standard meaning)"


def _message_of(body: Any) -> str:
    """The provider's own words: Evolution's response.message (a string or a list), Uazapi's error."""
    if isinstance(body, str):
        return body.strip()[:200]
    if not isinstance(body, dict):
        return ""
    message = body.get("response", {}).get("message") if isinstance(body.get("response"), dict) else None
    message = message if message is not None else body.get("error") or body.get("message") or body.get("detail")
    if isinstance(message, list):
        message = "; ".join(str(part) for part in message)
    return str(message or "").strip()[:200]


__all__ = ["ChannelKeys", "ProviderError", "SetupError", "check_channel", "register_webhook"]
