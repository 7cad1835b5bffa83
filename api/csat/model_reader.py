"""Free-text survey answers read by the tenant's model, when it has one (the lexicon is the fallback)."""

from __future__ import annotations

import json

import httpx
from openai import AsyncOpenAI, OpenAIError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.csat.reader import Reading
from niochat.logging import get_logger
from niochat.secrets import Keyring
from niochat.tables import ai_configs
from niochat.vocabulary import sentiment_of

log = get_logger(__name__)
PROMPT = (
    "Você lê respostas de clientes a uma pesquisa de satisfação de atendimento, com notas de 1 (péssimo) a 5 "
    '(excelente). Responda só com JSON: {"rating": <1-5 ou null se a mensagem não for uma avaliação>, '
    '"comment": <o comentário do cliente sem a nota, ou null>}.'
)


async def read_with_model(
    conn: AsyncConnection, http: httpx.AsyncClient, keyring: Keyring, text: str
) -> Reading | None:
    config = (await conn.execute(select(ai_configs).where(ai_configs.c.is_active))).one_or_none()
    if config is None:
        return None
    client = AsyncOpenAI(
        base_url=config.base_url,
        timeout=config.timeout_seconds,
        max_retries=0,
        http_client=http,
        api_key=keyring.decrypt(config.api_key_encrypted) if config.api_key_encrypted else "not-needed",
    )
    try:
        completion = await client.chat.completions.create(
            model=config.model,
            temperature=0,
            messages=[{"role": "system", "content": PROMPT}, {"role": "user", "content": text[:1000]}],
        )
        answer = json.loads(completion.choices[0].message.content or "{}")
        rating = int(answer["rating"]) if answer.get("rating") is not None else None
    except (OpenAIError, ValueError, KeyError, TypeError, IndexError) as exc:
        log.warning("model could not read the survey answer; using the lexicon", error=type(exc).__name__)
        return None
    if rating is None or not 1 <= rating <= 5:
        return None
    comment = answer.get("comment") if isinstance(answer.get("comment"), str) else None
    return Reading(rating, sentiment_of(rating), comment or None, "model")
