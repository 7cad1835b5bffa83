"""Webhook bodies above the cap whose bulk is inline media.

Evolution's `webhookBase64` option (and some uazapi builds) put the customer's file in the webhook itself, as
base64: a photo or a PDF takes the body past the 1 MB cap, and a 413 would lose the message (providers do not
retry 4xx). Such a body is parsed as a stream, and a long string under a key where providers put files
(`base64`...) is dropped while reading, so memory holds one string at a time, never the whole body as objects.
What remains must fit the cap like any other body (a 3 MB "text" is refused); the file itself is fetched from
the provider's download endpoint later, like every other customer file.
"""

from __future__ import annotations

from typing import IO, Any

import ijson

# Where providers put a file inline: Evolution's message.base64 (webhookBase64), uazapi's base64 fields, thumbnails.
INLINE_FILE_KEYS = frozenset({"base64", "base64data", "filebase64", "jpegthumbnail"})
# Shorter inline files are kept like any other value (they fit the cap anyway).
LONG_STRING_BYTES = 64 * 1024


class TooLarge(ValueError):
    """What is left after dropping the inline files is still larger than the cap."""


class NotJson(ValueError):
    """The body is not one JSON document."""


def parse_without_files(stream: IO[bytes], cap: int) -> tuple[Any, int]:
    """The JSON document in `stream` with long strings replaced by None, and how many strings were dropped."""
    builder = _Builder(cap)
    try:
        for _prefix, event, value in ijson.parse(stream, use_float=True):
            builder.event(event, value)
    except ijson.JSONError as exc:  # IncompleteJSONError too
        raise NotJson(" ".join(str(exc).split())[:200]) from None
    if not builder.done:
        raise NotJson("the body ends before its JSON document does")
    return builder.root, builder.dropped


class _Builder:
    """Objects and arrays rebuilt from ijson's events, counting what is kept."""

    def __init__(self, cap: int) -> None:
        self.cap, self.kept, self.dropped = cap, 0, 0
        self.stack: list[tuple[Any, str | None]] = []  # containers being filled, with the pending map key
        self.root: Any = None
        self.done = False

    def _keep(self, size: int) -> None:
        self.kept += size
        if self.kept > self.cap:
            raise TooLarge(f"more than {self.cap} bytes besides inline files")

    def _put(self, value: Any) -> None:
        if not self.stack:
            self.root, self.done = value, True
            return
        container, key = self.stack[-1]
        if isinstance(container, list):
            container.append(value)
        else:
            container[key] = value

    def _under_file_key(self) -> bool:
        if not self.stack:
            return False
        container, key = self.stack[-1]
        return isinstance(container, dict) and (key or "").lower() in INLINE_FILE_KEYS

    def event(self, event: str, value: Any) -> None:
        if event == "map_key":
            self._keep(len(value) + 4)
            container, _ = self.stack[-1]
            self.stack[-1] = (container, value)
        elif event in ("start_map", "start_array"):
            self._keep(2)
            self.stack.append(({} if event == "start_map" else [], None))
        elif event in ("end_map", "end_array"):
            container, _ = self.stack.pop()
            self._put(container)
        elif event == "string" and len(value) > LONG_STRING_BYTES and self._under_file_key():
            self.dropped += 1
            self._put(None)
        else:
            self._keep(len(value) + 2 if isinstance(value, str) else 8)
            self._put(value)
