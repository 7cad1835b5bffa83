"""Quick replies' text: the variables an admin may write in one, and their expansion for one conversation.

A variable is `{name}` with lower-case letters and underscores; any other brace is text. An unknown variable is
refused when the quick reply is saved, and a missing value when it is sent: the customer never receives a
half-filled message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlparse

from api.whatsapp.media import OutboundMedia

VARIABLE = re.compile(r"\{([a-z_]+)\}")
VARIABLES = {
    "primeiro_nome": "the contact's first name",
    "nome": "the contact's name",
    "protocolo": "the protocol of the ticket opened in the conversation",
    "agente": "the name of the agent sending it",
}
# What a quick reply's media URL may point at: the file kind WhatsApp gets and its type, by the name's ending.
MEDIA_TYPES = {".jpg": ("image", "image/jpeg"), ".jpeg": ("image", "image/jpeg"), ".png": ("image", "image/png"),
               ".webp": ("image", "image/webp"), ".pdf": ("document", "application/pdf")}


class ExpansionError(ValueError):
    """The quick reply cannot be sent as it stands in this conversation (the message says why)."""


def unknown_variables(template: str) -> list[str]:
    return sorted({name for name in VARIABLE.findall(template) if name not in VARIABLES})


@dataclass(frozen=True)
class Values:
    contact_name: str | None
    protocol: str | None
    agent_name: str | None

    def of(self, name: str) -> str | None:
        contact = (self.contact_name or "").strip()
        found = {"nome": contact, "primeiro_nome": contact.split()[0] if contact else "",
                 "protocolo": (self.protocol or "").strip(), "agente": (self.agent_name or "").strip()}[name]
        return found or None


def expand(template: str, values: Values) -> str:
    if unknown := unknown_variables(template):
        raise ExpansionError(f"unknown variable(s) {', '.join('{' + name + '}' for name in unknown)} "
                             f"(known: {', '.join('{' + name + '}' for name in VARIABLES)})")
    missing = sorted({name for name in VARIABLE.findall(template) if values.of(name) is None})
    if missing:
        raise ExpansionError(f"no value for {', '.join('{' + name + '}' for name in missing)} in this conversation "
                             f"({'; '.join(VARIABLES[name] + ' is unknown' for name in missing)})")
    return VARIABLE.sub(lambda match: values.of(match.group(1)) or "", template)


def media_kind(url: str) -> tuple[str, str] | None:
    """(kind, mime type) for a media URL, by its file name's ending; None for a file WhatsApp would not show."""
    return MEDIA_TYPES.get(PurePosixPath(urlparse(url).path).suffix.lower())


def outbound_media(url: str, caption: str) -> OutboundMedia:
    kind, mime = media_kind(url) or ("document", "application/octet-stream")
    return OutboundMedia(kind=kind, source=url, mime=mime, caption=caption,
                         file_name=PurePosixPath(urlparse(url).path).name or None)
