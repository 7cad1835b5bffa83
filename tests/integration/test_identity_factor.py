"""The second factor (issue #20 B): a CPF/CNPJ from a WhatsApp number the SGP does not have, or from a contact
WhatsApp shows only by LID. A real Toolbox on PostgreSQL (as the RLS-bound role), real Redis for the attempt
counters, the real SGP client against the SGP sandbox over HTTP, the rules brain, and the model brain through
the real `openai` client against the fake OpenAI-compatible server."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, insert, select, update

from api.brain import replies
from api.brain.model import ModelBrain, _describe, system_prompt
from api.brain.rules import RulesBrain
from api.brain.tools import CONTACT_ATTEMPTS, DOCUMENT_ATTEMPTS, Outcome, Toolbox
from api.brain.turn import BrainInput, Persona
from api.sgp import TsmxSgp
from niochat import accounts
from niochat.database import async_engine, tenant_transaction
from niochat.secrets import Keyring
from niochat.tables import audit_log, contacts, conversations, tool_calls
from sandbox.sgp import create_app as create_sgp
from tests.support.basics import SGP_DATASET, TEST_SECRET, unique_slug
from tests.support.servers import serving

APP, TOKEN = "niochat", "sandbox-token"
KEYRING = Keyring(TEST_SECRET)
MARIA_CPF, MARIA_BORN = "529.982.247-25", "12/04/1985"  # registered phone (11) 91234-0001
ANA_CPF, ANA_BORN = "402.176.893-96", "30/09/1992"  # suspended, (21) 98888-1203
PADARIA_CNPJ, PADARIA_CEP = "11.222.333/0001-81", "03104-002"  # registered phone: a landline
JOAO_CPF = "318.457.260-90"  # consultacliente in the live servers' shape: no dataNascimento
UNKNOWN_CPF = "111.444.777-35"  # valid, nobody's
STRANGER = "5511944440001"
NO_BIRTH_DATES = SGP_DATASET  # a dataset without `nascimento`




@pytest.fixture
async def aengine(database_url):
    engine = async_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def aredis(redis_url):
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


class Chat:
    """One WhatsApp contact of a tenant talking to the bot: each `say` is a turn through a real Toolbox."""

    def __init__(self, engine, aengine, sgp_adapter, redis, *, phone: str | None, tenant_id=None,
                 lid: str | None = None, brain=None):
        self.engine, self.aengine, self.sgp, self.redis = engine, aengine, sgp_adapter, redis
        self.phone, self.lid, self.brain = phone, lid, brain or RulesBrain()
        if tenant_id is None:
            slug = unique_slug()
            with engine.begin() as conn:
                tenant_id = accounts.create_tenant(conn, slug, f"Provedor {slug}")
                accounts.create_channel(conn, KEYRING, "http://127.0.0.1:8000", slug, "uazapi", "WhatsApp",
                                     "http://127.0.0.1:8100", slug, "tok-" + slug)
        self.tenant_id = tenant_id
        with engine.begin() as conn:
            from niochat.tables import channels
            channel_id = conn.execute(select(channels.c.id).where(channels.c.tenant_id == tenant_id)).scalar_one()
            self.contact_id = conn.execute(insert(contacts).values(
                tenant_id=tenant_id, phone=phone, name="Cliente", whatsapp_lid=lid).returning(contacts.c.id)
            ).scalar_one()
            self.channel_id = channel_id
        self.new_conversation()

    def new_conversation(self) -> None:
        with self.engine.begin() as conn:
            if getattr(self, "conversation_id", None):  # the previous one ended
                conn.execute(update(conversations).where(conversations.c.id == self.conversation_id)
                             .values(status="closed", closed_at=func.now()))
            self.conversation_id = conn.execute(insert(conversations).values(
                tenant_id=self.tenant_id, channel_id=self.channel_id, contact_id=self.contact_id
            ).returning(conversations.c.id)).scalar_one()
        self.state: dict = {}
        self.history: list[tuple[str, str]] = []  # (sender kind, text), as the engine gives it

    @property
    def customer_texts(self) -> list[str]:
        return [text for kind, text in self.history if kind == "customer"]

    async def say(self, text: str):
        async with tenant_transaction(self.aengine, self.tenant_id) as conn:
            tools = Toolbox(conn, tenant_id=self.tenant_id, conversation_id=self.conversation_id,
                            contact_id=self.contact_id, phone=self.phone, brain=self.brain.name, message_id=None,
                            sgp=self.sgp, keyring=KEYRING, state=self.state,
                            customer_texts=[*self.customer_texts, text],
                            contact_name="Cliente", lid=self.lid, redis=self.redis)
            given = BrainInput(tenant_id=self.tenant_id, conversation_id=self.conversation_id,
                               persona=Persona("Fibra Exemplo"), contact_name="Cliente", new_messages=[text],
                               history=list(self.history))
            reply = await self.brain.respond(given, tools)
        self.said = "\n".join(reply.texts)
        self.history += [("customer", text), *(("bot", said) for said in reply.texts)]
        return reply, tools

    def outcomes(self) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(
                select(tool_calls.c.tool, tool_calls.c.outcome)
                .where(tool_calls.c.conversation_id == self.conversation_id).order_by(tool_calls.c.created_at))]

    def audit(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [row.details for row in conn.execute(
                select(audit_log.c.details).where(audit_log.c.tenant_id == self.tenant_id,
                                                  audit_log.c.action == "identity.factor_checked")
                .order_by(audit_log.c.created_at))]


def client(sgp_url: str, http: httpx.AsyncClient) -> TsmxSgp:
    return TsmxSgp(http, sgp_url, APP, TOKEN, 5, None, f"tenant-{uuid.uuid4().hex[:8]}")


def sgp_calls(sgp, endpoint: str) -> int:
    return sum(1 for call in sgp.get("/sandbox/calls").json() if call["endpoint"] == f"/api/ura/{endpoint}/")


# --- passing the factor -------------------------------------------------------------------------------------------


async def test_a_cpf_from_an_unregistered_number_is_asked_the_birth_date_and_nothing_is_shared_before(
        sgp, sgp_url, http, engine, aengine, aredis):
    chat = Chat(engine, aengine, client(sgp_url, http), aredis, phone=STRANGER)
    reply, tools = await chat.say(f"quero a segunda via, cpf {MARIA_CPF}")
    assert "data de nascimento" in chat.said and reply.handoff is None
    assert "Maria" not in chat.said and "MARIA" not in chat.said and "10269" not in chat.said
    assert tools.binding.customer_id is None and tools.invoices == {}
    assert chat.outcomes() == [("identify_customer", "phone_mismatch")]

    reply, tools = await chat.say("12/4/85")
    assert "Encontrei seu cadastro, Maria" in chat.said and "PIX copia e cola" in chat.said
    assert tools.binding.contract_id == "10269" and reply.handoff is None
    assert chat.outcomes()[-2:] == [("verify_identity", "verified"), ("second_copy", "sent")]
    with engine.connect() as conn:  # the contact now carries the document, as after a registered number
        row = conn.execute(select(contacts).where(contacts.c.id == chat.contact_id)).one()
    assert row.document_masked == "***.982.247-**" and row.sgp_customer_id


@pytest.mark.parametrize("answer", [
    "12/04/1985", "12/4/85", "12041985", "12 de abril de 1985", "12-04-1985", "12.04.1985", "1985-04-12",
    "nasci dia 12 de abril de 85", "12 abr 1985", "é 12/04/1985, obrigada",
])
async def test_the_date_of_birth_as_people_write_it(sgp, sgp_url, http, engine, aengine, aredis, answer):
    chat = Chat(engine, aengine, client(sgp_url, http), aredis, phone=STRANGER)
    await chat.say(f"cpf {MARIA_CPF}")
    _, tools = await chat.say(answer)
    assert tools.binding.customer_id is not None, chat.said
    assert ("verify_identity", "verified") in chat.outcomes()


async def test_a_registered_number_is_never_asked(sgp, sgp_url, http, engine, aengine, aredis):
    chat = Chat(engine, aengine, client(sgp_url, http), aredis, phone="5511912340001")
    _, tools = await chat.say(f"segunda via, cpf {MARIA_CPF}")
    assert "data de nascimento" not in chat.said and "PIX copia e cola" in chat.said
    assert [tool for tool, _ in chat.outcomes()] == ["identify_customer", "second_copy"]
    assert sgp_calls(sgp, "consultacliente") == 1  # no fresh read of the record either


async def test_a_contact_known_only_by_lid_passes_the_factor(sgp, sgp_url, http, engine, aengine, aredis):
    chat = Chat(engine, aengine, client(sgp_url, http), aredis, phone=None, lid="123456789012345@lid")
    await chat.say(f"me manda o boleto, cpf {MARIA_CPF}")
    assert "data de nascimento" in chat.said
    _, tools = await chat.say(MARIA_BORN)
    assert tools.binding.contract_id == "10269" and "PIX copia e cola" in chat.said


async def test_a_company_answers_the_cep_of_its_installation(sgp, sgp_url, http, engine, aengine, aredis):
    chat = Chat(engine, aengine, client(sgp_url, http), aredis, phone="5511977001234")
    await chat.say(f"segunda via cnpj {PADARIA_CNPJ}")
    assert "CEP" in chat.said and "data de nascimento" not in chat.said
    await chat.say("o cep é 01001-000")  # Maria's, not the bakery's
    assert chat.outcomes()[-1] == ("verify_identity", "mismatch")
    _, tools = await chat.say(f"desculpa, {PADARIA_CEP.replace('-', '')}")
    assert tools.binding.contract_id == "20011" and "PIX copia e cola" in chat.said
    assert [d["factor"] for d in chat.audit()] == ["postal_code", "postal_code"]


# --- failing it ---------------------------------------------------------------------------------------------------


async def test_three_wrong_answers_then_a_person_and_nothing_shared(sgp, sgp_url, http, engine, aengine, aredis):
    chat = Chat(engine, aengine, client(sgp_url, http), aredis, phone="5521955550003")
    await chat.say(f"desbloqueio, cpf {ANA_CPF}")
    for n, wrong in enumerate(["30/09/1991", "30091990", "30 de setembro de 93"], 1):
        reply, tools = await chat.say(wrong)
        assert tools.binding.customer_id is None and "Ana" not in chat.said and "18110" not in chat.said
        if n < CONTACT_ATTEMPTS:
            left = CONTACT_ATTEMPTS - n
            assert f"resta{'m' if left > 1 else ''} {left} tentativa" in chat.said and reply.handoff is None
    assert chat.said == replies.FACTOR_HANDOFF
    assert (reply.handoff.reason, reply.handoff.team_slug) == ("identity_unverified", "financeiro")
    assert sgp_calls(sgp, "liberacaopromessa") == 0
    assert [o for t, o in chat.outcomes() if t == "verify_identity"] == ["mismatch", "mismatch", "too_many_attempts"]


async def test_the_words_are_the_same_for_an_unknown_document_and_a_wrong_answer(sgp, sgp_url, http, engine,
                                                                                aengine, aredis):
    known = Chat(engine, aengine, client(sgp_url, http), aredis, phone=STRANGER)
    unknown = Chat(engine, aengine, client(sgp_url, http), aredis, phone="5511944440002")
    await known.say(f"quero a segunda via do cpf {MARIA_CPF}")
    await unknown.say(f"quero a segunda via do cpf {UNKNOWN_CPF}")
    assert known.said == unknown.said == replies.ask_factor("birth_date")
    for chat in (known, unknown):
        await chat.say("01/01/1990")
    assert known.said == unknown.said == replies.factor_mismatch("birth_date", 2)
    for chat in (known, unknown):
        await chat.say("02/02/1991")
        reply, _ = await chat.say("03/03/1992")
        assert reply.handoff.reason == "identity_unverified"
    assert known.said == unknown.said
    # recorded for the operators (identify says which), never told the customer
    assert known.outcomes()[0] == ("identify_customer", "phone_mismatch")
    assert unknown.outcomes()[0] == ("identify_customer", "not_found")


async def test_the_model_sees_the_same_result_for_an_unknown_document_and_someones(sgp, sgp_url, http, engine,
                                                                                  aengine, aredis, model_url):
    seen = []
    for document in (MARIA_CPF, UNKNOWN_CPF):
        brain = ModelBrain(base_url=f"{model_url}/v1", model="fake-gpt", api_key="x", timeout=5, temperature=0,
                           http=http, fallback=RulesBrain())
        chat = Chat(engine, aengine, client(sgp_url, http), aredis, phone=STRANGER, brain=brain)
        before = len(httpx.get(f"{model_url}/fake/requests").json())
        _, tools = await chat.say(f"me manda a fatura do cpf {document}")
        assert tools.brain == "openai"
        request = httpx.get(f"{model_url}/fake/requests").json()[before:][-1]
        seen.append([json.loads(m["content"]) for m in request["body"]["messages"] if m["role"] == "tool"])
        assert "data de nascimento" in chat.said
    assert seen[0] == seen[1] and seen[0][0]["outcome"] == "verification_required"
    assert "nunca diga se o documento existe" in system_prompt(BrainInput(
        tenant_id=uuid.uuid4(), conversation_id=uuid.uuid4(), persona=Persona("X"), contact_name=None,
        new_messages=["oi"]))


async def test_the_model_passes_the_factor_through_verify_identity(sgp, sgp_url, http, engine, aengine, aredis,
                                                                  model_url):
    brain = ModelBrain(base_url=f"{model_url}/v1", model="fake-gpt", api_key="x", timeout=5, temperature=0,
                       http=http, fallback=RulesBrain())
    chat = Chat(engine, aengine, client(sgp_url, http), aredis, phone=STRANGER, brain=brain)
    await chat.say(f"quero a segunda via, cpf {MARIA_CPF}")
    _, tools = await chat.say("12/04/1985")
    assert tools.brain == "openai" and tools.binding.contract_id == "10269"
    assert [t for t in chat.outcomes() if t[0] != "identify_customer"] == [("verify_identity", "verified"),
                                                                           ("second_copy", "sent")]


async def test_an_answer_the_customer_never_typed_is_not_checked(sgp, sgp_url, http, engine, aengine, aredis):
    """A model (or an injection) cannot answer for the customer, nor try several dates in one turn."""
    adapter = client(sgp_url, http)
    chat = Chat(engine, aengine, adapter, aredis, phone=STRANGER)
    await chat.say(f"cpf {MARIA_CPF}")
    async with tenant_transaction(aengine, chat.tenant_id) as conn:
        tools = Toolbox(conn, tenant_id=chat.tenant_id, conversation_id=chat.conversation_id,
                        contact_id=chat.contact_id, phone=STRANGER, brain="openai", message_id=None, sgp=adapter,
                        keyring=KEYRING, state=chat.state, customer_texts=[*chat.customer_texts, "01/01/1990"],
                        redis=aredis)
        assert (await tools.verify_identity(MARIA_BORN)).status == "answer_not_typed"
        assert (await tools.verify_identity("01/01/1990")).status == "mismatch"
        again = await tools.verify_identity("01/01/1990")  # the same turn: the first check's result, not counted
        assert again.status == "mismatch" and again.data["attempts_left"] == CONTACT_ATTEMPTS - 1
    assert tools.binding.customer_id is None
    assert [o for t, o in chat.outcomes() if t == "verify_identity"] == ["answer_not_typed", "mismatch"]


# --- limits: per contact and per document, across conversations -------------------------------------------------


async def test_a_contact_that_failed_three_times_goes_to_a_person_in_its_next_conversation(
        sgp, sgp_url, http, engine, aengine, aredis):
    chat = Chat(engine, aengine, client(sgp_url, http), aredis, phone=STRANGER)
    await chat.say(f"cpf {MARIA_CPF}")
    for wrong in ("01/01/1990", "02/02/1991", "03/03/1992"):
        await chat.say(wrong)
    chat.new_conversation()  # the next day's chat, same WhatsApp contact, another document even
    reply, _ = await chat.say(f"segunda via cpf {ANA_CPF}")
    assert chat.said == replies.FACTOR_HANDOFF and reply.handoff.reason == "identity_unverified"
    assert chat.outcomes() == [("identify_customer", "phone_mismatch"), ("verify_identity", "locked"),
                               ("transfer_to_human", "transferred")]
    before = sgp_calls(sgp, "consultacliente")
    reply, tools = await chat.say(ANA_BORN)  # the right answer changes nothing now
    assert tools.binding.customer_id is None and sgp_calls(sgp, "consultacliente") == before


async def test_a_document_tried_from_several_contacts_locks_for_all(sgp, sgp_url, http, engine, aengine, aredis):
    first = Chat(engine, aengine, client(sgp_url, http), aredis, phone="5511944440011")
    await first.say(f"cpf {MARIA_CPF}")
    for wrong in ("01/01/1990", "02/02/1991", "03/03/1992"):
        await first.say(wrong)
    second = Chat(engine, aengine, client(sgp_url, http), aredis, phone="5511944440012", tenant_id=first.tenant_id)
    await second.say(f"cpf {MARIA_CPF}")
    failures = CONTACT_ATTEMPTS
    while failures < DOCUMENT_ATTEMPTS:
        reply, _ = await second.say(f"0{failures}/05/1970")
        failures += 1
    assert reply.handoff is not None and second.outcomes()[-2][1] == "too_many_attempts"
    # a third contact with the right date: the document is locked for everyone, a person confirms
    third = Chat(engine, aengine, client(sgp_url, http), aredis, phone="5511944440013", tenant_id=first.tenant_id)
    reply, tools = await third.say(f"cpf {MARIA_CPF}")
    assert third.said == replies.FACTOR_HANDOFF and reply.handoff.reason == "identity_unverified"
    assert tools.binding.customer_id is None
    # another tenant's customers are another SGP's: its counters are its own
    other = Chat(engine, aengine, client(sgp_url, http), aredis, phone="5511944440013")
    await other.say(f"cpf {MARIA_CPF}")
    assert "data de nascimento" in other.said


async def test_redis_down_fails_closed(sgp, sgp_url, http, engine, aengine):
    dead = aioredis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    chat = Chat(engine, aengine, client(sgp_url, http), dead, phone=STRANGER)
    reply, tools = await chat.say(f"cpf {MARIA_CPF}")
    assert reply.handoff.reason == "identity_unverified" and tools.binding.customer_id is None
    await dead.aclose()


# --- what the SGP holds, and what is written down ------------------------------------------------------------------


async def test_a_dataset_without_birth_dates_hands_to_a_person_as_before(http, engine, aengine, aredis):
    dataset = json.loads(NO_BIRTH_DATES.read_text())
    with serving(create_sgp(dataset_path=NO_BIRTH_DATES)) as url:
        adapter = TsmxSgp(http, url, dataset["app"], dataset["token"], 5, None, f"t-{uuid.uuid4().hex[:8]}")
        chat = Chat(engine, aengine, adapter, aredis, phone=STRANGER)
        reply, tools = await chat.say(f"segunda via cpf {MARIA_CPF}")
    assert chat.said.startswith(replies.PHONE_MISMATCH) and reply.handoff.reason == "identity_unverified"
    assert chat.outcomes() == [("identify_customer", "phone_mismatch"), ("verify_identity", "factor_unavailable"),
                               ("transfer_to_human", "transferred")]


async def test_the_live_shape_has_no_birth_date_so_a_person_confirms(sgp, sgp_url, http, engine, aengine, aredis):
    chat = Chat(engine, aengine, client(sgp_url, http), aredis, phone=STRANGER)
    reply, _ = await chat.say(f"segunda via cpf {JOAO_CPF}")
    assert reply.handoff.reason == "identity_unverified" and "data de nascimento" not in chat.said


async def test_the_audit_and_the_tool_calls_keep_neither_the_answer_nor_the_document(sgp, sgp_url, http, engine,
                                                                                    aengine, aredis):
    chat = Chat(engine, aengine, client(sgp_url, http), aredis, phone=STRANGER)
    await chat.say(f"cpf {MARIA_CPF}")
    await chat.say("01/01/1990")
    await chat.say(MARIA_BORN)
    entries = chat.audit()
    assert [e["result"] for e in entries] == ["mismatch", "verified"]
    assert all(e["document"] == "***.982.247-**" and e["factor"] == "birth_date" for e in entries)
    with engine.connect() as conn:
        arguments = [row.arguments for row in conn.execute(
            select(tool_calls.c.arguments).where(tool_calls.c.conversation_id == chat.conversation_id))]
    written = json.dumps(entries) + json.dumps(arguments) + json.dumps(chat.state)
    for secret in ("52998224725", "529.982.247-25", "12/04/1985", "1985-04-12", "01/01/1990", "1990-01-01"):
        assert secret not in written


def test_the_model_reads_no_existence_in_a_failed_factor():
    mismatch = _describe(Outcome("mismatch", {"factor": "birth_date", "attempts_left": 2}))
    assert mismatch["outcome"] == "mismatch" and "não diga qual" in mismatch["note"]
    assert set(_describe(Outcome("verification_required", "postal_code"))) == {"outcome", "ask", "note"}
