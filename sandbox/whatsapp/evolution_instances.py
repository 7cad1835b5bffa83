"""Evolution API v2's instance routes as the sandbox answers them: who may call, fetchInstances, connectionState.

Sources (EvolutionAPI/evolution-api v2.3):
- src/api/guards/auth.guard.ts: the `apikey` header is the server's global key (AUTHENTICATION_API_KEY) or the
  named instance's own token; GET /instance/fetchInstances also takes any instance's token (it then lists only
  the instances with that token). No or a wrong key: 401 {"status": 401, "error": "Unauthorized",
  "response": {"message": "Unauthorized"}} (src/main.ts's error handler, src/exceptions/401.exception.ts).
- src/api/guards/instance.guard.ts runs first: an unknown instance in the path is a 404, whatever the key:
  {"status": 404, "error": "Not Found", "response": {"message": ['The "x" instance does not exist']}}.
- src/api/controllers/instance.controller.ts: connectionState answers {"instance": {"instanceName", "state"}};
  fetchInstances with the global key lists every instance, or the one `instanceName` names (404
  'Instance "x" not found' when there is none, src/api/services/monitor.service.ts instanceInfo).
- The records are Prisma `Instance` rows with their relations (prisma/postgresql-schema.prisma), the instance's
  `token` among them. `Setting` and `_count` are filled with plausible values (best guess, not from captures).
"""

from __future__ import annotations

from typing import Any

from sandbox.whatsapp.ids import iso_z, pn_jid
from sandbox.whatsapp.state import Instance, SandboxState

UNAUTHORIZED = (401, "Unauthorized")


def may_call(state: SandboxState, instance: Instance, key: str | None) -> bool:
    """The global key opens every instance; an instance's token opens that instance only."""
    return bool(key) and key in (state.evolution_api_key, instance.token)


def not_found_message(name: str) -> list[str]:
    return [f'The "{name}" instance does not exist']


def connection_state(instance: Instance) -> dict[str, Any]:
    return {"instance": {"instanceName": instance.name, "state": instance.connection}}


def listed(state: SandboxState, key: str | None, name: str | None,
           instance_id: str | None) -> list[dict[str, Any]] | tuple[int, Any]:
    """fetchInstances' answer, or (status, message) when Evolution refuses."""
    instances = [i for i in state.instances.values() if i.provider == "evolution"]
    if not key:
        return UNAUTHORIZED
    if key != state.evolution_api_key:
        mine = [i for i in instances if i.token == key and name in (None, i.name)
                and instance_id in (None, i.instance_id)]
        return [record(state, i) for i in mine] if mine else UNAUTHORIZED
    if instance_id is not None:
        by_id = [i for i in instances if i.instance_id == instance_id]
        return [record(state, i) for i in by_id] if by_id else (404, [f'Instance "{instance_id}" not found'])
    if name is not None:
        named = [i for i in instances if i.name == name]
        return [record(state, i) for i in named] if named else (404, [f'Instance "{name}" not found'])
    return [record(state, i) for i in instances]


def record(state: SandboxState, instance: Instance) -> dict[str, Any]:
    created = iso_z(instance.created)
    chats = {phone for (name, phone) in state.contacts if name == instance.name}
    sent = sum(1 for message in state.messages if message.instance == instance.name)
    return {
        "id": instance.instance_id,
        "name": instance.name,
        "connectionStatus": instance.connection,
        "ownerJid": pn_jid(instance.owner) if instance.connection == "open" else None,
        "profileName": instance.name,
        "profilePicUrl": None,
        "integration": "WHATSAPP-BAILEYS",
        "number": None,
        "businessId": None,
        "token": instance.token,
        "clientName": "evolution_exchange",
        "disconnectionReasonCode": None if instance.connection == "open" else 401,
        "disconnectionObject": None,
        "disconnectionAt": None,
        "createdAt": created,
        "updatedAt": created,
        "Chatwoot": None,
        "Proxy": None,
        "Rabbitmq": None,
        "Nats": None,
        "Sqs": None,
        "Websocket": None,
        "Setting": {
            "id": instance.instance_id[:8] + "setting", "rejectCall": False, "msgCall": "", "groupsIgnore": False,
            "alwaysOnline": False, "readMessages": False, "readStatus": False, "syncFullHistory": False,
            "wavoipToken": "", "createdAt": created, "updatedAt": created, "instanceId": instance.instance_id,
        },
        "_count": {"Message": sent, "Contact": len(chats), "Chat": len(chats)},
    }
