"""The knowledge base over real HTTP on real PostgreSQL (issue #20): managers and admins keep it, agents read it,
refusals in Portuguese, and `/knowledge/search` answers as the bots do, from an index rebuilt on every change."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from niochat import knowledge_demo
from niochat.tables import knowledge_entries
from tests.support.desk import Desk, audit_rows

PLAN = {"category": "planos", "title": "Plano 900 Mega", "answer": "O plano 900 Mega custa R$ 179,90 por mês.",
        "keywords": ["valor", " preço ", "valor"]}


def _delete(desk: Desk, who: str, path: str):
    return desk.api.delete(f"/api/v1{path}", headers=desk.headers(who))


def test_managers_and_admins_keep_the_base_and_agents_read_it(desk: Desk, engine):
    for who in ("manager", "admin"):
        created = desk.post(who, "/knowledge", {**PLAN, "title": f"{PLAN['title']} {who}"})
        assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["keywords"] == ["valor", "preço"] and entry["is_active"] is True
    assert desk.post("agent", "/knowledge", PLAN).status_code == 403
    assert desk.patch("agent", f"/knowledge/{entry['id']}", {"answer": "grátis"}).status_code == 403
    assert _delete(desk, "agent", f"/knowledge/{entry['id']}").status_code == 403

    titles = [item["title"] for item in desk.get("agent", "/knowledge").json()]
    assert titles == ["Plano 300 Mega", "Plano 900 Mega admin", "Plano 900 Mega manager"]  # 300: full_tenant's
    assert [i["title"] for i in desk.get("agent", "/knowledge", params={"q": "PRECO"}).json()] == \
        ["Plano 900 Mega admin", "Plano 900 Mega manager"]  # in the keywords, accents ignored
    assert desk.get("agent", "/knowledge", params={"category": "faq"}).json() == []
    assert desk.get("agent", "/knowledge", params={"category": "outra"}).status_code == 422

    changed = desk.patch("manager", f"/knowledge/{entry['id']}", {"answer": "R$ 189,90 por mês.", "is_active": False})
    assert changed.status_code == 200 and changed.json()["answer"] == "R$ 189,90 por mês."
    active = desk.get("agent", "/knowledge", params={"include_inactive": "false"}).json()
    assert entry["id"] not in {item["id"] for item in active}
    assert audit_rows(engine, desk, "knowledge.update")[0].details["changed"] == "answer,is_active"

    assert _delete(desk, "manager", f"/knowledge/{entry['id']}").status_code == 204
    gone = _delete(desk, "manager", f"/knowledge/{entry['id']}")
    assert gone.status_code == 404 and gone.json()["detail"] == "Entrada da base de conhecimento não encontrada."
    assert desk.patch("admin", f"/knowledge/{uuid.uuid4()}", {"title": "x"}).status_code == 404
    assert len(audit_rows(engine, desk, "knowledge.create")) == 2


def test_refusals_say_what_is_wrong_in_portuguese(desk: Desk):
    places = desk.post("manager", "/knowledge", {**PLAN, "neighbourhoods": ["Centro"]})
    assert places.status_code == 422 and "categoria cobertura" in places.json()["detail"]
    cep = desk.post("manager", "/knowledge", {"category": "cobertura", "title": "Centro", "answer": "Sim.",
                                               "cep_prefixes": ["0100A"]})
    assert cep.status_code == 422 and "prefixo de CEP inválido" in cep.text
    for bad in ({**PLAN, "category": "outra"}, {**PLAN, "title": ""}, {**PLAN, "answer": "x" * 2001},
                {**PLAN, "keywords": ["x" * 41]}, {**PLAN, "extra": 1}):
        assert desk.post("manager", "/knowledge", bad).status_code == 422, bad
    coverage = desk.post("manager", "/knowledge", {"category": "cobertura", "title": "Centro", "answer": "Sim.",
                                                    "neighbourhoods": ["Sé"], "cep_prefixes": ["01001-"]})
    assert coverage.status_code == 201 and coverage.json()["cep_prefixes"] == ["01001"]
    moved = desk.patch("manager", f"/knowledge/{coverage.json()['id']}", {"category": "faq"})
    assert moved.status_code == 422 and "categoria cobertura" in moved.json()["detail"]
    assert desk.patch("manager", f"/knowledge/{coverage.json()['id']}", {"title": None}).status_code == 422


def test_search_answers_as_the_bots_and_follows_every_change(desk: Desk, engine):
    with engine.begin() as conn:
        assert knowledge_demo.seed(conn, desk.tenant_id, knowledge_demo.SAO_PAULO) == 0  # full_tenant has one
        conn.execute(knowledge_entries.delete().where(knowledge_entries.c.tenant_id == desk.tenant_id))
        written = knowledge_demo.seed(conn, desk.tenant_id, knowledge_demo.SAO_PAULO)
    assert written >= 30

    def ask(question: str) -> list[dict]:
        answer = desk.get("agent", "/knowledge/search", params={"question": question})
        assert answer.status_code == 200, answer.text
        return answer.json()["matches"]

    best = ask("qnto custa o plano de 700 mega?")[0]
    assert best["title"] == "Plano 700 Mega" and "R$ 149,90" in best["answer"]
    assert ask("vocês vendem geladeira?") == []

    with engine.connect() as conn:
        seven = conn.scalar(select(knowledge_entries.c.id).where(knowledge_entries.c.tenant_id == desk.tenant_id,
                                                                 knowledge_entries.c.title == "Plano 700 Mega"))
    desk.patch("manager", f"/knowledge/{seven}", {"answer": "O plano 700 Mega custa R$ 159,90 por mês."})
    assert "R$ 159,90" in ask("quanto custa o plano de 700 mega")[0]["answer"]  # the index was rebuilt
    desk.patch("manager", f"/knowledge/{seven}", {"is_active": False})
    assert all(m["title"] != "Plano 700 Mega" for m in ask("quanto custa o plano de 700 mega"))
    fridge = desk.post("manager", "/knowledge", {"category": "faq", "title": "Vendemos geladeira?",
                                                 "answer": "Não vendemos eletrodomésticos.",
                                                 "keywords": ["geladeira", "vendem"]}).json()
    assert ask("vocês vendem geladeira?")[0]["answer"] == "Não vendemos eletrodomésticos."
    _delete(desk, "admin", f"/knowledge/{fridge['id']}")
    assert ask("vocês vendem geladeira?") == []


def test_provisioning_seeds_each_demo_base_once_and_keeps_an_edited_one(database_url, engine, tmp_path):
    from niochat.provisioning import DemoTenant, provision
    from niochat.secrets import Keyring
    from niochat.settings import Settings
    from niochat.tables import tenants
    from tests.support.basics import TEST_SECRET, unique_slug

    spec = DemoTenant(slug=unique_slug("kb"), name="Provedor KB", timezone="America/Recife", users=(), channels={},
                      knowledge=knowledge_demo.RECIFE)
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, _env_file=None)

    def entries() -> list:
        with engine.connect() as conn:
            tenant_id = conn.scalar(select(tenants.c.id).where(tenants.c.slug == spec.slug))
            return conn.execute(select(knowledge_entries.c.title, knowledge_entries.c.neighbourhoods)
                                .where(knowledge_entries.c.tenant_id == tenant_id)).all()

    provision(database_url, settings, Keyring(TEST_SECRET), "senha-demo-123", None, (spec,))
    first = entries()
    assert len(first) >= 30 and any("Boa Viagem" in row.neighbourhoods for row in first)
    with engine.begin() as conn:  # a manager removed all but one entry
        conn.execute(knowledge_entries.delete().where(knowledge_entries.c.title != "Plano 300 Mega",
                                                      knowledge_entries.c.tenant_id.in_(
                                                          select(tenants.c.id).where(tenants.c.slug == spec.slug))))
    provision(database_url, settings, Keyring(TEST_SECRET), "senha-demo-123", None, (spec,))
    assert [row.title for row in entries()] == ["Plano 300 Mega"]
