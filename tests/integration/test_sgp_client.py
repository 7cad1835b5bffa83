"""The SGP (TSMX) client against the real SGP sandbox over HTTP, and against the captured response variants."""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.sgp import (
    ConnectionStatus,
    Contract,
    SgpAuthError,
    SgpError,
    SgpTicketTypeError,
    SgpUnavailable,
    TicketContact,
    TsmxSgp,
    sgp_from_config,
)
from api.sgp.parsing import customer_contacts
from api.sgp.values import contact_values, title, to_date, to_decimal, today
from niochat.logging import configure_logging
from sandbox.sgp import create_app
from tests.support.basics import fixtures_dir
from tests.support.servers import serving

FIXTURES = fixtures_dir() / "sgp"
APP, TOKEN = "niochat", "sandbox-token"

MARIA = "529.982.247-25"  # 10269: active, offline, future invoice with PIX, 1 unlock of 3 days
JOAO = "318.457.260-90"  # live variant: 17402 suspended (2 overdue, no unlocks left), 17403 active online
ANA = "402.176.893-96"  # 18110 suspended, overdue invoice with empty codigopix
FRANCISCA = "724.851.036-07"  # nothing to pay
JULIANA = "150.739.482-97"  # 18520: invoices without any PIX
ANTONIA = "381.926.054-42"  # 18740: 2 unlocks of 5 days


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def sandbox_url():
    with serving(create_app()) as base:
        yield base


@pytest.fixture
def sandbox(sandbox_url):
    with httpx.Client(base_url=sandbox_url, timeout=10) as client:
        client.delete("/sandbox/faults")
        client.post("/sandbox/reset")
        yield client


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def aredis(redis_url):
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


def client_for(base: str, http: httpx.AsyncClient, *, redis=None, timeout: float = 5.0, token: str = TOKEN,
               tenant_key: str | None = None, **options) -> TsmxSgp:
    return TsmxSgp(http, base, APP, token, timeout, redis, tenant_key or tenant(), **options)


def calls(sandbox: httpx.Client, endpoint: str | None = None) -> list[dict]:
    return sandbox.get("/sandbox/calls", params={"endpoint": endpoint} if endpoint else None).json()


def fault(sandbox: httpx.Client, **spec) -> None:
    assert sandbox.post("/sandbox/faults", json=spec).status_code == 200


# lookups --------------------------------------------------------------------------------------------------------------


async def test_find_customer_with_one_contract(sandbox, sandbox_url, http):
    sgp = sgp_from_config(http, None, tenant(), sandbox_url, APP, TOKEN, 5)
    customer = await sgp.find_customer(MARIA)
    assert (customer.id, customer.name, customer.document) == ("2827", "MARIA DA SILVA", "52998224725")
    assert customer.phones == ("11912340001",)
    assert customer.contracts == (
        Contract(id="10269", status="Ativo", active=True, plan="FIBRA 300MB", address="Rua das Flores, 120",
                 open_amount=Decimal("99.90")),
    )
    assert calls(sandbox, "consultacliente")[0]["parameters"] == {"cpfcnpj": "52998224725"}


async def test_find_customer_with_several_contracts_in_the_live_variant(sandbox, sandbox_url, http):
    customer = await client_for(sandbox_url, http).find_customer("31845726090")
    assert customer.document == "31845726090" and [c.id for c in customer.contracts] == ["17402", "17403"]
    assert customer.phones == ("11955550002",)  # contacts as objects, once though both contracts list it
    suspended, active = customer.contracts
    assert (suspended.status, suspended.active, suspended.open_amount) == ("Suspenso", False, Decimal("189.80"))
    assert (active.status, active.active, active.open_amount) == ("Ativo", True, Decimal("0.00"))


async def test_find_customer_not_found_and_malformed_documents(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http)
    assert await sgp.find_customer("111.444.777-35") is None
    assert await sgp.find_customer("123") is None  # not a CPF/CNPJ: the SGP is not even asked
    assert len(calls(sandbox, "consultacliente")) == 1
    company = await sgp.find_customer("45781236000140")
    assert company.name == "MERCADINHO BOA VISTA LTDA" and len(company.contracts) == 2


async def test_open_invoices_sends_the_contract_and_nao_gerar_os_and_fetches_missing_pix(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http)
    [invoice] = await sgp.open_invoices(ANA, "18110")
    assert (invoice.id, invoice.contract_id, invoice.overdue) == ("64210", "18110", True)
    assert invoice.amount > Decimal("79.90") and invoice.digitable_line and len(invoice.digitable_line) == 47
    assert invoice.pix_code.startswith("000201") and invoice.link.startswith("https://")
    lookup, pix = calls(sandbox)
    assert lookup["endpoint"] == "/api/ura/fatura2via/"
    assert lookup["parameters"] == {"contrato": "18110", "nao_gerar_os": "1", "faturas_abertas_todas": "1",
                                    "cpfcnpj": "40217689396"}
    assert pix["endpoint"] == "/api/ura/pagamento/pix/64210"
    assert pix["parameters"] == {"contrato": "18110", "fatura": "64210"} and pix["status"] == 200
    assert sandbox.get("/sandbox/tickets").json() == []  # nao_gerar_os=1: no ticket opened


async def test_open_invoices_overdue_future_nothing_open_and_no_pix(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http)
    overdue = await sgp.open_invoices(JOAO, "17402")
    assert [i.id for i in overdue] == ["64100", "64101"] and all(i.overdue and i.pix_code for i in overdue)
    assert overdue[0].due_date < overdue[1].due_date < today()
    [future] = await sgp.open_invoices(MARIA, "10269")
    assert not future.overdue and future.amount == Decimal("99.90") and future.due_date > today()
    assert await sgp.open_invoices(FRANCISCA, "18300") == []
    without_pix = await sgp.open_invoices(JULIANA, "18520")
    assert [i.pix_code for i in without_pix] == [None, None] and all(i.digitable_line for i in without_pix)
    assert not [c for c in calls(sandbox, "fatura2via") if c["parameters"].get("nao_gerar_os") != "1"]
    assert await sgp.pix_for("64009", "10269") and await sgp.pix_for("999", "10269") is None
    assert await sgp.pix_for("64009", "17402") is None  # not that contract's invoice: the SGP refuses it


async def test_connection_online_and_offline(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http)
    assert await sgp.connection_status("17403") == ConnectionStatus("17403", True, "Serviço Online")
    assert await sgp.connection_status("10269") == ConnectionStatus("10269", False, "Serviço Offline")


async def test_open_ticket_returns_a_new_protocol_each_time(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http)
    first = await sgp.open_ticket("10269", "Sem conexão", "Cliente sem internet desde ontem à noite")
    second = await sgp.open_ticket("10269", "lentidao", "Velocidade baixa no Wi-Fi")
    assert first.protocol and first.protocol != second.protocol
    tickets = sandbox.get("/sandbox/tickets").json()
    # this installation's own ids (its list, read from /api/os/ocorrencia/tipo/list/), not another SGP's 1 and 2
    assert [(t["protocolo"], t["ocorrenciatipo"]) for t in tickets] == [(first.protocol, 101), (second.protocol, 102)]
    assert "sem internet desde ontem" in tickets[0]["conteudo"]
    with pytest.raises(SgpError):
        await sgp.open_ticket("1", "outros", "contrato inexistente")


async def test_trust_unlock_granted_then_refused(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http)
    granted = [await sgp.trust_unlock("18740") for _ in range(2)]
    assert all(g.granted and g.days == 5 and g.until == today() + timedelta(days=5) for g in granted)
    assert granted[0].protocol != granted[1].protocol and granted[0].reason is None
    refused = await sgp.trust_unlock("18740")
    assert (refused.granted, refused.days, refused.reason) == (False, None, "limite de liberações atingido")
    assert "antonia" not in repr(granted) + repr(refused)  # the SGP's msg carries the PPPoE login
    assert (await sgp.trust_unlock("17402")).reason == "limite de liberações atingido"


async def test_wrong_token_raises_auth_error_without_retries(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http, token="errado")
    with pytest.raises(SgpAuthError):
        await sgp.find_customer(MARIA)
    with pytest.raises(SgpAuthError):
        await sgp.trust_unlock("10269")
    assert [c["status"] for c in calls(sandbox)] == [403, 403]


# faults: retries, timeouts, circuit breaker, cache --------------------------------------------------------------------


async def test_lookups_retry_server_errors(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http)
    fault(sandbox, count=2, mode="error", endpoint="consultacliente")
    assert (await sgp.find_customer(MARIA)).id == "2827"
    assert [c["status"] for c in calls(sandbox, "consultacliente")] == [500, 500, 200]
    fault(sandbox, count=1, mode="error", status=502, endpoint="verificaacesso")
    assert (await sgp.connection_status("17403")).online
    fault(sandbox, count=2, mode="error", endpoint="pix")
    fault(sandbox, count=1, mode="error", endpoint="fatura2via")
    assert (await sgp.open_invoices(ANA, "18110"))[0].pix_code
    assert len(calls(sandbox, "fatura2via")) == 2 and len(calls(sandbox, "pix")) == 3
    fault(sandbox, count=3, mode="error", endpoint="verificaacesso")
    with pytest.raises(SgpUnavailable):
        await sgp.connection_status("17403")
    assert len(calls(sandbox, "verificaacesso")) == 2 + 3  # bounded: first try and 2 retries


async def test_ticket_and_unlock_are_never_retried(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http)
    fault(sandbox, count=5, mode="error", endpoint="chamado")
    fault(sandbox, count=5, mode="error", endpoint="liberacaopromessa")
    with pytest.raises(SgpUnavailable):
        await sgp.open_ticket("10269", "outros", "teste")
    with pytest.raises(SgpUnavailable):
        await sgp.trust_unlock("18110")
    assert len(calls(sandbox, "chamado")) == 1 and len(calls(sandbox, "liberacaopromessa")) == 1
    listed = sandbox.get("/sandbox/dataset").json()
    ana = next(c for c in listed["clientes"] if c["cpfcnpj"] == ANA)
    assert ana["contratos"][0]["promessas_disponiveis"] == 1  # nothing granted twice behind our back


async def test_a_hanging_sgp_is_unavailable_within_the_timeout(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http, timeout=1.0)
    fault(sandbox, count=3, mode="timeout", endpoint="verificaacesso")
    started = time.monotonic()
    with pytest.raises(SgpUnavailable):
        await sgp.connection_status("10269")
    assert time.monotonic() - started < 1.5
    fault(sandbox, count=1, mode="timeout", endpoint="liberacaopromessa")
    started = time.monotonic()
    with pytest.raises(SgpUnavailable):
        await sgp.trust_unlock("10269")
    assert time.monotonic() - started < 1.5
    sandbox.delete("/sandbox/faults")
    assert len(calls(sandbox, "verificaacesso")) == 1  # the budget is spent: no retry past the timeout


async def test_the_circuit_opens_short_circuits_then_half_opens(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http, breaker_open_seconds=0.5)
    fault(sandbox, count=100, mode="error", endpoint="consultacliente")
    for _ in range(2):
        with pytest.raises(SgpUnavailable):
            await sgp.find_customer(MARIA)
    assert len(calls(sandbox, "consultacliente")) == 5  # 3 attempts, then 2: the fifth failure opens it
    started = time.monotonic()
    with pytest.raises(SgpUnavailable, match="circuito aberto"):
        await sgp.connection_status("10269")
    assert time.monotonic() - started < 0.1 and len(calls(sandbox)) == 5  # refused without calling the SGP
    await asyncio.sleep(0.6)
    with pytest.raises(SgpUnavailable):  # half-open: one trial, it fails, open again
        await sgp.find_customer(MARIA)
    assert len(calls(sandbox)) == 6
    sandbox.delete("/sandbox/faults")
    with pytest.raises(SgpUnavailable, match="circuito aberto"):
        await sgp.find_customer(MARIA)
    await asyncio.sleep(0.6)
    assert (await sgp.find_customer(MARIA)).id == "2827"  # the trial succeeds: closed
    assert (await sgp.connection_status("17403")).online


async def test_the_circuit_lives_in_redis_for_every_worker(sandbox, sandbox_url, http, aredis):
    shared = tenant()
    worker_a = client_for(sandbox_url, http, redis=aredis, tenant_key=shared, cache_seconds=0)
    worker_b = client_for(sandbox_url, http, redis=aredis, tenant_key=shared, cache_seconds=0)
    fault(sandbox, count=100, mode="error", endpoint="verificaacesso")
    for _ in range(2):
        with pytest.raises(SgpUnavailable):
            await worker_a.connection_status("10269")
    assert len(calls(sandbox)) == 5
    with pytest.raises(SgpUnavailable, match="circuito aberto"):
        await worker_b.find_customer(MARIA)
    assert len(calls(sandbox)) == 5
    assert await aredis.exists(f"niochat:sgp:{shared}:breaker:open_until")
    other_tenant = client_for(sandbox_url, http, redis=aredis)
    assert (await other_tenant.find_customer(MARIA)).id == "2827"  # one tenant's outage is not another's


async def test_the_cache_avoids_repeated_lookups_and_keeps_documents_out_of_redis(sandbox, sandbox_url, http, aredis):
    sgp = client_for(sandbox_url, http, redis=aredis)
    first = await sgp.find_customer(MARIA)
    assert await sgp.find_customer("52998224725") == first and first.phones == ("11912340001",)
    assert len(calls(sandbox, "consultacliente")) == 1
    invoices = await sgp.open_invoices(ANA, "18110")
    assert await sgp.open_invoices(ANA, "18110") == invoices and invoices[0].pix_code
    assert len(calls(sandbox, "fatura2via")) == 1 and len(calls(sandbox, "pix")) == 1
    keys = [key.decode() for key in await aredis.keys("*")]
    stored = b"".join([await aredis.get(key) or b"" for key in keys]).decode()
    for secret in ("52998224725", "529.982.247-25", "40217689396", "402.176.893-96", "maria.silva"):
        assert not any(secret in key for key in keys) and secret not in stored
    uncached = client_for(sandbox_url, http)
    await uncached.find_customer(MARIA)
    await uncached.find_customer(MARIA)
    assert len(calls(sandbox, "consultacliente")) == 3


# field conformance (issue #17): PIX contract, ticket types, all open invoices, maintenance, contact ----------------

LUCAS = "839.264.175-28"  # 18410: one overdue invoice and next month's
BEATRIZ = "864.542.841-58"  # 19180: under the provider's maintenance
VELOZ_APP, VELOZ_TOKEN = "veloz", "veloz-sandbox-token"


async def test_the_pix_fallback_sends_the_invoices_contract_and_the_sgp_refuses_it_without(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http)
    code = await sgp.pix_for("64210", "18110")
    assert code.startswith("000201")
    [call] = calls(sandbox, "pagamento/pix")
    assert call["parameters"] == {"contrato": "18110", "fatura": "64210"}
    refused = sandbox.post("/api/ura/pagamento/pix/64210", data={"app": APP, "token": TOKEN}).json()
    assert refused == {"status": 0, "msg": "Favor informar o id do contrato"}  # what the old client got
    with pytest.raises(SgpError):
        await sgp.pix_for("64210", "")  # never asked without one


async def test_every_open_invoice_comes_back_not_only_the_latest(sandbox, sandbox_url, http):
    older, newer = await client_for(sandbox_url, http).open_invoices(LUCAS, "18410")
    assert (older.id, older.overdue, newer.id, newer.overdue) == ("64410", True, "64411", False)
    assert calls(sandbox, "fatura2via")[0]["parameters"]["faturas_abertas_todas"] == "1"
    alone = sandbox.post("/api/ura/fatura2via/", data={"app": APP, "token": TOKEN, "contrato": "18410",
                                                       "nao_gerar_os": "1"}).json()
    assert [link["fatura"] for link in alone["links"]] == [64411]  # without the flag the SGP leaves 64410 out


async def test_maintenance_is_reported_as_such_with_the_forecast(sandbox, sandbox_url, http):
    status = await client_for(sandbox_url, http).connection_status("19180")
    assert (status.online, status.maintenance) == (False, True)
    forecast = today() + timedelta(days=1)
    assert status.forecast == f"{forecast:%d/%m/%Y} às 14:00" and "Troca de equipamentos" in status.detail
    assert status.protocol == sandbox.get("/sandbox/tickets").json()[0]["protocolo"]  # the SGP opened it itself
    assert (await client_for(sandbox_url, http).connection_status("10269")).maintenance is False


async def test_ticket_types_are_this_installations_read_from_the_sgp_and_cached(sandbox, sandbox_url, http, aredis):
    sgp = client_for(sandbox_url, http, redis=aredis)
    assert [(t.id, t.active) for t in await sgp.occurrence_types()][:2] == [(1, False), (101, True)]
    for subject, description in (("sem_conexao", "x"), ("", "está muito lenta de noite"),
                                 ("", "a internet fica caindo o dia todo"), ("outros", "troca de senha")):
        await sgp.open_ticket("10269", subject, description)
    assert [t["ocorrenciatipo"] for t in sandbox.get("/sandbox/tickets").json()] == [101, 102, 103, 105]
    [listing] = calls(sandbox, "ocorrencia/tipo/list")  # read once: the rest came from Redis
    assert listing["format"] == "query" and listing["parameters"] == {}  # app+token in the query, not shown
    keys = [key.decode() for key in await aredis.keys("*ocorrencia_tipos*")]
    assert len(keys) == 1 and 3500 < await aredis.ttl(keys[0]) <= 3600
    veloz = TsmxSgp(http, sandbox_url, VELOZ_APP, VELOZ_TOKEN, 5, None, tenant())
    await veloz.open_ticket("30103", "", "sem acesso desde cedo")
    await veloz.open_ticket("30103", "outros", "preciso mudar o plano")
    tickets = sandbox.get("/sandbox/tickets", params={"app": "veloz"}).json()
    assert [t["ocorrenciatipo"] for t in tickets] == [2301, 2305]  # "Sem acesso", "Atendimento geral"


async def test_the_operators_mapping_overrides_the_names_and_a_wrong_one_is_refused(sandbox, sandbox_url, http,
                                                                                   capsys):
    configure_logging("json", "INFO")
    overridden = client_for(sandbox_url, http, occurrence_types={"sem_conexao": 103})
    await overridden.open_ticket("10269", "sem_conexao", "x")
    assert sandbox.get("/sandbox/tickets").json()[0]["ocorrenciatipo"] == 103
    for wrong, state in ((1, "inativo"), (999, "inexistente")):  # 1 is another SGP's "sem conexão"
        with pytest.raises(SgpTicketTypeError, match=state) as refused:
            await client_for(sandbox_url, http, occurrence_types={"sem_conexao": wrong}).open_ticket(
                "10269", "sem_conexao", "x")
        assert (refused.value.kind, refused.value.type_id) == ("sem_conexao", wrong)
        assert "101 SEM CONEXÃO" in str(refused.value)  # the error lists what this SGP has
    assert len(calls(sandbox, "chamado")) == 1 and len(sandbox.get("/sandbox/tickets").json()) == 1
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    errors = [e for e in logged if e.get("event") == "sgp.occurrence_type_unknown"]
    assert [(e["level"], e["configured"]) for e in errors] == [("error", 1), ("error", 999)]


async def test_the_strict_sandbox_refuses_a_type_it_does_not_have(sandbox):
    refused = sandbox.post("/api/ura/chamado/", data={"app": APP, "token": TOKEN, "contrato": "10269",
                                                      "ocorrenciatipo": "1", "conteudo": "x"}).json()
    assert (refused["status"], refused["msg"]) == (0, "Tipo de ocorrência inválido")
    assert sandbox.get("/sandbox/tickets").json() == []


async def test_a_ticket_carries_the_contact_to_call_back(sandbox, sandbox_url, http):
    sgp = client_for(sandbox_url, http)
    await sgp.open_ticket("10269", "", "sem internet", TicketContact("Maria Silva", "5511912340001"))
    await sgp.open_ticket("10269", "", "sem internet", TicketContact("Maria Silva", None))
    by_phone, by_lid = sandbox.get("/sandbox/tickets").json()
    assert (by_phone["contato_nome"], by_phone["contato_telefone"]) == ("Maria Silva", "(11) 91234-0001")
    assert "Contato: Maria Silva — WhatsApp (11) 91234-0001" in by_phone["conteudo"]
    assert (by_lid["contato_nome"], by_lid["contato_telefone"]) == ("Maria Silva", None)
    assert "sem número" in by_lid["conteudo"] and "LID" in by_lid["conteudo"]
    assert "contato_telefone" not in calls(sandbox, "chamado")[1]["parameters"]


# logs -------------------------------------------------------------------------------------------------------------


async def test_logs_never_carry_the_cpf_or_the_unlock_message(sandbox, sandbox_url, http, capsys):
    configure_logging("json", "INFO")
    sgp = client_for(sandbox_url, http)
    await sgp.find_customer(MARIA)
    await sgp.open_invoices(MARIA, "10269")
    assert (await sgp.trust_unlock("10269")).granted
    assert not (await sgp.trust_unlock("10269")).granted
    fault(sandbox, count=3, mode="error", endpoint="consultacliente")
    with pytest.raises(SgpUnavailable):
        await sgp.find_customer(MARIA)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    events = [line for line in lines if line.get("logger", "").startswith("api.sgp")]
    dumped = json.dumps(lines, ensure_ascii=False)
    assert {"sgp.request", "sgp.customer_lookup", "sgp.trust_unlock", "sgp.request_failed"} <= {
        e["event"] for e in events}
    assert "***.982.247-**" in dumped
    for secret in ("52998224725", "529.982.247-25", "maria.silva", "Liberação via URA", "Login:", TOKEN):
        assert secret not in dumped
    unlock = next(e for e in events if e["event"] == "sgp.trust_unlock")
    assert unlock["granted"] is True and unlock["days"] == 3 and "msg" not in unlock


# captured response variants, served verbatim ----------------------------------------------------------------------


class Replay:
    """Answers each path with a chosen capture file, verbatim, and records what the client sent: the form of a
    POST, the query of a GET (the SGP's listings)."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, dict | list]] = {}
        self.posted: list[tuple[str, dict]] = []
        self.app = FastAPI()

        @self.app.api_route("/{path:path}", methods=["GET", "POST"])
        async def answer(path: str, request: Request) -> JSONResponse:
            sent = dict(request.query_params) if request.method == "GET" else dict(await request.form())
            self.posted.append(("/" + path, sent))
            status, body = self.answers.get("/" + path, (404, {"detail": "Not Found"}))
            return JSONResponse(body, status_code=status)

    def set(self, path: str, body: dict | list | str, status: int = 200) -> None:
        self.answers[path] = (status, fixture(body) if isinstance(body, str) else body)


@pytest.fixture(scope="module")
def replay_server():
    replay = Replay()
    with serving(replay.app) as base:
        yield replay, base


@pytest.fixture
def replay(replay_server):
    replay, base = replay_server
    replay.answers.clear()
    replay.posted.clear()
    return replay, base


async def test_documented_shapes_parse(replay, http):
    server, base = replay
    server.set("/api/ura/consultacliente/", "consultacliente.response.json")
    server.set("/api/ura/fatura2via/", "fatura2via.response.json")
    server.set("/api/ura/verificaacesso/", "verificaacesso.online.response.json")
    server.set("/api/ura/chamado/", "chamado.response.json")
    server.set("/api/ura/liberacaopromessa/", "liberacaopromessa.response.json")
    server.set("/api/os/ocorrencia/tipo/list/", "ocorrencia-tipo-list.response.json")
    sgp = client_for(base, http)
    customer = await sgp.find_customer(MARIA)
    assert customer.contracts[0] == Contract("10269", "Ativo", True, "FIBRA 300MB", "Rua das Flores, 120",
                                             Decimal("99.90"))
    assert customer.phones == ("11912340001",)
    [invoice] = await sgp.open_invoices(MARIA, "10269")
    assert (invoice.id, invoice.amount, invoice.due_date) == ("64009", Decimal("99.90"), date(2026, 11, 10))
    assert invoice.overdue == (date(2026, 11, 10) < today()) and invoice.pix_code.startswith("000201")
    assert (await sgp.connection_status("17402")).online is True
    assert (await sgp.open_ticket("10269", "1", "teste")).protocol == "200429142914"
    unlock = await sgp.trust_unlock("17402")
    assert (unlock.granted, unlock.days, unlock.until, unlock.protocol) == (True, 3, date(2026, 11, 27), "2611240001")
    assert "joao.pereira" not in repr(unlock)
    for path, form in server.posted:
        assert path.endswith("/") and form["app"] == APP and form["token"] == TOKEN
    assert dict(server.posted)["/api/ura/fatura2via/"]["nao_gerar_os"] == "1"
    assert dict(server.posted)["/api/ura/chamado/"]["ocorrenciatipo"] == "3"  # "Sem Acesso" of that list


async def test_live_variants_parse(replay, http):
    server, base = replay
    server.set("/api/ura/consultacliente/", "consultacliente.live-contacts-variant.response.json")
    server.set("/api/ura/verificaacesso/", "verificaacesso.offline.response.json")
    server.set("/api/ura/fatura2via/", "fatura2via.nothing-open.response.json")
    server.set("/api/ura/liberacaopromessa/", "liberacaopromessa.exhausted.response.json")
    sgp = client_for(base, http)
    customer = await sgp.find_customer("086.016.613-05")
    assert customer.id == "5120" and customer.document == "08601661305" and customer.phones == ("11955550002",)
    assert customer.contracts[0] == Contract("17402", "Suspenso", False, "FIBRA 500MB", None, Decimal("189.80"))
    assert await sgp.connection_status("10269") == ConnectionStatus("10269", False, "Serviço Offline")
    assert await sgp.open_invoices(MARIA, "10269") == []
    refused = await sgp.trust_unlock("17402")
    assert (refused.granted, refused.reason) == (False, "limite de liberações atingido")
    staus_only = {key: value for key, value in fixture("verificaacesso.offline.response.json").items()
                  if key != "status"}
    server.set("/api/ura/verificaacesso/", staus_only)
    assert (await sgp.connection_status("10269")).online is False
    server.set("/api/ura/verificaacesso/", {**staus_only, "staus": 1, "msg": " Serviço Online "})
    assert await sgp.connection_status("10269") == ConnectionStatus("10269", True, "Serviço Online")


async def test_empty_codigopix_falls_back_to_pagamento_pix(replay, http):
    server, base = replay
    without_pix = copy.deepcopy(fixture("fatura2via.response.json"))
    without_pix["links"][0]["codigopix"] = ""
    server.set("/api/ura/fatura2via/", without_pix)
    server.set("/api/ura/pagamento/pix/64009", "pagamento-pix.response.json")
    [invoice] = await client_for(base, http).open_invoices(MARIA, "10269")
    assert invoice.pix_code == fixture("pagamento-pix.response.json")["pix"]
    assert [path for path, _ in server.posted] == ["/api/ura/fatura2via/", "/api/ura/pagamento/pix/64009"]


async def test_error_bodies_map_to_errors(replay, http):
    server, base = replay
    server.set("/api/ura/consultacliente/", "auth-error.response.json", status=403)
    server.set("/api/ura/fatura2via/", "fatura2via.multiple-contracts.response.json")
    server.set("/api/ura/chamado/", {"status": 0, "msg": "Tipo de ocorrência inválido"})
    server.set("/api/os/ocorrencia/tipo/list/", "ocorrencia-tipo-list.response.json")
    sgp = client_for(base, http)
    with pytest.raises(SgpAuthError):
        await sgp.find_customer(MARIA)
    with pytest.raises(SgpError, match="contrato"):
        await sgp.open_invoices(JOAO, "17402")
    with pytest.raises(SgpError):
        await sgp.open_ticket("10269", "outros", "x")
    with pytest.raises(SgpError):
        await sgp.connection_status("10269")  # 404: wrong base URL
    server.set("/api/ura/consultacliente/", "consultacliente.notfound.response.json")
    assert await sgp.find_customer(MARIA) is None


SECRETS = ("Central#7781", "pppoe-S3nh4-Maria", "A4:2B:B0:11:7C:9E", "wifi2g-Fl0res120", "wifi5g-Fl0res120",
           "MARIA_SILVA_2G", "MARIA_SILVA_5G", "maria.silva", "52998224725", "529.982.247-25", "1985-04-12",
           "MARIA@EXEMPLO", "-23.5489", "APTO 31", "AO LADO DA PADARIA")


async def test_redis_holds_only_the_allowlisted_fields_never_passwords_or_macs(replay, http, aredis):
    server, base = replay
    server.set("/api/ura/consultacliente/", "consultacliente.with-service-secrets.response.json")
    invoices = copy.deepcopy(fixture("fatura2via.response.json"))
    invoices["links"][0]["novo_campo_sensivel"] = "pppoe-S3nh4-Maria"  # a field the SGP adds tomorrow
    server.set("/api/ura/fatura2via/", invoices)
    sgp = client_for(base, http, redis=aredis)
    customer = await sgp.find_customer(MARIA)
    [invoice] = await sgp.open_invoices(MARIA, "10269")
    assert await sgp.find_customer(MARIA) == customer and await sgp.open_invoices(MARIA, "10269") == [invoice]
    assert len(server.posted) == 2  # both answered from Redis the second time, and read back the same
    assert customer.phones == ("11912340001",) and customer.contracts[0].address == "Rua das Flores, 120"
    keys = await aredis.keys("*")
    stored = b"".join([await aredis.get(key) for key in keys]).decode()
    assert len(keys) == 2 and "MARIA DA SILVA" in stored and invoice.pix_code in stored
    for secret in SECRETS:
        assert secret not in stored, secret
    for field in ("servico_senha", "servico_mac", "servico_wifi", "servico_login", "contratoCentral", "novo_campo"):
        assert field not in stored, field


async def test_a_type_the_sgp_refuses_is_an_error_and_the_cached_list_is_read_again(replay, http, aredis):
    server, base = replay
    server.set("/api/os/ocorrencia/tipo/list/", "ocorrencia-tipo-list.response.json")
    server.set("/api/ura/chamado/", {"status": 0, "msg": "Tipo de ocorrência inválido", "contratoId": 10269})
    sgp = client_for(base, http, redis=aredis)
    with pytest.raises(SgpTicketTypeError, match="recusou o tipo de ocorrência 3"):
        await sgp.open_ticket("10269", "sem_conexao", "sem internet")
    assert await aredis.keys("*ocorrencia_tipos*") == []  # forgotten: the next ticket reads the list again
    server.set("/api/ura/chamado/", "chamado.response.json")
    assert (await sgp.open_ticket("10269", "sem_conexao", "sem internet")).protocol == "200429142914"
    assert [path for path, _ in server.posted].count("/api/os/ocorrencia/tipo/list/") == 2


async def test_a_list_with_no_type_for_the_kind_nor_outros_opens_nothing(replay, http):
    server, base = replay
    server.set("/api/os/ocorrencia/tipo/list/", {"results": [{"id": 1, "descricao": "INSTALAÇÃO", "ativo": True},
                                                             {"id": 7, "descricao": "FINANCEIRO"}]})
    with pytest.raises(SgpTicketTypeError, match="nenhum tipo de ocorrência"):
        await client_for(base, http).open_ticket("10269", "lentidao", "lenta")
    assert "/api/ura/chamado/" not in [path for path, _ in server.posted]


async def test_maintenance_in_the_sgps_words_whatever_the_status_code(replay, http):
    server, base = replay
    sgp = client_for(base, http)
    for status, said in ((0, "Serviço em manutenção. Previsão de normalização: 15/05/2026 às 18:00."),
                         (2, "MANUTENCAO PROGRAMADA NA REGIAO - previsao de retorno 15/05 18h"),
                         (1, "Serviço Online - manutenção preventiva concluída em breve")):
        server.set("/api/ura/verificaacesso/", {"status": status, "msg": said, "contratoId": 10269})
        found = await sgp.connection_status("10269")
        assert (found.maintenance, found.online, found.detail) == (True, False, said)
    assert found.forecast is None and (await sgp.connection_status("10269")).protocol is None
    server.set("/api/ura/verificaacesso/", {"status": 2, "msg": "MANUTENCAO PROGRAMADA - previsao 15/05 18h"})
    assert (await sgp.connection_status("10269")).forecast == "15/05 18h"
    server.set("/api/ura/verificaacesso/", "verificaacesso.offline.response.json")
    assert (await sgp.connection_status("10269")).maintenance is False


def test_value_readers_and_contact_shapes():
    documented = customer_contacts(fixture("consultacliente.response.json"))
    live = customer_contacts(fixture("consultacliente.live-contacts-variant.response.json"))
    assert documented == {"phones": ("(11) 91234-0001",), "emails": ("MARIA@EXEMPLO.COM.BR",)}
    assert live == {"phones": ("(11) 95555-0002",), "emails": ("joao@exemplo.com.br",)}
    assert contact_values([{"contato": " a "}, "b", {"x": 1}, None]) == ("a", "b")
    assert [to_decimal(v) for v in (99.9, "189.80", "189,80", "1.234,56", "", None, "abc")] == [
        Decimal("99.90"), Decimal("189.80"), Decimal("189.80"), Decimal("1234.56"), None, None, None]
    assert to_date("2026-11-10 00:00:00") == to_date("10/11/2026") == date(2026, 11, 10) and to_date("x") is None
    assert title("RUA XV DE NOVEMBRO") == "Rua XV de Novembro"
    assert title(" AVENIDA  DAS AMERICAS ") == "Avenida das Americas"


# identity and promise dates (issue #20) -------------------------------------------------------------------------


async def test_the_identity_record_is_read_fresh_and_its_birth_date_never_reaches_redis(sandbox, sandbox_url, http,
                                                                                       aredis):
    sgp = client_for(sandbox_url, http, redis=aredis)
    await sgp.find_customer(MARIA)
    record = await sgp.identity_record(MARIA)
    again = await sgp.identity_record("52998224725")
    assert record == again and record.customer.id == "2827" and record.customer.contracts[0].id == "10269"
    assert (record.birth_date, record.postal_codes) == (date(1985, 4, 12), ("01001000",))
    assert len(calls(sandbox, "consultacliente")) == 3  # the lookup once (then cached), the record every time
    stored = b"".join([await aredis.get(key) or b"" for key in await aredis.keys("*")]).decode()
    assert "1985" not in stored and "dataNascimento" not in stored and "01001" not in stored
    assert await sgp.identity_record("111.444.777-35") is None
    companies = await sgp.identity_record("45.781.236/0001-40")  # a company: its installations' CEPs
    assert companies.birth_date is None and companies.postal_codes == ("69301160", "69303105")


async def test_the_identity_record_from_the_captures(replay, http):
    server, base = replay
    server.set("/api/ura/consultacliente/", "consultacliente.response.json")
    record = await client_for(base, http).identity_record(MARIA)
    assert (record.birth_date, record.postal_codes) == (date(1985, 4, 12), ("01001000",))
    server.set("/api/ura/consultacliente/", "consultacliente.live-contacts-variant.response.json")
    record = await client_for(base, http).identity_record("086.016.613-05")
    assert (record.birth_date, record.postal_codes) == (None, ())  # the live shape carries neither
    assert record.customer.id == "5120"


async def test_the_promise_date_from_the_days_or_the_days_from_the_date(replay, http):
    server, base = replay
    granted = fixture("liberacaopromessa.response.json")
    only_days = {key: value for key, value in granted.items() if key != "data_promessa"}
    server.set("/api/ura/liberacaopromessa/", only_days)
    unlock = await client_for(base, http).trust_unlock("17402")
    assert (unlock.days, unlock.until) == (3, today() + timedelta(days=3))
    only_date = {**{key: value for key, value in granted.items() if key != "liberado_dias"},
                 "data_promessa": (today() + timedelta(days=4)).isoformat()}
    server.set("/api/ura/liberacaopromessa/", only_date)
    unlock = await client_for(base, http).trust_unlock("17402")
    assert (unlock.days, unlock.until) == (4, today() + timedelta(days=4))
    server.set("/api/ura/liberacaopromessa/", {**granted, "data_promessa": "27/11/2026", "liberado_dias": "3"})
    unlock = await client_for(base, http).trust_unlock("17402")
    assert (unlock.days, unlock.until) == (3, date(2026, 11, 27))
