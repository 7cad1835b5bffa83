"""The simulator's memory: instances and their webhooks, what the bot sent, pending faults, webhook deliveries.

Everything runs on the server's event loop and no method awaits, so no locks are needed.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sandbox.whatsapp.ids import iso_z, now
from sandbox.whatsapp.media_files import MediaFile

PROVIDERS = ("uazapi", "evolution")
DEFAULT_OWNER = "5511987650000"


@dataclass
class Webhook:
    url: str
    enabled: bool = True
    events: list[str] = field(default_factory=list)
    exclude_messages: list[str] = field(default_factory=list)  # Uazapi's excludeMessages
    by_events: bool = False  # Evolution webhookByEvents / Uazapi addUrlEvents: event name appended to the URL
    base64: bool = False  # Evolution webhookBase64
    add_url_types: bool = False  # Uazapi AddUrlTypesMessages
    headers: dict[str, str] = field(default_factory=dict)  # Evolution's webhook headers (`jwt_key`: sign with it)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: datetime = field(default_factory=now)
    updated: datetime = field(default_factory=now)


CONNECTION_STATES = ("open", "connecting", "close")  # Evolution's connectionState values


@dataclass
class Instance:
    provider: str
    name: str
    token: str  # the instance's own token (Uazapi's `token` header, Evolution's instance apikey)
    owner: str = DEFAULT_OWNER
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))  # Evolution's instanceId, Uazapi's id
    # uazapiGO keeps a list of webhooks per instance (POST /webhook `action` add/update/delete) and posts every
    # event to each; Evolution keeps one (POST /webhook/set replaces it).
    webhooks: list[Webhook] = field(default_factory=list)
    connection: str = "open"  # CONNECTION_STATES: whether the number is logged in to WhatsApp
    created: datetime = field(default_factory=now)

    @property
    def webhook(self) -> Webhook | None:
        """The first (for Evolution, the only) webhook."""
        return self.webhooks[0] if self.webhooks else None

    @webhook.setter
    def webhook(self, hook: Webhook | None) -> None:
        self.webhooks = [hook] if hook is not None else []

    def summary(self) -> dict[str, Any]:
        hook = self.webhook
        return {
            "provider": self.provider,
            "instance": self.name,
            "token": self.token,
            "owner": self.owner,
            "instance_id": self.instance_id,
            "connection": self.connection,
            "webhook_url": hook.url if hook else None,
            "webhook_enabled": hook.enabled if hook else False,
            "webhook_events": list(hook.events) if hook else [],
            "webhook_exclude_messages": list(hook.exclude_messages) if hook else [],
            "webhook_by_events": hook.by_events if hook else False,
            "webhook_headers": sorted(hook.headers) if hook else [],  # the names: `jwt_key` is a secret
            "webhooks": [{"id": h.id, "url": h.url, "enabled": h.enabled, "events": list(h.events),
                          "exclude_messages": list(h.exclude_messages), "by_events": h.by_events}
                         for h in self.webhooks],
        }


@dataclass(frozen=True)
class CustomerMedia:
    """A file a customer sent, kept for the providers' download endpoints."""

    kind: str  # "audio" | "image" | "document"
    file: MediaFile
    url: str  # the URL the webhook named
    caption: str = ""


@dataclass
class SentMedia:
    kind: str  # "image" | "document" | "video" | "audio" | "sticker"
    file: str  # as the caller gave it: a URL, or the file's base64
    mimetype: str | None = None
    file_name: str | None = None


@dataclass
class SentMessage:
    id: str  # the provider's message id: Uazapi `messageid`, Evolution `key.id`
    provider: str
    instance: str
    number: str  # digits
    jid: str
    text: str  # the text, or a media's caption ("" when it has none)
    delay: int | None
    sent_at: datetime
    quoted: str | None = None
    track_source: str = ""
    track_id: str = ""
    status: str = "sent"  # "delivered" once the sandbox reported the delivery receipt
    status_reported_at: datetime | None = None
    media: SentMedia | None = None
    origin: str = "api"  # "api": sent through the provider's API; "phone": typed on the instance's phone

    @property
    def kind(self) -> str:
        return self.media.kind if self.media else "text"

    def as_dict(self) -> dict[str, Any]:
        media = self.media
        return {
            "id": self.id, "provider": self.provider, "instance": self.instance, "number": self.number,
            "jid": self.jid, "text": self.text, "delay": self.delay, "sent_at": iso_z(self.sent_at),
            "quoted": self.quoted, "status": self.status,
            "status_reported_at": iso_z(self.status_reported_at) if self.status_reported_at else None,
            "kind": self.kind, "caption": self.text if media else None, "file": media.file if media else None,
            "mimetype": media.mimetype if media else None, "file_name": media.file_name if media else None,
            "origin": self.origin,
        }


@dataclass
class Fault:
    remaining: int
    status: int
    instance: str | None
    mode: str  # "status" | "timeout" | "accept_timeout" | "transient" | "not_on_whatsapp"
    seconds: float | None = None  # how long "timeout" modes hang (default 30 s)
    sends: str = "any"  # which sends it hits: "any", "text" or "media"
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Delivery:
    provider: str
    instance: str
    kind: str  # "inbound" | "echo" | "phone" | "status" | "edit" | "reaction"
    event: str  # the provider's event name: "messages", "messages_update", "messages.upsert", ...
    url: str
    message_id: str
    status_code: int | None = None
    attempts: int = 0
    delivered: bool = False
    error: str | None = None
    at: datetime = field(default_factory=now)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = iso_z(self.at)
        return data


@dataclass
class Config:
    echo: bool = True  # post the echo of each send (fromMe) to the webhook
    status_updates: bool = True  # post a delivery receipt a little after each send
    status_delay_ms: int = 300
    # The awkward shapes real servers send, at rates a test or the demo chooses (0: never, 1: always):
    lid_only_rate: float = 0.0  # customers whose number WhatsApp withholds: known only by @lid
    edit_rate: float = 0.0  # a customer's text first goes out cut short, then is edited to the whole text
    reaction_rate: float = 0.0  # the customer reacts (👍) to a message the bot sent
    transient_send_rate: float = 0.0  # a send refused with the provider's transient error ("Connection Closed")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Contact:
    name: str = ""
    unread: int = 0
    # Whether WhatsApp hides this customer's number (drawn once, at the lid_only_rate: a privacy setting, so the
    # same for every message of theirs unless a test says otherwise for one message)
    lid_only: bool | None = None
    counted: set[str] = field(default_factory=set)  # message ids already in `unread`

    def count_unread(self, message_id: str) -> None:
        """One more unread message, once per message however many webhooks it is posted to."""
        if message_id not in self.counted:
            self.counted.add(message_id)
            self.unread += 1


DEFAULT_EVOLUTION_API_KEY = "sandbox-evolution-global-key"


# What `niochat sandbox` (the demo, `niochat serve --sandbox`) plays by default: the shapes real servers send,
# often enough to meet them in every demo. Tests build a plain sandbox and choose their own rates.
FIELD_RATES = {"lid_only_rate": 0.1, "edit_rate": 0.05, "reaction_rate": 0.1, "transient_send_rate": 0.05}


class SandboxState:
    def __init__(self, evolution_api_key: str = DEFAULT_EVOLUTION_API_KEY,
                 rates: dict[str, float] | None = None) -> None:
        # Evolution's AUTHENTICATION_API_KEY: a server setting, so /sandbox/reset keeps it
        self.evolution_api_key = evolution_api_key
        # Evolution's AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES (a server setting too): webhooks carry the
        # instance's token as `apikey` only when it is on. On here, as Evolution's .env.example has it; a server
        # started without the variable has it off, and its webhooks carry `apikey: null`.
        self.evolution_expose_apikey = True
        self.rates = dict(rates or {})
        self.instances: dict[str, Instance] = {}
        self.messages: list[SentMessage] = []
        self.faults: list[Fault] = []
        self.deliveries: list[Delivery] = []
        self.config = Config(**self.rates)
        self.contacts: dict[tuple[str, str], Contact] = {}
        self.media: dict[str, CustomerMedia] = {}  # customers' files by message id, for the download endpoints
        self.lid_phones: dict[str, str] = {}  # the phone behind each @lid the sandbox has shown the bot

    def upsert_instance(self, provider: str, name: str, token: str, owner: str,
                        connection: str = "open") -> tuple[Instance, bool]:
        existing = self.instances.get(name)
        if existing is None:
            instance = Instance(provider=provider, name=name, token=token, owner=owner, connection=connection)
            self.instances[name] = instance
            return instance, True
        if existing.provider != provider:
            existing.webhook = None  # a webhook registered in the other provider's format means nothing here
        existing.provider, existing.token, existing.owner = provider, token, owner
        existing.connection = connection
        return existing, False

    def token_taken(self, provider: str, token: str, name: str) -> bool:
        return any(i.provider == provider and i.token == token and i.name != name for i in self.instances.values())

    def by_token(self, provider: str, token: str | None) -> Instance | None:
        if not token:
            return None
        return next((i for i in self.instances.values() if i.provider == provider and i.token == token), None)

    def take_fault(self, instance: str, sends: str = "text") -> Fault | None:
        """Consume one failure planned for this instance's next send (or for any instance's) of this kind."""
        for fault in self.faults:
            if fault.remaining > 0 and fault.instance in (None, instance) and fault.sends in ("any", sends):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def contact(self, instance: str, phone: str) -> Contact:
        return self.contacts.setdefault((instance, phone), Contact())

    def find_message(self, message_id: str) -> SentMessage | None:
        return next((m for m in self.messages if m.id == message_id), None)

    def reset(self) -> None:
        """Back to a fresh simulator, keeping the instances and their webhook registrations."""
        self.messages.clear()
        self.faults.clear()
        self.deliveries.clear()
        self.contacts.clear()
        self.media.clear()
        self.config = Config(**self.rates)
