"""CSAT through the real path: bot or agent closes -> survey after the delay -> the customer's answer read,
stored and thanked; the conversation stays closed. Counting, not timing."""

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from niochat.tables import audit_log, contacts, conversations, csat_requests, csat_responses, messages, users
from tests.support.fake_openai import create_app as create_fake_openai
from tests.support.servers import serving
from tests.support.stack import configure_model, start_stack

QUESTION = "😡 1 · 😕 2 · 😐 3 · 🙂 4 · 🤩 5"
ANSWERS = [
    ("5", 5),
    ("4", 4),
    ("1", 1),
    ("nota 4", 4),
    ("nota 10", 5),
    ("dou 3", 3),
    ("5 estrelas", 5),
    ("😡", 1),
    ("😕", 2),
    ("😐", 3),
    ("🙂", 4),
    ("🤩", 5),
    ("😀", 5),
    ("😞", 2),
    ("👍", 4),
    ("👎", 2),
    ("❤️", 5),
    ("foi ótimo", 5),
    ("excelente atendimento!", 5),
    ("muito bom", 5),
    ("gostei", 4),
    ("mais ou menos", 3),
    ("razoavel", 3),
    ("ruim", 2),
    ("péssimo, demorou demais", 1),
    ("horrivel", 1),
    ("nao gostei", 2),
    ("top demais", 5),
    ("4/5", 4),
    ("PERFEITO", 5),
    ("bom", 4),
    ("um lixo", 1),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, database_url, redis_url, engine):
    with ExitStack() as exits:
        result = start_stack(
            exits,
            tmp_path=tmp_path_factory.mktemp("csat"),
            database_url=database_url,
            redis_url=redis_url,
            engine=engine,
            csat_delay_seconds=1,
            csat_expiry_seconds=3600,  # a loaded machine must not expire a survey before its answer arrives
            sweep_interval_seconds=1,
        )
        result.start_worker()
        yield result


def _phone(index: int) -> str:
    return f"55119770{index:05d}"


def _texts(stack, phone):
    return [message["text"] for message in stack.sent_to(phone)]


def _wait(condition, timeout=90.0):  # a deadline for a loaded machine; a healthy run takes seconds
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _close_by_bot_and_get_survey(stack, phone):
    stack.customer_writes(phone, "obrigado, era só isso")
    _wait(lambda: any(QUESTION in text for text in _texts(stack, phone)))


def _request(engine, phone):
    with engine.connect() as conn:
        return conn.execute(
            select(csat_requests)
            .join(contacts, contacts.c.id == csat_requests.c.contact_id)
            .where(contacts.c.phone == phone)
        ).all()


@pytest.mark.slow
def test_every_answer_form_is_read_stored_and_thanked(stack, engine):
    def run(item):
        index, (answer, _) = item
        phone = _phone(index)
        _close_by_bot_and_get_survey(stack, phone)
        stack.customer_writes(phone, answer)
        stack.wait_for_replies(phone, 3)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(run, enumerate(ANSWERS)))
    for index, (answer, rating) in enumerate(ANSWERS):
        phone = _phone(index)
        (request,) = _request(engine, phone)
        with engine.connect() as conn:
            response = conn.execute(
                select(csat_responses).where(csat_responses.c.csat_request_id == request.id)
            ).one_or_none()
        assert response is not None, (answer, request.status, _texts(stack, phone))
        with engine.connect() as conn:
            conversation_count = conn.scalar(
                select(func.count())
                .select_from(conversations)
                .join(contacts, contacts.c.id == conversations.c.contact_id)
                .where(contacts.c.phone == phone)
            )
            status = conn.scalar(select(conversations.c.status).where(conversations.c.id == request.conversation_id))
        assert (request.status, response.rating, response.raw_text) == ("answered", rating, answer), answer
        assert status == "closed" and conversation_count == 1, "the answer does not reopen nor open a conversation"
        texts = _texts(stack, phone)
        assert QUESTION in texts[1] and "Fibra Teste" in texts[1]
        assert len(texts) == 3, texts


def test_a_low_rating_is_audited_for_the_team(stack, engine):
    phone = _phone(100)
    _close_by_bot_and_get_survey(stack, phone)
    stack.customer_writes(phone, "péssimo")
    stack.wait_for_replies(phone, 3)
    (request,) = _request(engine, phone)
    with engine.connect() as conn:
        entries = conn.execute(
            select(audit_log.c.details).where(
                audit_log.c.action == "csat.low_rating", audit_log.c.entity_id == str(request.conversation_id)
            )
        )
        assert [row.details for row in entries] == [{"rating": 1}]


def test_rating_with_a_new_request_is_recorded_and_the_request_answered(stack, engine):
    phone = _phone(101)
    _close_by_bot_and_get_survey(stack, phone)
    stack.customer_writes(phone, "nota 5, mas agora minha internet caiu")
    stack.wait_for_replies(phone, 4)
    texts = _texts(stack, phone)
    assert any("CPF" in text for text in texts[2:]), texts  # the new request is being handled
    (request,) = _request(engine, phone)
    with engine.connect() as conn:
        rating = conn.scalar(select(csat_responses.c.rating).where(csat_responses.c.csat_request_id == request.id))
        statuses = (
            conn.execute(
                select(conversations.c.status)
                .join(contacts, contacts.c.id == conversations.c.contact_id)
                .where(contacts.c.phone == phone)
                .order_by(conversations.c.created_at)
            )
            .scalars()
            .all()
        )
    assert rating == 5 and statuses == ["closed", "bot"]


def test_unreadable_answer_gets_one_clarifying_question_then_gives_up(stack, engine):
    phone = _phone(102)
    _close_by_bot_and_get_survey(stack, phone)
    stack.customer_writes(phone, "hmm")
    stack.wait_for_replies(phone, 3)
    assert "1 a 5" in _texts(stack, phone)[2]
    stack.customer_writes(phone, "sei la")
    time.sleep(2)
    (request,) = _request(engine, phone)
    assert request.status == "unanswered" and len(_texts(stack, phone)) == 3


def _agent_token(stack, engine) -> str:
    from niochat import accounts
    from tests.support.factories import PASSWORD

    email = f"gerente@{stack.tenant_slug}.test"
    with engine.begin() as conn:
        if conn.scalar(select(func.count()).select_from(users).where(users.c.email == email)) == 0:
            accounts.create_user(conn, stack.tenant_slug, email, "Gerente", PASSWORD, "manager")
    response = httpx.post(f"{stack.api_url}/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    return response.json()["access_token"]


def _open_conversation(stack, engine, phone):
    stack.customer_writes(phone, "oi")
    stack.wait_for_replies(phone, 1)
    with engine.connect() as conn:
        return conn.scalar(
            select(conversations.c.id)
            .join(contacts, contacts.c.id == conversations.c.contact_id)
            .where(contacts.c.phone == phone)
        )


def test_closed_twice_asks_once(stack, engine):
    phone = _phone(103)
    conversation_id = _open_conversation(stack, engine, phone)
    headers = {"Authorization": f"Bearer {_agent_token(stack, engine)}"}
    base = f"{stack.api_url}/api/v1/conversations/{conversation_id}"
    assert httpx.post(f"{base}/close", headers=headers).status_code == 200
    assert httpx.post(f"{base}/reopen", headers=headers).status_code == 200
    assert httpx.post(f"{base}/close", headers=headers).status_code == 200
    _wait(lambda: any(QUESTION in text for text in _texts(stack, phone)))
    time.sleep(2.5)
    assert sum(QUESTION in text for text in _texts(stack, phone)) == 1
    assert len(_request(engine, phone)) == 1


def test_reopened_before_the_survey_is_due_it_is_skipped(stack, engine):
    phone = _phone(120)
    conversation_id = _open_conversation(stack, engine, phone)
    headers = {"Authorization": f"Bearer {_agent_token(stack, engine)}"}
    base = f"{stack.api_url}/api/v1/conversations/{conversation_id}"
    assert httpx.post(f"{base}/close", headers=headers).status_code == 200
    assert httpx.post(f"{base}/reopen", headers=headers).status_code == 200  # still open when the survey is due
    _wait(lambda: _request(engine, phone) and _request(engine, phone)[0].status != "scheduled")
    assert _request(engine, phone)[0].status == "skipped_new_conversation"
    assert not any(QUESTION in text for text in _texts(stack, phone))


def test_outside_the_24h_window_the_survey_is_skipped(stack, engine):
    phone = _phone(104)
    conversation_id = _open_conversation(stack, engine, phone)
    with engine.begin() as conn:
        conn.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(last_inbound_at=func.now() - func.make_interval(0, 0, 0, 0, 25))
        )
    headers = {"Authorization": f"Bearer {_agent_token(stack, engine)}"}
    assert (
        httpx.post(f"{stack.api_url}/api/v1/conversations/{conversation_id}/close", headers=headers).status_code == 200
    )
    _wait(lambda: _request(engine, phone) and _request(engine, phone)[0].status != "scheduled")
    assert _request(engine, phone)[0].status == "skipped_window"
    assert not any(QUESTION in text for text in _texts(stack, phone))


def test_unanswered_survey_expires(stack, engine):
    phone = _phone(105)
    _close_by_bot_and_get_survey(stack, phone)
    (request,) = _request(engine, phone)
    with engine.begin() as conn:  # its hour has gone by
        conn.execute(update(csat_requests).where(csat_requests.c.id == request.id)
                     .values(expires_at=func.now() - timedelta(seconds=1)))
    _wait(lambda: _request(engine, phone)[0].status == "expired", timeout=30)


def test_worker_restart_between_close_and_send_still_sends_once(stack, engine):
    phone = _phone(106)
    conversation_id = _open_conversation(stack, engine, phone)
    stack.stop_workers()
    headers = {"Authorization": f"Bearer {_agent_token(stack, engine)}"}
    assert (
        httpx.post(f"{stack.api_url}/api/v1/conversations/{conversation_id}/close", headers=headers).status_code == 200
    )
    time.sleep(1.5)  # the survey is due while no worker runs
    stack.start_worker()
    _wait(lambda: any(QUESTION in text for text in _texts(stack, phone)))
    time.sleep(2.5)
    assert sum(QUESTION in text for text in _texts(stack, phone)) == 1


def test_a_quiet_customer_is_closed_by_inactivity_and_surveyed(stack, engine):
    from niochat.tables import tenants

    with engine.begin() as conn:
        conn.execute(
            update(tenants).where(tenants.c.id == stack.tenant_id).values(settings={"auto_close_minutes": 0.05})
        )  # 3 s, for the test
    try:
        phone = _phone(107)
        stack.customer_writes(phone, "oi")  # greeted with the menu, then silence
        _wait(lambda: any(QUESTION in text for text in _texts(stack, phone)), timeout=30)
        (request,) = _request(engine, phone)
        with engine.connect() as conn:
            conv = conn.execute(select(conversations).where(conversations.c.id == request.conversation_id)).one()
        assert (conv.status, conv.closed_by, conv.close_reason) == ("closed", "system", "inactivity")
    finally:
        with engine.begin() as conn:
            conn.execute(update(tenants).where(tenants.c.id == stack.tenant_id).values(settings={}))


@pytest.fixture(scope="module")
def voice_stack(stack, tmp_path_factory, database_url, redis_url, engine):
    """A second tenant with a model that transcribes (the fake OpenAI-compatible server); the module's worker,
    started with the short survey delay, serves both tenants' jobs."""
    with ExitStack() as exits:
        model_url = exits.enter_context(serving(create_fake_openai()))
        result = start_stack(exits, tmp_path=tmp_path_factory.mktemp("csat-voice"), database_url=database_url,
                             redis_url=redis_url, engine=engine, csat_delay_seconds=1)
        configure_model(engine, result.tenant_id, f"{model_url}/v1")
        yield result


def test_a_voice_note_answers_the_survey(voice_stack, stack, engine):
    phone = _phone(130)
    conversation_id = _open_conversation(voice_stack, engine, phone)
    headers = {"Authorization": f"Bearer {_agent_token(voice_stack, engine)}"}
    assert httpx.post(f"{voice_stack.api_url}/api/v1/conversations/{conversation_id}/close",
                      headers=headers).status_code == 200
    _wait(lambda: any(QUESTION in text for text in _texts(voice_stack, phone)))
    asked = len(voice_stack.sent_to(phone))
    said = "Nota 5, gostei muito do atendimento."
    voice_stack.customer_sends(phone, "audio", text=said)
    voice_stack.wait_for_replies(phone, asked + 1)  # thanked
    (request,) = _request(engine, phone)
    with engine.connect() as conn:
        response = conn.execute(
            select(csat_responses).where(csat_responses.c.csat_request_id == request.id)
        ).one()
        voice = conn.execute(
            select(messages).where(messages.c.conversation_id == conversation_id, messages.c.content_type == "audio")
        ).one()
        status = conn.scalar(select(conversations.c.status).where(conversations.c.id == conversation_id))
    assert (request.status, response.rating, response.raw_text) == ("answered", 5, said)
    assert (voice.transcript, voice.status, status) == (said, "processed", "closed")
