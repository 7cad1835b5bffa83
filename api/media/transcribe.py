"""Voice notes to text through the tenant's OpenAI-compatible audio endpoint (`/audio/transcriptions`): the same
base URL and key as its chat model, with its own model name (ai_configs.transcription_model, e.g. whisper-1)."""

from __future__ import annotations

import httpx
from openai import AsyncOpenAI

from api.whatsapp.media import DownloadedMedia

# The endpoints pick the decoder by the file name's extension, not by the MIME type.
EXTENSIONS = {
    "audio/ogg": "ogg", "audio/opus": "ogg", "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mp4": "m4a",
    "audio/m4a": "m4a", "audio/x-m4a": "m4a", "audio/aac": "m4a", "audio/wav": "wav", "audio/x-wav": "wav",
    "audio/webm": "webm", "audio/flac": "flac", "audio/amr": "amr",
}


def upload_name(mime: str | None) -> str:
    base = (mime or "").split(";")[0].strip().lower()
    return f"voice-note.{EXTENSIONS.get(base, 'ogg')}"  # WhatsApp voice notes are Ogg Opus


def transcription_timeout(chat_timeout: float) -> float:
    """Audio takes longer than a chat turn; bounded so the job (60 s by default) still finishes."""
    return min(max(chat_timeout * 3, 15.0), 40.0)


async def transcribe(*, base_url: str, api_key: str, model: str, chat_timeout: float, http: httpx.AsyncClient,
                     audio: DownloadedMedia) -> str:
    """The words of the voice note (Portuguese); raises openai.OpenAIError when the endpoint fails."""
    client = AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=transcription_timeout(chat_timeout),
                         max_retries=0, http_client=http)
    result = await client.audio.transcriptions.create(
        model=model, file=(upload_name(audio.mime), audio.data, (audio.mime or "audio/ogg").split(";")[0]),
        language="pt", response_format="json",
    )
    return (result.text or "").strip()
