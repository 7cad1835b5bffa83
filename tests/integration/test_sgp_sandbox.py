"""The SGP sandbox served for real over HTTP, checked against the SGP (TSMX) URA response captures."""

from __future__ import annotations

import copy
import json
import time
from datetime import timedelta

import httpx
import pytest
from validate_docbr import CNPJ, CPF

from sandbox.sgp import BUILTIN_DATASET, DATASET_ENV, VELOZ_DATASET, DatasetError, create_app, load_dataset
from sandbox.sgp.dataset import today
from sandbox.sgp.pix import crc16
from tests.support.basics import fixtures_dir
from tests.support.servers import serving

FIXTURES = fixtures_dir()
SGP_FIXTURES = FIXTURES / "sgp"
CREDENTIALS = {"app": "niochat", "token": "sandbox-token"}

MARIA = "529.982.247-25"  # one active contract, an invoice with PIX, offline
JOAO = "318.457.260-90"  # live variant; 17402 suspended with 2 overdue invoices and no unlocks left, 17403 active
ANA = "402.176.893-96"  # suspended, overdue invoice with empty codigopix
FRANCISCA = "724.851.036-07"  # nothing to pay (one paid invoice)
JULIANA = "150.739.482-97"  # invoices without any PIX
ANTONIA = "381.926.054-42"  # 18740 suspended, 2 unlocks of 5 days


def fixture(name: str) -> dict:
    return json.loads((SGP_FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def sgp_server():
    with serving(create_app()) as base:
        yield base


@pytest.fixture
def sgp(sgp_server):
    with httpx.Client(base_url=sgp_server, timeout=10) as client:
        client.delete("/sandbox/faults")
        assert client.post("/sandbox/reset").status_code == 200
        yield client


def ura(client: httpx.Client, endpoint: str, **params) -> httpx.Response:
    return client.post(f"/api/ura/{endpoint}", data={**CREDENTIALS, **{k: str(v) for k, v in params.items()}})


def calls(client: httpx.Client, endpoint: str | None = None) -> list[dict]:
    return client.get("/sandbox/calls", params={"endpoint": endpoint} if endpoint else None).json()


# dataset ---------------------------------------------------------------------------------------------------------


def test_builtin_dataset_has_valid_documents_and_the_cases_the_demo_needs():
    dataset = load_dataset(BUILTIN_DATASET)
    documents = [client.document for client in dataset.clientes]
    cpfs = [d for d in documents if len(d) == 11]
    cnpjs = [d for d in documents if len(d) == 14]
    assert len(cpfs) == 13 and len(cnpjs) == 2
    assert all(CPF().validate(d) for d in cpfs) and all(CNPJ().validate(d) for d in cnpjs)
    contracts = [contract for client in dataset.clientes for contract in client.contratos]
    invoices = [invoice for contract in contracts for invoice in contract.faturas if invoice.open]
    assert sum(len(client.contratos) > 1 for client in dataset.clientes) >= 3
    assert any(contract.status == 4 for contract in contracts)
    assert any(i.vencimento < today() for i in invoices) and any(i.vencimento > today() for i in invoices)
    assert any(not i.codigopix and i.pix_disponivel for i in invoices)
    assert all(i.linhadigitavel for i in invoices)
    assert any(not contract.open_invoices() for client in dataset.clientes for contract in client.contratos)
    assert {c.promessas_disponiveis > 0 for c in contracts} == {True, False}
    assert {c.online for c in contracts} == {True, False}
    assert any(client.variante_live for client in dataset.clientes)
    assert any(len(contract.open_invoices()) >= 2 and contract.status == 1 for contract in contracts)  # two months
    assert [contract.contrato for contract in contracts if contract.manutencao] == [19180]
    active_types = {t["id"] for t in dataset.ocorrencia_tipos if t["ativo"]}
    assert active_types and not active_types & {1, 2, 5}  # this installation's own ids, not another SGP's


def test_dataset_errors_say_where(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"app": "a", "token": "t", "clientes": [{"cpfcnpj": "123", "nome": "X",
                                                                           "contratos": []}]}))
    with pytest.raises(DatasetError, match=r"clientes\[0\]\.cpfcnpj"):
        load_dataset(broken)
    (tmp_path / "nojson.json").write_text("{")
    with pytest.raises(DatasetError, match="not valid JSON"):
        create_app(tmp_path / "nojson.json")


def test_the_shared_example_dataset_loads_and_serves():
    example = SGP_FIXTURES / "sandbox-dataset.example.json"
    with serving(create_app(example)) as base, httpx.Client(base_url=base) as client:
        found = ura(client, "consultacliente/", cpfcnpj="52998224725").json()
        assert [c["contratoId"] for c in found["contratos"]] == [10269]
        assert ura(client, "fatura2via/", cpfcnpj="086.016.613-05").json() == fixture(
            "fatura2via.multiple-contracts.response.json")
        listed = client.get("/sandbox/dataset").json()
        assert listed["app"] == "niochat" and "086.016.613-05" in [c["cpfcnpj"] for c in listed["clientes"]]


def test_a_custom_dataset_from_the_environment(tmp_path, monkeypatch):
    custom = {
        "app": "provedor-x",
        "token": "segredo-x",
        "clientes": [{
            "cpfcnpj": "111.444.777-35",
            "nome": "CLIENTE TESTE",
            "telefones": ["(11) 90000-0000"],
            "contratos": [{
                "contrato": 900, "status": 1, "plano": "FIBRA 50MB", "login": "cliente.teste", "online": True,
                "promessas_disponiveis": 0, "liberacao_dias": 2,
                "faturas": [{"fatura": 9001, "vencimento": "hoje+3", "valor": 50, "linhadigitavel": "1" * 47,
                             "codigopix": "", "link": "https://sgp.exemplo.invalid/boleto/9001/"}],
            }],
        }],
    }
    path = tmp_path / "clientes.json"
    path.write_text(json.dumps(custom))
    monkeypatch.setenv(DATASET_ENV, str(path))
    with serving(create_app()) as base, httpx.Client(base_url=base) as client:
        assert ura(client, "consultacliente/", cpfcnpj="11144477735").status_code == 403  # built-in token refused
        answer = client.post("/api/ura/fatura2via/", data={"app": "provedor-x", "token": "segredo-x",
                                                           "cpfcnpj": "11144477735", "nao_gerar_os": "1"}).json()
        assert answer["status"] == 1 and answer["links"][0]["fatura"] == 9001
        assert answer["links"][0]["vencimento"] == (today() + timedelta(days=3)).isoformat()
        assert client.get("/sandbox/dataset").json()["source"] == str(path)


# consultacliente ---------------------------------------------------------------------------------------------------


def test_consultacliente_by_form_and_by_json_in_the_documented_shape(sgp):
    by_form = ura(sgp, "consultacliente/", cpfcnpj=MARIA).json()
    by_json = sgp.post("/api/ura/consultacliente/", json={**CREDENTIALS, "cpfcnpj": "52998224725"}).json()
    assert by_form == by_json
    documented = fixture("consultacliente.response.json")
    assert by_form["msg"] == documented["msg"]
    entry = by_form["contratos"][0]
    assert set(entry) == set(documented["contratos"][0])
    assert entry["contratoStatusDisplay"] == " Ativo " and entry["contratoValorAberto"] == 99.9
    assert entry["telefones"] == ["(11) 91234-0001"] and entry["endereco_logradouro"] == "RUA DAS FLORES"
    assert [c["format"] for c in calls(sgp, "consultacliente")] == ["form", "json"]


def test_consultacliente_live_variant_and_not_found(sgp):
    entries = ura(sgp, "consultacliente/", cpfcnpj=JOAO).json()["contratos"]
    variant = fixture("consultacliente.live-contacts-variant.response.json")["contratos"][0]
    assert [e["contratoId"] for e in entries] == [17402, 17403]
    assert set(entries[0]) == set(variant)
    assert entries[0]["contratoValorAberto"] == "189.80" and entries[0]["contratoTitulosAReceber"] == "2"
    assert entries[0]["contratoStatusDisplay"] == " Suspenso "
    assert entries[0]["telefones"][0]["contato"] == "(11) 95555-0002"
    assert ura(sgp, "consultacliente/", cpfcnpj="11144477735").json() == fixture(
        "consultacliente.notfound.response.json")


def test_wrong_or_missing_credentials_are_refused_with_403(sgp):
    refused = fixture("auth-error.response.json")
    wrong = sgp.post("/api/ura/consultacliente/", data={"app": "niochat", "token": "errado", "cpfcnpj": MARIA})
    assert (wrong.status_code, wrong.json()) == (403, refused)
    missing = sgp.post("/api/ura/verificaacesso/", json={"contrato": 10269})
    assert (missing.status_code, missing.json()) == (403, refused)
    wrong_app = sgp.post("/api/ura/chamado/", json={**CREDENTIALS, "app": "outro", "contrato": 10269})
    assert wrong_app.status_code == 403
    assert sgp.get("/sandbox/tickets").json() == []
    assert [c["status"] for c in calls(sgp)] == [403, 403, 403]
    assert all("token" not in c["parameters"] and "app" not in c["parameters"] for c in calls(sgp))


def test_paths_are_exact(sgp):
    assert ura(sgp, "consultacliente", cpfcnpj=MARIA).status_code == 404  # no slash: no redirect either


# fatura2via, pix, titulos --------------------------------------------------------------------------------------------


def test_fatura2via_with_several_contracts_needs_the_contract(sgp):
    assert ura(sgp, "fatura2via/", cpfcnpj=JOAO).json() == fixture("fatura2via.multiple-contracts.response.json")
    answer = ura(sgp, "fatura2via/", cpfcnpj=JOAO, contrato=17402, nao_gerar_os=1, faturas_abertas_todas=1).json()
    documented = fixture("fatura2via.response.json")
    assert answer["status"] == 1 and answer["contratoId"] == 17402
    assert set(answer) == set(documented) - {"protocolo"}  # nao_gerar_os=1: no ticket, no protocol
    assert [link["fatura"] for link in answer["links"]] == [64100, 64101]
    first = answer["links"][0]
    assert set(first) == set(documented["links"][0])
    assert first["valor"] > first["valor_original"] == 94.9 and first["multa"] == 1.9 and first["juros"] > 0
    assert first["codigopix"].startswith("000201") and len(first["linhadigitavel"]) == 47
    assert ura(sgp, "fatura2via/", cpfcnpj=MARIA, contrato=17402).json()["status"] == 0  # not hers
    latest = ura(sgp, "fatura2via/", cpfcnpj=JOAO, contrato=17402, nao_gerar_os=1).json()
    assert [link["fatura"] for link in latest["links"]] == [64101]  # without the flag: the most recent one only


def test_fatura2via_opens_a_ticket_unless_nao_gerar_os(sgp):
    quiet = ura(sgp, "fatura2via/", cpfcnpj=MARIA, nao_gerar_os=1).json()
    assert quiet["status"] == 1 and "protocolo" not in quiet
    noisy = ura(sgp, "fatura2via/", cpfcnpj=MARIA).json()
    assert noisy["protocolo"]
    tickets = sgp.get("/sandbox/tickets").json()
    assert [(t["origem"], t["protocolo"]) for t in tickets] == [("fatura2via", noisy["protocolo"])]
    logged = calls(sgp, "fatura2via")
    assert logged[0]["parameters"]["nao_gerar_os"] == "1" and "ticket_opened" not in logged[0]
    assert "nao_gerar_os" not in logged[1]["parameters"] and logged[1]["ticket_opened"] == noisy["protocolo"]


def test_fatura2via_nothing_open(sgp):
    answer = ura(sgp, "fatura2via/", cpfcnpj=FRANCISCA, nao_gerar_os=1).json()
    assert set(answer) == set(fixture("fatura2via.nothing-open.response.json"))
    assert answer["status"] == 0 and answer["links"] == [] and answer["contratoId"] == 18300


def test_empty_codigopix_is_served_by_pagamento_pix(sgp):
    link = ura(sgp, "fatura2via/", cpfcnpj=ANA, nao_gerar_os=1).json()["links"][0]
    assert link["codigopix"] == "" and link["fatura"] == 64210
    pix = ura(sgp, "pagamento/pix/64210", contrato=18110).json()
    assert set(pix) == set(fixture("pagamento-pix.response.json")) and pix["status"] == 1
    code = pix["pix"]
    assert code.startswith("000201") and code[-4:] == crc16(code[:-4]) and f"54{len(str(link['valor'])):02d}" in code
    assert ura(sgp, "pagamento/pix/64520", contrato=18520).json()["status"] == 0  # her provider has no PIX for it
    assert ura(sgp, "pagamento/pix/1", contrato=18110).json() == {"status": 0, "msg": "Fatura não encontrada"}
    assert calls(sgp, "pagamento/pix")[0]["parameters"] == {"contrato": "18110", "fatura": "64210"}


def test_pagamento_pix_wants_the_invoices_own_contract(sgp):
    assert ura(sgp, "pagamento/pix/64210").json() == {"status": 0, "msg": "Favor informar o id do contrato"}
    assert ura(sgp, "pagamento/pix/64210", contrato=10269).json() == {"status": 0, "msg": "Fatura não encontrada"}
    assert ura(sgp, "pagamento/pix/64210", contrato="018110").json()["status"] == 1
    refused = ura(sgp, "pagamento/pix/64210").json()
    assert set(refused) == set(fixture("fatura2via.multiple-contracts.response.json"))  # the SGP's refusal shape


def test_titulos_lists_open_and_paid_invoices(sgp):
    answer = ura(sgp, "titulos/", cpfcnpj=FRANCISCA).json()
    documented = fixture("titulos.response.json")
    assert set(answer) == set(documented) and set(answer["paginacao"]) == set(documented["paginacao"])
    assert [(t["id"], t["status"]) for t in answer["titulos"]] == [(64310, "pago")]
    assert set(answer["titulos"][0]) == set(documented["titulos"][0])
    assert answer["titulos"][0]["dataPagamento"] is not None
    opened = ura(sgp, "titulos/", contrato=17402, status="aberto").json()
    assert [t["id"] for t in opened["titulos"]] == [64100, 64101] and len(opened["titulos"][0]["codigoBarras"]) == 44
    page = ura(sgp, "titulos/", offset=1, limit=2).json()
    assert page["paginacao"]["total"] > 3 and len(page["titulos"]) == 2 and page["paginacao"]["parcial"] == 1


# verificaacesso, chamado, liberacaopromessa --------------------------------------------------------------------------


def test_verificaacesso_online_and_offline(sgp):
    online = ura(sgp, "verificaacesso/", contrato=17403).json()
    offline = ura(sgp, "verificaacesso/", contrato=10269).json()
    assert set(online) == set(fixture("verificaacesso.online.response.json")) and online["status"] == 1
    assert set(offline) == set(fixture("verificaacesso.offline.response.json"))
    assert (offline["status"], offline["staus"], offline["msg"]) == (0, 2, "Serviço Offline")
    assert ura(sgp, "verificaacesso/", cpfcnpj=MARIA).json()["contratoId"] == 10269  # one contract: by CPF too


def test_chamado_returns_a_new_protocol_each_time(sgp):
    first = ura(sgp, "chamado/", contrato=10269, ocorrenciatipo=101, conteudo="Sem internet desde ontem").json()
    second = sgp.post("/api/ura/chamado/", json={**CREDENTIALS, "contrato": 10269, "ocorrenciatipo": 102,
                                                 "conteudo": "Lentidão"}).json()
    assert set(first) == set(fixture("chamado.response.json"))
    assert first["status"] == second["status"] == 1 and first["protocolo"] != second["protocolo"]
    assert [t["protocolo"] for t in sgp.get("/sandbox/tickets").json()] == [first["protocolo"], second["protocolo"]]
    assert ura(sgp, "chamado/", contrato=10269, ocorrenciatipo=99, conteudo="x").json()["status"] == 0
    assert ura(sgp, "chamado/", contrato=1, ocorrenciatipo=101, conteudo="x").json()["status"] == 0


def test_ticket_types_are_listed_per_installation_and_chamado_takes_only_those(sgp):
    listed = sgp.get("/api/os/ocorrencia/tipo/list/", params=CREDENTIALS)
    assert listed.status_code == 200 and isinstance(listed.json(), list)
    assert set(listed.json()[0]) == set(fixture("ocorrencia-tipo-list.response.json")[0]) == {"id", "descricao",
                                                                                              "ativo"}
    assert {t["id"]: t["ativo"] for t in listed.json()}[1] is False
    veloz = sgp.get("/api/os/ocorrencia/tipo/list/", params=VELOZ).json()
    assert [t["id"] for t in veloz][:3] == [2301, 2302, 2303]  # the other provider's installation, its own ids
    assert sgp.get("/api/os/ocorrencia/tipo/list/").status_code == 403
    assert sgp.post("/api/os/ocorrencia/tipo/list/", data=CREDENTIALS).status_code == 405  # a GET listing
    for kind in (1, 2301, ""):  # inactive here; another installation's; none (the SGP's default 5, absent here)
        refused = ura(sgp, "chamado/", contrato=10269, ocorrenciatipo=kind, conteudo="x").json()
        assert (refused["status"], refused["msg"]) == (0, "Tipo de ocorrência inválido")
    assert sgp.get("/sandbox/tickets").json() == []
    opened = ura(sgp, "chamado/", contrato=10269, ocorrenciatipo=105, conteudo="x", contato_nome="Maria",
                 contato_telefone="(11) 91234-0001").json()
    [ticket] = sgp.get("/sandbox/tickets").json()
    assert (ticket["protocolo"], ticket["contato_nome"], ticket["contato_telefone"]) == (
        opened["protocolo"], "Maria", "(11) 91234-0001")
    assert [c["format"] for c in calls(sgp, "ocorrencia/tipo/list")][:2] == ["query", "query"]


def test_a_dataset_without_types_has_the_sgps_stock_one(tmp_path):
    plain = tmp_path / "plain.json"
    raw = json.loads((SGP_FIXTURES / "sandbox-dataset.example.json").read_text())
    raw.pop("ocorrencia_tipos")
    plain.write_text(json.dumps(raw))
    with serving(create_app(plain, extra_datasets=[])) as base, httpx.Client(base_url=base) as client:
        assert client.get("/api/os/ocorrencia/tipo/list/", params=CREDENTIALS).json() == [
            {"id": 5, "descricao": "OUTROS", "ativo": True}]
        assert ura(client, "chamado/", contrato=10269, conteudo="sem ocorrenciatipo").json()["status"] == 1


def test_verificaacesso_reports_maintenance_with_its_forecast_and_opens_the_occurrence(sgp):
    answer = ura(sgp, "verificaacesso/", contrato=19180).json()
    tomorrow = today() + timedelta(days=1)
    assert answer["status"] == 0 and "manutenção" in answer["msg"]
    assert f"Previsão de normalização: {tomorrow:%d/%m/%Y} às 14:00" in answer["msg"]
    assert set(answer) == set(fixture("verificaacesso.offline.response.json")) - {"staus"} | {"protocolo"}
    [ticket] = sgp.get("/sandbox/tickets").json()
    assert (ticket["origem"], ticket["protocolo"], ticket["contrato"]) == ("verificaacesso", answer["protocolo"],
                                                                           19180)
    beatriz = next(c for c in sgp.get("/sandbox/dataset").json()["clientes"] if c["nome"].startswith("BEATRIZ"))
    assert beatriz["contratos"][0]["manutencao"] is True


def test_liberacaopromessa_consumes_the_unlocks_then_refuses(sgp):
    granted = [ura(sgp, "liberacaopromessa/", contrato=18740).json() for _ in range(2)]
    assert set(granted[0]) == set(fixture("liberacaopromessa.response.json"))
    assert all(g["liberado"] is True and g["liberado_dias"] == 5 for g in granted)
    assert granted[0]["data_promessa"] == (today() + timedelta(days=5)).isoformat()
    assert "Login: antonia.gomes.praia" in granted[0]["msg"] and granted[0]["protocolo"] != granted[1]["protocolo"]
    refused = ura(sgp, "liberacaopromessa/", contrato=18740).json()
    assert set(refused) == set(fixture("liberacaopromessa.exhausted.response.json"))
    assert (refused["status"], refused["liberado"]) == (2, False)
    contract = ura(sgp, "consultacliente/", cpfcnpj=ANTONIA).json()["contratos"][0]
    assert contract["contratoStatus"] == 1 and contract["promessasPagamentoMes"] == 2  # unlocked
    assert ura(sgp, "verificaacesso/", contrato=18740).json()["status"] == 1
    listed = next(c for c in sgp.get("/sandbox/dataset").json()["clientes"] if c["cpfcnpj"] == ANTONIA)
    assert listed["contratos"][0]["promessas_disponiveis"] == 0
    sgp.post("/sandbox/reset")
    assert ura(sgp, "liberacaopromessa/", contrato=18740).json()["liberado"] is True  # reset restores them


# inspection and faults -----------------------------------------------------------------------------------------------


def test_calls_log_every_call_without_credentials(sgp):
    ura(sgp, "consultacliente/", cpfcnpj=MARIA)
    sgp.post("/api/ura/verificaacesso/", json={**CREDENTIALS, "contrato": 10269})
    logged = calls(sgp)
    assert [c["endpoint"] for c in logged] == ["/api/ura/consultacliente/", "/api/ura/verificaacesso/"]
    assert logged[0]["parameters"] == {"cpfcnpj": MARIA} and logged[1]["parameters"] == {"contrato": "10269"}
    assert all(c["status"] == 200 and c["time"].endswith("Z") for c in logged)
    assert sgp.delete("/sandbox/calls").json() == {"cleared": 2} and calls(sgp) == []


def test_error_faults_hit_the_matching_endpoint_only(sgp):
    sgp.post("/sandbox/faults", json={"count": 2, "mode": "error", "endpoint": "consultacliente"})
    sgp.post("/sandbox/faults", json={"count": 1, "mode": "error", "status": 503, "endpoint": "titulos"})
    assert ura(sgp, "verificaacesso/", contrato=10269).status_code == 200
    assert [ura(sgp, "consultacliente/", cpfcnpj=MARIA).status_code for _ in range(3)] == [500, 500, 200]
    assert ura(sgp, "titulos/").status_code == 503
    assert sgp.get("/sandbox/faults").json() == []
    assert [c["fault"] for c in calls(sgp, "consultacliente")] == ["error", "error", None]


def test_forbidden_fault_and_clearing_faults(sgp):
    sgp.post("/sandbox/faults", json={"count": 5, "mode": "forbidden"})
    refused = ura(sgp, "consultacliente/", cpfcnpj=MARIA)
    assert (refused.status_code, refused.json()) == (403, fixture("auth-error.response.json"))
    assert sgp.delete("/sandbox/faults").json() == {"cleared": 1}
    assert ura(sgp, "consultacliente/", cpfcnpj=MARIA).status_code == 200
    assert sgp.post("/sandbox/faults", json={"count": 1, "mode": "explode"}).status_code == 422


def test_timeout_fault_hangs(sgp):
    sgp.post("/sandbox/faults", json={"count": 1, "mode": "timeout", "endpoint": "liberacaopromessa"})
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        sgp.post("/api/ura/liberacaopromessa/", data={**CREDENTIALS, "contrato": "10269"}, timeout=1.0)
    assert 0.9 < time.monotonic() - started < 5
    assert calls(sgp, "liberacaopromessa")[0]["fault"] == "timeout"
    assert ura(sgp, "liberacaopromessa/", contrato=10269).json()["liberado"] is True  # the fault is used up


def test_dataset_inspection_lists_credentials_and_documents(sgp):
    listed = sgp.get("/sandbox/dataset").json()
    assert (listed["app"], listed["token"]) == (CREDENTIALS["app"], CREDENTIALS["token"])
    assert len(listed["clientes"]) == 15 and MARIA in [c["cpfcnpj"] for c in listed["clientes"]]
    joao = next(c for c in listed["clientes"] if c["cpfcnpj"] == JOAO)
    assert joao["documento"] == "31845726090" and joao["variante_live"] is True
    assert [c["faturas_abertas"] for c in joao["contratos"]] == [[64100, 64101], []]


# several providers on one server -------------------------------------------------------------------------------------

VELOZ = {"app": "veloz", "token": "veloz-sandbox-token"}
RENATA = "158.813.998-03"  # Veloz Fibra's customer, unknown to the main dataset


def test_the_second_providers_dataset_is_valid_and_distinct():
    main, veloz = load_dataset(BUILTIN_DATASET), load_dataset(VELOZ_DATASET)
    assert (veloz.app, veloz.token) == (VELOZ["app"], VELOZ["token"]) != (main.app, main.token)
    documents = [client.document for client in veloz.clientes]
    assert all((CPF() if len(d) == 11 else CNPJ()).validate(d) for d in documents)
    assert not set(documents) & {client.document for client in main.clientes}
    phones = {phone for dataset in (main, veloz) for client in dataset.clientes for phone in client.telefones}
    assert len(phones) == sum(len(c.telefones) for d in (main, veloz) for c in d.clientes)  # nobody in both
    contracts = [contract for client in veloz.clientes for contract in client.contratos]
    assert {c.status for c in contracts} >= {1, 4} and {c.online for c in contracts} == {True, False}


def test_each_call_is_answered_from_the_dataset_of_its_credentials(sgp):
    assert [d["app"] for d in sgp.get("/sandbox/datasets").json()] == ["niochat", "veloz"]
    renata = sgp.post("/api/ura/consultacliente/", data={**VELOZ, "cpfcnpj": RENATA}).json()
    assert [c["contratoId"] for c in renata["contratos"]] == [30101]
    assert ura(sgp, "consultacliente/", cpfcnpj=RENATA).json()["contratos"] == []  # not the main provider's
    assert sgp.post("/api/ura/consultacliente/", data={**VELOZ, "cpfcnpj": MARIA}).json()["contratos"] == []
    refused = sgp.post("/api/ura/consultacliente/", data={"app": "veloz", "token": "sandbox-token"})
    assert refused.status_code == 403  # one provider's app with the other's token
    assert [(c["dataset"], c["status"]) for c in calls(sgp)] == [
        ("veloz", 200), ("niochat", 200), ("veloz", 200), (None, 403)]
    assert len(sgp.get("/sandbox/calls", params={"app": "veloz"}).json()) == 2


def test_inspection_names_the_provider_with_app(sgp):
    sgp.post("/api/ura/chamado/", data={**VELOZ, "contrato": "30103", "ocorrenciatipo": "2301",
                                        "conteudo": "sem sinal"})
    assert sgp.get("/sandbox/tickets").json() == []
    assert [t["contrato"] for t in sgp.get("/sandbox/tickets", params={"app": "veloz"}).json()] == [30103]
    listed = sgp.get("/sandbox/dataset", params={"app": "veloz"}).json()
    assert listed["token"] == VELOZ["token"] and RENATA in [c["cpfcnpj"] for c in listed["clientes"]]
    assert sgp.get("/sandbox/dataset", params={"app": "nope"}).status_code == 404
    sgp.post("/sandbox/reset")
    assert sgp.get("/sandbox/tickets", params={"app": "veloz"}).json() == []  # reset forgets every provider's


def test_a_companion_with_the_main_datasets_app_is_left_out(tmp_path):
    with serving(create_app(BUILTIN_DATASET, extra_datasets=[BUILTIN_DATASET, VELOZ_DATASET])) as base:
        assert [d["app"] for d in httpx.get(f"{base}/sandbox/datasets").json()] == ["niochat", "veloz"]
    with serving(create_app(VELOZ_DATASET, extra_datasets=[])) as base:
        assert [d["app"] for d in httpx.get(f"{base}/sandbox/datasets").json()] == ["veloz"]


# the date of birth (issue #20 B) ---------------------------------------------------------------------------------


def test_every_person_of_the_built_in_datasets_has_a_date_of_birth_served_as_data_nascimento(sgp):
    for path in (BUILTIN_DATASET, VELOZ_DATASET):
        people = [c for c in load_dataset(path).clientes if len(c.document) == 11]
        assert people and all(c.data_nascimento for c in people), path.name
        raw = json.loads(path.read_text())["clientes"]
        assert all("nascimento" in c for c in raw if len(c["cpfcnpj"].replace(".", "").replace("-", "")) == 11)
    entry = ura(sgp, "consultacliente/", cpfcnpj=MARIA).json()["contratos"][0]
    assert entry["dataNascimento"] == fixture("consultacliente.response.json")["contratos"][0]["dataNascimento"]
    assert entry["endereco_cep"] == "01001-000"
    assert "dataNascimento" not in ura(sgp, "consultacliente/", cpfcnpj=JOAO).json()["contratos"][0]  # live shape


def test_the_date_of_birth_is_optional_and_read_under_either_name(tmp_path):
    base = json.loads((SGP_FIXTURES / "sandbox-dataset.example.json").read_text())
    assert [c.data_nascimento for c in load_dataset(SGP_FIXTURES / "sandbox-dataset.example.json").clientes] == [
        "1985-04-12", "1979-09-30", None]
    renamed = copy.deepcopy(base)
    renamed["clientes"][0]["data_nascimento"] = renamed["clientes"][0].pop("nascimento")
    without = copy.deepcopy(base)
    for client in without["clientes"]:
        client.pop("nascimento", None)
    for name, data in (("renamed", renamed), ("without", without)):
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    assert load_dataset(tmp_path / "renamed.json").clientes[0].data_nascimento == "1985-04-12"
    with serving(create_app(tmp_path / "without.json")) as url, httpx.Client(base_url=url) as client:
        entry = ura(client, "consultacliente/", cpfcnpj="52998224725").json()["contratos"][0]
        assert entry["dataNascimento"] is None  # loads, and answers as an SGP with the field empty
    bad = copy.deepcopy(base)
    bad["clientes"][0]["nascimento"] = "12/04/1985"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(DatasetError, match=r"clientes\[0\].nascimento"):
        load_dataset(tmp_path / "bad.json")
