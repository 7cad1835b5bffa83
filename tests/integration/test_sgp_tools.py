"""The SGP field behaviours (issue #17) through the brains and their tools: a real Toolbox on PostgreSQL (as the
RLS-bound role), the real SGP client against the strict SGP sandbox over HTTP, the rules brain, and the model
brain through the real `openai` client against the fake OpenAI-compatible server."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import insert, select

from api.brain.model import ModelBrain, system_prompt
from api.brain.rules import RulesBrain
from api.brain.tools import Outcome, Toolbox
from api.brain.turn import BrainInput, Persona
from api.sgp import TsmxSgp, UnlockResult
from niochat import accounts
from niochat.database import async_engine, tenant_transaction
from niochat.secrets import Keyring
from niochat.tables import contacts, conversations, tool_calls
from tests.support.basics import TEST_SECRET, unique_slug

APP, TOKEN = "niochat", "sandbox-token"
KEYRING = Keyring(TEST_SECRET)
BEATRIZ = ("5519998123344", "864.542.841-58")  # 19180, under maintenance
PEDRO = ("5562999112233", "267.408.319-04")  # 18630, offline




@pytest.fixture
async def aengine(database_url):
    engine = async_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def conversation(engine, phone: str, name: str = "Cliente", lid: str | None = None) -> tuple[uuid.UUID, ...]:
    """A tenant with one WhatsApp contact and its conversation with the bot, as the webhooks leave them."""
    slug = unique_slug()
    with engine.begin() as conn:
        tenant_id = accounts.create_tenant(conn, slug, f"Provedor {slug}")
        channel = accounts.create_channel(conn, KEYRING, "http://127.0.0.1:8000", slug, "uazapi", "WhatsApp",
                                       "http://127.0.0.1:8100", slug, "tok-" + slug)
        contact_id = conn.execute(insert(contacts).values(tenant_id=tenant_id, phone=phone, name=name,
                                                          whatsapp_lid=lid).returning(contacts.c.id)).scalar_one()
        conversation_id = conn.execute(insert(conversations).values(
            tenant_id=tenant_id, channel_id=channel.id, contact_id=contact_id).returning(conversations.c.id)
        ).scalar_one()
    return tenant_id, conversation_id, contact_id


async def turn(aengine, ids, brain, sgp_adapter, text: str, *, phone: str, name: str, state: dict,
               lid: str | None = None, history: list[str] = ()):
    tenant_id, conversation_id, contact_id = ids
    async with tenant_transaction(aengine, tenant_id) as conn:
        tools = Toolbox(conn, tenant_id=tenant_id, conversation_id=conversation_id, contact_id=contact_id, phone=phone,
                        brain=brain.name, message_id=None, sgp=sgp_adapter, keyring=KEYRING, state=state,
                        customer_texts=[*history, text], contact_name=name, lid=lid)
        given = BrainInput(tenant_id=tenant_id, conversation_id=conversation_id, persona=Persona("Fibra Exemplo"),
                           contact_name=name, new_messages=[text], history=[("customer", h) for h in history])
        reply = await brain.respond(given, tools)
    return reply, tools


def outcomes(engine, conversation_id) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            select(tool_calls.c.tool, tool_calls.c.outcome, tool_calls.c.error)
            .where(tool_calls.c.conversation_id == conversation_id).order_by(tool_calls.c.created_at))]


def client(sgp_url: str, http: httpx.AsyncClient, **options) -> TsmxSgp:
    return TsmxSgp(http, sgp_url, APP, TOKEN, 5, None, f"tenant-{uuid.uuid4().hex[:8]}", **options)


# maintenance ------------------------------------------------------------------------------------------------------


async def test_rules_brain_tells_maintenance_as_maintenance_and_opens_no_ticket(sgp, sgp_url, http, engine, aengine):
    phone, document = BEATRIZ
    ids = conversation(engine, phone, "Beatriz")
    state: dict = {}
    reply, _ = await turn(aengine, ids, RulesBrain(), client(sgp_url, http), f"minha internet caiu, cpf {document}",
                          phone=phone, name="Beatriz", state=state)
    said = "\n".join(reply.texts)
    assert "*manutenção*" in said and "Troca de equipamentos na rede de fibra" in said and "14:00" in said
    assert "offline" not in said and "protocolo" in said  # the occurrence the SGP opened itself, not ours
    assert reply.handoff is None
    again, _ = await turn(aengine, ids, RulesBrain(), client(sgp_url, http), "abre um chamado pra mim",
                          phone=phone, name="Beatriz", state=state, history=[f"cpf {document}"])
    assert "Não é preciso abrir chamado" in "\n".join(again.texts)
    assert [(t, o) for t, o, _ in outcomes(engine, ids[1])] == [
        ("identify_customer", "found"), ("connection_status", "maintenance"), ("open_ticket", "maintenance")]
    assert [c for c in sgp.get("/sandbox/calls").json() if c["endpoint"] == "/api/ura/chamado/"] == []
    assert [t["origem"] for t in sgp.get("/sandbox/tickets").json()] == ["verificaacesso"]


async def test_the_model_sees_maintenance_in_the_tool_result_and_opens_no_ticket(sgp, sgp_url, http, engine, aengine,
                                                                                model_url):
    phone, document = BEATRIZ
    ids = conversation(engine, phone, "Beatriz")
    brain = ModelBrain(base_url=f"{model_url}/v1", model="fake-gpt", api_key="x", timeout=5, temperature=0,
                       http=http, fallback=RulesBrain())
    before = len(httpx.get(f"{model_url}/fake/requests").json())
    reply, tools = await turn(aengine, ids, brain, client(sgp_url, http), f"minha internet caiu, cpf {document}",
                              phone=phone, name="Beatriz", state={})
    assert tools.brain == "openai"  # answered by the model, not by the fallback
    assert "manutenção" in " ".join(reply.texts) and "Troca de equipamentos" in " ".join(reply.texts)
    requests = httpx.get(f"{model_url}/fake/requests").json()[before:]
    results = [json.loads(m["content"]) for m in requests[-1]["body"]["messages"] if m["role"] == "tool"]
    maintenance = next(r for r in results if r["outcome"] == "maintenance")
    assert maintenance["maintenance"] is True and "Troca de equipamentos" in maintenance["sgp_message"]
    assert maintenance["forecast"].endswith("às 14:00") and "não abra chamado" in maintenance["note"]
    assert "manutenção" in requests[-1]["body"]["messages"][0]["content"]  # the prompt says what to do with it
    assert ("open_ticket" not in [t for t, _, _ in outcomes(engine, ids[1])])


def test_the_prompt_tells_the_model_about_maintenance_missing_types_and_several_invoices():
    given = BrainInput(tenant_id=uuid.uuid4(), conversation_id=uuid.uuid4(), persona=Persona("X"), contact_name=None,
                       new_messages=["oi"])
    prompt = system_prompt(given)
    assert "outcome maintenance" in prompt and "NÃO abra chamado" in prompt
    assert "ticket_type_unknown" in prompt and "nunca invente um protocolo" in prompt
    assert "várias faturas em aberto" in prompt


# a ticket type the SGP does not have ------------------------------------------------------------------------------


async def test_an_unknown_type_opens_nothing_and_hands_the_customer_to_support(sgp, sgp_url, http, engine, aengine):
    phone, document = PEDRO
    ids = conversation(engine, phone, "Pedro")
    sgp_adapter = client(sgp_url, http, occurrence_types={"sem_conexao": 9999})
    reply, _ = await turn(aengine, ids, RulesBrain(), sgp_adapter, f"a net caiu, meu cpf é {document}",
                          phone=phone, name="Pedro", state={})
    said = "\n".join(reply.texts)
    assert "Não consegui registrar o chamado" in said and "protocolo" not in said
    assert (reply.handoff.team_slug, reply.handoff.reason) == ("suporte", "ticket_type_unknown")
    recorded = outcomes(engine, ids[1])
    assert [(t, o) for t, o, _ in recorded] == [("identify_customer", "found"), ("connection_status", "offline"),
                                                ("open_ticket", "ticket_type_unknown"),
                                                ("transfer_to_human", "transferred")]
    error = recorded[2][2]
    assert "sgp.occurrence_types.sem_conexao = 9999" in error and "101 SEM CONEXÃO" in error  # what to fix
    assert sgp.get("/sandbox/tickets").json() == []


# the contact on the ticket ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("phone", "lid", "number"), [
    ("5562999112233", "100000000000001@lid", "(62) 99911-2233"),  # the phone came with the LID: it is known
    ("100000000000001", "100000000000001@lid", None),  # WhatsApp gave only the LID: no number to call
])
async def test_the_ticket_names_the_contact_and_their_number_or_says_there_is_none(
        sgp, sgp_url, http, engine, aengine, phone, lid, number):
    ids = conversation(engine, phone, "Pedro Henrique", lid)
    bound = {"binding": {"customer_id": "3001", "customer_name": "PEDRO HENRIQUE FERREIRA", "contract_id": "18630",
                         "contracts": [["18630", "FIBRA", "1"]]}}
    reply, _ = await turn(aengine, ids, RulesBrain(), client(sgp_url, http), "minha internet está sem conexão",
                          phone=phone, name="Pedro Henrique", state=bound, lid=lid)
    assert "protocolo" in "\n".join(reply.texts)
    [ticket] = sgp.get("/sandbox/tickets").json()
    assert (ticket["ocorrenciatipo"], ticket["contato_nome"], ticket["contato_telefone"]) == (101, "Pedro Henrique",
                                                                                              number)
    if number:
        assert f"Contato: Pedro Henrique — WhatsApp {number}" in ticket["conteudo"]
    else:
        assert "sem número" in ticket["conteudo"] and "LID" in ticket["conteudo"]
        assert "100000000000001" not in ticket["conteudo"]


async def test_the_ticket_text_carries_no_cpf(sgp, sgp_url, http, engine, aengine):
    phone, document = PEDRO
    ids = conversation(engine, phone, "Pedro")
    await turn(aengine, ids, RulesBrain(), client(sgp_url, http), f"a net caiu, meu cpf é {document}",
               phone=phone, name="Pedro", state={})
    [ticket] = sgp.get("/sandbox/tickets").json()
    assert "267.408.319-04" not in ticket["conteudo"] and "26740831904" not in ticket["conteudo"]
    assert "Relato do cliente: a net caiu" in ticket["conteudo"]


# issue #20: documents typed in pieces, two requests, unlocks of contracts not blocked, suspended contracts, the
# promise date ---------------------------------------------------------------------------------------------------

MARIA = ("5511912340001", "529.982.247-25")  # 10269, active (offline)
ANA = ("5521988881203", "402.176.893-96")  # 18110, suspended, one unlock left (3 days)
JULIANA = ("5551984321100", "150.739.482-97")  # 18520, suspended, no unlocks left, two open invoices


def sgp_calls(sgp, endpoint: str) -> int:
    return sum(1 for call in sgp.get("/sandbox/calls").json() if call["endpoint"] == f"/api/ura/{endpoint}/")


async def test_a_document_typed_in_two_messages_is_one_the_customer_typed(sgp, sgp_url, http, engine, aengine):
    phone, _ = MARIA
    ids = conversation(engine, phone, "Maria")
    reply, tools = await turn(aengine, ids, RulesBrain(), client(sgp_url, http), "247-25", phone=phone,
                              name="Maria", state={"awaiting": "document", "pending": "second_copy"},
                              history=["quero a segunda via", "529.982"])
    assert tools.binding.contract_id == "10269" and "PIX copia e cola" in "\n".join(reply.texts)
    async with tenant_transaction(aengine, ids[0]) as conn:  # a model naming a document typed by no one: refused
        other = Toolbox(conn, tenant_id=ids[0], conversation_id=ids[1], contact_id=ids[2], phone=phone, brain="openai",
                        message_id=None, sgp=client(sgp_url, http), keyring=KEYRING, state={},
                        customer_texts=["529.982", "oi", "247-25"])
        assert (await other.identify_customer("52998224725")).status == "document_not_typed"


async def test_an_unlock_for_a_contract_not_blocked_never_calls_the_sgps_unlock(sgp, sgp_url, http, engine, aengine):
    phone, document = MARIA
    ids = conversation(engine, phone, "Maria")
    reply, _ = await turn(aengine, ids, RulesBrain(), client(sgp_url, http), f"desbloqueia minha net, cpf {document}",
                          phone=phone, name="Maria", state={})
    said = "\n".join(reply.texts)
    assert "*não está bloqueado*" in said and "responda *2*" in said and "responda *4*" in said
    assert [(t, o) for t, o, _ in outcomes(engine, ids[1])] == [("identify_customer", "found"),
                                                                ("trust_unlock", "not_blocked")]
    assert sgp_calls(sgp, "liberacaopromessa") == 0 and sgp.get("/sandbox/unlocks").json() == []


async def test_the_model_is_told_the_contract_is_not_blocked(sgp, sgp_url, http, engine, aengine, model_url):
    phone, document = MARIA
    ids = conversation(engine, phone, "Maria")
    brain = ModelBrain(base_url=f"{model_url}/v1", model="fake-gpt", api_key="x", timeout=5, temperature=0,
                       http=http, fallback=RulesBrain())
    before = len(httpx.get(f"{model_url}/fake/requests").json())
    reply, tools = await turn(aengine, ids, brain, client(sgp_url, http), f"quero desbloquear, cpf {document}",
                              phone=phone, name="Maria", state={})
    assert tools.brain == "openai" and "não está bloqueado" in " ".join(reply.texts)
    results = [json.loads(m["content"]) for m in
               httpx.get(f"{model_url}/fake/requests").json()[before:][-1]["body"]["messages"] if m["role"] == "tool"]
    assert results[-1]["outcome"] == "not_blocked" and "ofereça verificar a conexão" in results[-1]["note"]
    assert sgp_calls(sgp, "liberacaopromessa") == 0


async def test_two_requests_in_one_message_are_both_answered_in_order(sgp, sgp_url, http, engine, aengine):
    phone, document = ANA
    ids = conversation(engine, phone, "Ana")
    reply, _ = await turn(aengine, ids, RulesBrain(), client(sgp_url, http),
                          f"libera minha internet e me manda o pix, cpf {document}", phone=phone, name="Ana", state={})
    said = "\n".join(reply.texts)
    assert said.index("Liberei sua internet") < said.index("Linha digitável")
    # the unlock also records its promise's reminder and schedules a re-check of the connection
    assert [t for t, _, _ in outcomes(engine, ids[1])] == ["identify_customer", "trust_unlock", "promise_reminder",
                                                           "connection_recheck", "second_copy"]


async def test_no_internet_on_a_suspended_contract_gets_the_invoice_and_no_ticket(sgp, sgp_url, http, engine,
                                                                                 aengine):
    phone, document = JULIANA
    ids = conversation(engine, phone, "Juliana")
    state: dict = {}
    reply, _ = await turn(aengine, ids, RulesBrain(), client(sgp_url, http),
                          f"minha internet caiu, cpf {document}", phone=phone, name="Juliana", state=state)
    said = "\n".join(reply.texts)
    assert said.index("*suspenso*") < said.index("2 faturas em aberto") < said.index("Linha digitável")
    assert "não precisa de chamado técnico" in said and "responda *3*" in said
    again, _ = await turn(aengine, ids, RulesBrain(), client(sgp_url, http), "abre um chamado tecnico pra mim",
                          phone=phone, name="Juliana", state=state, history=[f"cpf {document}"])
    assert "mensagens acima" in "\n".join(again.texts)
    assert [(t, o) for t, o, _ in outcomes(engine, ids[1])] == [("identify_customer", "found"), ("second_copy", "sent")]
    assert sgp_calls(sgp, "verificaacesso") == 0 and sgp_calls(sgp, "chamado") == 0
    async with tenant_transaction(aengine, ids[0]) as conn:  # whatever a model asks, the tools refuse
        tools = Toolbox(conn, tenant_id=ids[0], conversation_id=ids[1], contact_id=ids[2], phone=phone, brain="openai",
                        message_id=None, sgp=client(sgp_url, http), keyring=KEYRING, state=state, customer_texts=[])
        assert (await tools.connection_status()).status == "suspended"
        assert (await tools.open_ticket("sem internet", "sem_conexao")).status == "suspended"
    assert sgp.get("/sandbox/tickets").json() == []


async def test_the_model_sends_the_invoice_of_a_suspended_contract_and_opens_no_ticket(sgp, sgp_url, http, engine,
                                                                                     aengine, model_url):
    phone, document = JULIANA
    ids = conversation(engine, phone, "Juliana")
    brain = ModelBrain(base_url=f"{model_url}/v1", model="fake-gpt", api_key="x", timeout=5, temperature=0,
                       http=http, fallback=RulesBrain())
    reply, tools = await turn(aengine, ids, brain, client(sgp_url, http), f"minha internet caiu, cpf {document}",
                              phone=phone, name="Juliana", state={})
    assert tools.brain == "openai" and "suspenso" in " ".join(reply.texts)
    assert any(text.startswith("Linha digitável") for text in reply.texts)
    assert [(t, o) for t, o, _ in outcomes(engine, ids[1])] == [
        ("identify_customer", "found"), ("connection_status", "suspended"), ("second_copy", "sent")]
    assert sgp.get("/sandbox/tickets").json() == []


async def test_the_unlock_says_the_days_and_the_date_and_records_the_promise(sgp, sgp_url, http, engine, aengine,
                                                                            model_url):
    from api.brain.model import _describe
    from api.sgp.values import today

    phone, document = ANA
    ids = conversation(engine, phone, "Ana")
    state: dict = {}
    reply, tools = await turn(aengine, ids, RulesBrain(), client(sgp_url, http), f"desbloqueio, cpf {document}",
                              phone=phone, name="Ana", state=state)
    [unlock] = sgp.get("/sandbox/unlocks").json()
    until = date.fromisoformat(unlock["data_promessa"])
    assert until == today() + timedelta(days=3)
    said = "\n".join(reply.texts)
    assert f"por *3 dias*, até *{until:%d/%m/%Y}*" in said and f"pagar a fatura até {until:%d/%m/%Y}" in said
    with engine.connect() as conn:
        arguments = conn.execute(select(tool_calls.c.arguments).where(
            tool_calls.c.conversation_id == ids[1], tool_calls.c.tool == "trust_unlock")).scalar_one()
    assert arguments == {"contract_id": "18110", "days": 3, "promise_date": until.isoformat(),
                         "protocol": unlock["protocolo"]}
    assert state["promise"] == {"contract_id": "18110", "until": until.isoformat(), "days": 3}
    facts = _describe(Outcome("granted", UnlockResult(True, 3, until, unlock["protocolo"])))
    assert (facts["days"], facts["until"], facts["until_br"]) == (3, until.isoformat(), f"{until:%d/%m/%Y}")
    # released: the contract is no longer blocked, so "a net caiu" now checks the connection
    assert tools.contract_flag() == "1"


def test_the_prompt_tells_the_model_about_two_requests_suspension_unlocks_and_the_factor():
    given = BrainInput(tenant_id=uuid.uuid4(), conversation_id=uuid.uuid4(), persona=Persona("X"), contact_name=None,
                       new_messages=["oi"])
    prompt = system_prompt(given)
    assert "atenda as duas, na ordem" in prompt
    assert "NÃO abra chamado técnico" in prompt and "not_blocked" in prompt
    assert "por quantos dias (days) e até que data (until)" in prompt
    assert "verification_required" in prompt and "verify_identity" in prompt
