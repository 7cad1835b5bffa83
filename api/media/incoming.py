"""What a burst's media means for the answer: voice notes become text (transcribed and stored on the message),
payment receipts go to the financial team, other photos and files to support.

Voice notes are transcribed whenever the tenant has a transcription model, also while people handle the
conversation (they read the transcript) and when they answer the satisfaction survey (read as a typed answer);
the customer is only told something while the bot answers.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field

from openai import OpenAIError
from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.brain import replies
from api.brain.handoff import Handoff
from api.brain.turn import BrainInput, BrainReply
from api.engine.deps import WorkerDeps
from api.media.transcribe import transcribe
from api.whatsapp.clients import ChannelAccess, MediaTooLarge, ProviderError, client_for
from niochat.logging import get_logger
from niochat.tables import ai_configs, channels, messages

log = get_logger(__name__)
TRANSCRIPTIONS = Counter("niochat_transcriptions_total", "Customers' voice notes by transcription result", ["result"])
ROUTED_MEDIA = Counter("niochat_customer_media_total", "Customers' photos and files handed to people", ["team"])
FOR_PEOPLE = ("image", "video", "document")  # the bot cannot act on them
RECEIPT = re.compile(r"\b(comprovantes?|comprov|recibo|paguei|pagamento|pago|paga|pix|transferencia|deposito)\b")
# proofs that are not payments: the address or income proof a contract change asks for
NOT_A_PAYMENT = re.compile(r"\bcomprovantes? (de |do |da )?(residencia|endereco|renda|matricula|vacina)\b")


def looks_like_receipt(*texts: str | None) -> bool:
    """A caption, file name or nearby message saying this is a payment proof ("Comprovante_Pix.pdf")."""
    words = " ".join(t for t in texts if t)
    plain = unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode().lower()
    return RECEIPT.search(NOT_A_PAYMENT.sub(" ", re.sub(r"[^a-z0-9]+", " ", plain))) is not None


@dataclass
class MediaTurn:
    readable: dict[uuid.UUID, str] = field(default_factory=dict)  # what each voice note said
    notes: list[str] = field(default_factory=list)  # what the customer is told about their media
    handoff: Handoff | None = None  # media only a person can act on

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def texts(self, pending) -> list[str]:
        """The burst as the brain reads it: texts and captions, voice notes by their transcripts."""
        return [text for row in pending
                if (text := replies.menu_choice(row.choice_id) or row.text or self.readable.get(row.id))]

    async def respond(self, brain, given: BrainInput, tools) -> BrainReply:
        """The brain's answer, or ours when the media decides it (handed to people, or nothing readable)."""
        if self.handoff is None and (given.new_messages or not self.notes):
            reply = await brain.respond(given, tools)
            reply.texts[:0] = self.notes
            return reply
        texts = list(self.notes)
        if given.first_contact and texts:
            texts[0] = f"{replies.greeting(given.persona, given.contact_name)} {texts[0]}"
        return BrainReply(texts, handoff=self.handoff)


async def read_media(conn: AsyncConnection, deps: WorkerDeps, conv, pending) -> MediaTurn:
    turn = MediaTurn()
    rows = (await conn.execute(
        select(messages.c.id, messages.c.content_type, messages.c.text, messages.c.media_mime,
               messages.c.media_size, messages.c.media_seconds, messages.c.media_file_name,
               messages.c.provider_message_id, messages.c.transcript)
        .where(messages.c.id.in_([row.id for row in pending]), messages.c.content_type.in_(("audio", *FOR_PEOPLE)))
        .order_by(messages.c.created_at)
    )).all()
    answering = conv.status == "bot"
    burst = [row.text for row in pending if row.text]
    # "já paguei, vou mandar o comprovante" in an earlier turn: the photo that follows, uncaptioned, is the receipt
    receipt_announced = (conv.bot_state or {}).get("last_action") == "payment_notice"
    for row in rows:
        if row.content_type == "audio":
            await _voice_note(conn, deps, conv, row, turn, answering)
        elif answering:
            _for_people(row, burst, turn, receipt_announced)
    return turn


def _for_people(row, burst: list[str], turn: MediaTurn, receipt_announced: bool) -> None:
    if receipt_announced or looks_like_receipt(row.text, row.media_file_name, *burst):
        turn.note(replies.RECEIPT_RECEIVED)
        turn.handoff = Handoff(reason="payment_receipt", team_slug="financeiro")
        ROUTED_MEDIA.labels("financeiro").inc()
        return
    turn.note(replies.media_received(row.content_type))
    if turn.handoff is None:
        turn.handoff = Handoff(reason="customer_media", team_slug="suporte")
        ROUTED_MEDIA.labels("suporte").inc()


async def _voice_note(conn: AsyncConnection, deps: WorkerDeps, conv, row, turn: MediaTurn, answering: bool) -> None:
    if row.transcript:  # read before (e.g. an earlier turn's job)
        turn.readable[row.id] = row.transcript
        return
    config = (await conn.execute(
        select(ai_configs).where(ai_configs.c.is_active, ai_configs.c.transcription_model.isnot(None))
    )).one_or_none()
    settings = deps.settings
    if config is None:
        TRANSCRIPTIONS.labels("no_model").inc()  # kept as it is for the people who can listen to it
        if answering:
            turn.note(replies.AUDIO_NO_MODEL)
        return
    if row.media_seconds and row.media_seconds > settings.audio_max_seconds:
        too_long = replies.audio_too_long(settings.audio_max_seconds)
        return await _not_read(conn, row, turn, answering, "too_long", too_long)
    if row.media_size and row.media_size > settings.audio_max_bytes:
        return await _not_read(conn, row, turn, answering, "too_large", replies.AUDIO_TOO_LARGE)
    channel = (await conn.execute(select(channels).where(channels.c.id == conv.channel_id))).one()
    client = client_for(deps.http, ChannelAccess(channel.provider, channel.base_url, channel.instance,
                                                 deps.keyring.decrypt(channel.token_encrypted)))
    try:
        audio = await client.download_media(row.provider_message_id, max_bytes=settings.audio_max_bytes)
    except MediaTooLarge as exc:
        return await _not_read(conn, row, turn, answering, "too_large", replies.AUDIO_TOO_LARGE, str(exc))
    except ProviderError as exc:
        return await _not_read(conn, row, turn, answering, "download_failed", replies.AUDIO_NOT_UNDERSTOOD, str(exc))
    if len(audio.data) > settings.audio_max_bytes:
        return await _not_read(conn, row, turn, answering, "too_large", replies.AUDIO_TOO_LARGE)
    api_key = deps.keyring.decrypt(config.api_key_encrypted) if config.api_key_encrypted else "not-needed"
    try:
        words = await transcribe(base_url=config.base_url, api_key=api_key, model=config.transcription_model,
                                 chat_timeout=config.timeout_seconds, http=deps.http, audio=audio)
    except (OpenAIError, TimeoutError, ValueError) as exc:
        return await _not_read(conn, row, turn, answering, "failed", replies.AUDIO_NOT_UNDERSTOOD, type(exc).__name__)
    if not words:
        return await _not_read(conn, row, turn, answering, "empty", replies.AUDIO_NOT_UNDERSTOOD)
    TRANSCRIPTIONS.labels("ok").inc()
    await conn.execute(update(messages).where(messages.c.id == row.id).values(transcript=words, error=None))
    turn.readable[row.id] = words


async def _not_read(conn: AsyncConnection, row, turn: MediaTurn, answering: bool, result: str, say: str,
                    detail: str | None = None) -> None:
    """Record why a voice note was not read (on the message and in the metric) and what to tell the customer."""
    TRANSCRIPTIONS.labels(result).inc()
    log.warning("voice note not transcribed", message_id=str(row.id), result=result, detail=(detail or "")[:200])
    error = f"transcription {result}" + (f": {detail}" if detail else "")
    await conn.execute(update(messages).where(messages.c.id == row.id).values(error=error[:500]))
    if answering:
        turn.note(say)
