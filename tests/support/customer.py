"""A conversation's customer bound the way the bot binds one: the real Toolbox identifies the customer from the CPF
the customer typed (on a registered phone) against the SGP sandbox, and its state is kept as the worker keeps it.
For the customer panel's tests (integration and browser)."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import update

from api.brain.tools import Toolbox
from api.sgp import TsmxSgp
from niochat.database import async_engine, tenant_transaction
from niochat.tables import conversations, sgp_configs
from tests.support.desk import KEYRING

SGP_APP, SGP_TOKEN = "niochat", "sandbox-token"  # the SGP sandbox's main dataset


async def _bot_turn(database_url: str, sgp_url: str, tenant_id: uuid.UUID, conversation_id: uuid.UUID,
                    contact_id: uuid.UUID, phone: str, document: str, ticket: bool) -> None:
    engine = async_engine(database_url, pool_size=1)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            sgp = TsmxSgp(http, sgp_url, SGP_APP, SGP_TOKEN, 5, None, str(tenant_id))
            async with tenant_transaction(engine, tenant_id) as conn:
                state: dict = {}
                tools = Toolbox(conn, tenant_id=tenant_id, conversation_id=conversation_id, contact_id=contact_id,
                                phone=phone, brain="rules", message_id=None, sgp=sgp, keyring=KEYRING, state=state,
                                customer_texts=[f"meu cpf é {document}"])
                await tools.identify_customer(document)
                if ticket:
                    await tools.open_ticket("Estou sem internet desde ontem", "sem_conexao")
                await conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                                   .values(bot_state=state))
    finally:
        await engine.dispose()


def bot_identifies(database_url: str, sgp_url: str, tenant_id: uuid.UUID, conversation_id: uuid.UUID,
                   contact_id: uuid.UUID, phone: str, document: str, *, ticket: bool = False) -> None:
    """The customer typed `document` from `phone`; with `ticket`, the bot also opened a ticket. In a thread of its
    own: the caller may be inside an event loop (playwright's sync API runs one)."""
    turn = _bot_turn(database_url, sgp_url, tenant_id, conversation_id, contact_id, phone, document, ticket)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, turn).result()


def point_sgp_at(engine, tenant_id: uuid.UUID, sgp_url: str, timeout_seconds: float = 2) -> None:
    """The tenant's SGP settings (full_tenant made some) aimed at the SGP sandbox."""
    with engine.begin() as conn:
        conn.execute(update(sgp_configs).where(sgp_configs.c.tenant_id == tenant_id).values(
            base_url=sgp_url, app=SGP_APP, token_encrypted=KEYRING.encrypt(SGP_TOKEN), is_active=True,
            timeout_seconds=timeout_seconds))
