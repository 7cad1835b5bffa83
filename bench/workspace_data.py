"""The workspace benchmark's tenant: open and waiting conversations over several teams, agents, channels and
labels, closed ones behind them, and their messages in Portuguese, generated inside PostgreSQL (set-based
INSERT ... SELECT generate_series) and ANALYZEd.

Texts are what customers of an internet provider write and what the bot and agents answer ("segunda via",
"internet caiu", "boleto", names with and without accents, CPFs masked as the product stores them,
protocols), picked per message by its number, so every run generates the same words. The two people who log
in (an agent, a manager) are created with real passwords; the other agents only hold conversations.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench.report import log
from niochat.database import libpq_url

SLUG = "bench-workspace"
PASSWORD = "bench-workspace-senha-1"
AGENT_EMAIL = f"agente@{SLUG}.test"
MANAGER_EMAIL = f"supervisora@{SLUG}.test"
TEAMS = (("suporte", "Suporte técnico"), ("financeiro", "Financeiro"), ("comercial", "Comercial"),
         ("cancelamento", "Retenção"))
CHANNELS = 3
LABELS = (("Urgente", "#d64545"), ("Sem conexão", "#e8a33d"), ("2ª via", "#3d8be8"), ("Cancelamento", "#8e44ad"),
          ("Visita técnica", "#2e9e6a"), ("Retornar", "#7f8c8d"), ("VIP", "#c0392b"), ("Fibra", "#16a085"))
SEED_FILE = "workspace-seed.json"

FIRST_NAMES = ("João", "José", "Antônio", "Márcia", "Conceição", "Sebastião", "Luís", "Lúcia", "Fábio", "Vitória",
               "Ana", "Maria", "Francisco", "Carlos", "Paulo", "Pedro", "Lucas", "Juliana", "Fernanda", "Patrícia",
               "Aline", "Rafael", "Bruno", "Camila", "Letícia", "Gabriel", "Raimundo", "Tereza", "Cícero", "Jéssica")
SURNAMES = ("Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
            "Conceição", "Araújo", "Ribeiro", "Carvalho", "Gonçalves", "Magalhães", "Simões", "Assunção", "Brandão",
            "Falcão")
AREA_CODES = (11, 21, 31, 41, 48, 51, 61, 71, 81, 85)
CUSTOMER_TEXTS = (
    "Oi, boa tarde! Preciso da segunda via do boleto",
    "Bom dia, a internet caiu aqui em casa desde ontem à noite",
    "Meu CPF é {cpf}",
    "A conexão está muito lenta, não consigo nem abrir o WhatsApp direito",
    "O roteador está com a luz vermelha piscando",
    "Já reiniciei o modem três vezes e continua sem sinal",
    "Quero saber o valor da fatura deste mês",
    "Paguei o boleto ontem pelo Pix, quando a internet volta?",
    "Vocês podem mandar um técnico amanhã de manhã?",
    "Boa noite, meu nome é {nome}, sou cliente há dois anos",
    "O wi-fi não aparece no celular, só no computador",
    "Qual o número do meu protocolo?",
    "Quero mudar de plano para 500 mega",
    "Estou sem internet e trabalho em home office, é urgente",
    "Obrigado pela ajuda!",
    "ok",
    "Meu endereço é Rua das Acácias, {numero}, Jardim São José",
    "A fibra foi cortada aqui na rua, tem um poste caído",
    "Não recebi o boleto por e-mail este mês",
    "Quero cancelar o contrato, a internet cai toda hora",
)
REPLY_TEXTS = (
    "Olá, {nome}! Sou a assistente virtual da Fibra Bench. Como posso ajudar?",
    "Para continuar, me informe o CPF do titular do contrato.",
    "Encontrei seu contrato. A segunda via do boleto com vencimento em {dia}/12 foi enviada.",
    "Seu protocolo de atendimento é {protocolo}.",
    "Identificamos uma instabilidade na sua região. A previsão de normalização é de 2 horas.",
    "Vou transferir você para um dos nossos atendentes, só um momento.",
    "Oi {nome}, aqui é do suporte técnico. Pode desligar o roteador da tomada por 30 segundos?",
    "A conexão foi liberada em confiança por 3 dias.",
    "Agendamos a visita técnica para amanhã entre 8h e 12h.",
    "Sua fatura de R$ {numero},90 está em aberto.",
    "Consegui verificar aqui: sua conexão está online agora.",
    "Posso ajudar em algo mais?",
)


@dataclass(frozen=True)
class Size:
    conversations: int  # open and waiting
    closed: int
    messages: int
    agents: int


@dataclass(frozen=True)
class Seeded:
    """What the measurements need of the seeded tenant (kept in the data dir, to reuse the data)."""

    size: dict[str, int]
    tenant_id: str
    channel_id: str  # the one the webhooks come by
    instance: str
    channel_token: str
    webhook_key: str
    agent_email: str
    manager_email: str
    seconds: float

    def save(self, data_dir: Path) -> None:
        (data_dir / SEED_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, data_dir: Path, size: Size) -> Seeded | None:
        """The data dir's tenant if it was seeded with this size."""
        try:
            found = cls(**json.loads((data_dir / SEED_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None
        return found if found.size == asdict(size) else None


def _array(values) -> str:
    return "array[" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]"


# %(...)s are bound client-side (several statements in one execute).
PEOPLE_SQL = f"""
create temporary table w_first as select n - 1 as n, v from unnest({_array(FIRST_NAMES)}) with ordinality t(v, n);
create temporary table w_last as select n - 1 as n, v from unnest({_array(SURNAMES)}) with ordinality t(v, n);
create temporary table w_teams as
    select row_number() over (order by slug) - 1 as n, id from teams where tenant_id = %(tenant)s;
create temporary table w_channels as
    select row_number() over (order by instance) - 1 as n, id from channels where tenant_id = %(tenant)s;

insert into users (tenant_id, email, name, password_hash, role)
select %(tenant)s, 'agente' || a || '@{SLUG}.test', f.v || ' ' || l.v, 'x', 'agent'
from generate_series(0, %(agents)s - 1) a
join w_first f on f.n = (a * 7) %% {len(FIRST_NAMES)} join w_last l on l.n = (a * 3) %% {len(SURNAMES)};
create temporary table w_agents as
    select row_number() over (order by email) - 1 as n, id from users
    where tenant_id = %(tenant)s and role = 'agent' and password_hash = 'x';
insert into team_members (tenant_id, team_id, user_id)
select %(tenant)s, t.id, a.id from w_agents a join w_teams t on t.n = a.n %% %(teams)s;

insert into labels (tenant_id, name, color)
select %(tenant)s, name, color
from unnest({_array(n for n, _ in LABELS)}, {_array(c for _, c in LABELS)}) t(name, color);
create temporary table w_labels as
    select row_number() over (order by name) - 1 as n, id from labels where tenant_id = %(tenant)s;
"""

# Conversation n's team is n %% teams; an agent's team is theirs %% teams, so an open conversation is held by an
# agent of its team, and those with n %% 50 = 5 (open ones) by the logged-in agent. Four in ten are waiting (one in
# eight of those in no team's queue), the rest open.
CONVERSATIONS_SQL = f"""
insert into contacts (tenant_id, phone, name, document_masked, created_at, updated_at)
select %(tenant)s,
       '55' || ({_array(AREA_CODES)})[1 + i %% {len(AREA_CODES)}] || '9' || lpad(i::text, 8, '0'),
       f.v || ' ' || l.v,
       case when i %% 5 < 3 then '***.' || lpad((i * 37 %% 1000)::text, 3, '0') || '.'
                                 || lpad((i * 91 %% 1000)::text, 3, '0') || '-**' end,
       now() - interval '200 days', now() - (i %% 90) * interval '1 day'
from generate_series(0, %(conversations)s - 1) i
join w_first f on f.n = (i * 7 + i / 30) %% {len(FIRST_NAMES)} join w_last l on l.n = (i * 13) %% {len(SURNAMES)};
create temporary table w_contacts as
    select row_number() over (order by phone) - 1 as n, id, name from contacts where tenant_id = %(tenant)s;

-- numbered 0..conversations-1 (open and waiting), then the closed ones: each with its contact (n %% conversations)
create temporary table w_plan as
select i as n, i < %(conversations)s as active,
       case when i >= %(conversations)s then 'closed' when i %% 10 < 4 then 'waiting' else 'open' end as status,
       case when i >= %(conversations)s
            then now() - interval '3 days' - (i * 7919 %% (86400 * 85)) * interval '1 second'
            else now() - (i * 7919 %% (86400 * 2)) * interval '1 second' - interval '1 hour' end as created
from generate_series(0, %(conversations)s + %(closed)s - 1) i;

insert into conversations (tenant_id, channel_id, contact_id, status, assignee_id, team_id, handoff_reason,
    created_at, first_bot_reply_at, handoff_at, assigned_at, first_human_reply_at, closed_at, closed_by,
    bot_state, updated_at)
select %(tenant)s, ch.id, ct.id, p.status,
       case when p.status = 'waiting' or (p.status = 'closed' and p.n %% 4 = 0) then null
            when p.n %% 50 = 5 then %(agent)s else ag.id end,
       case when p.status = 'waiting' and p.n %% 20 = 0 then null else tm.id end,
       case when p.status <> 'closed' or p.n %% 4 <> 0 then 'customer_asked' end,
       p.created, p.created + interval '3 seconds',
       case when p.status <> 'closed' or p.n %% 4 <> 0 then p.created + interval '2 minutes' end,
       case when p.status = 'open' or (p.status = 'closed' and p.n %% 4 <> 0)
            then p.created + interval '4 minutes' end,
       case when p.status = 'open' or (p.status = 'closed' and p.n %% 4 <> 0)
            then p.created + interval '5 minutes' end,
       case when p.status = 'closed' then p.created + interval '2 hours' end,
       case when p.status = 'closed' then (case when p.n %% 4 = 0 then 'bot' else 'agent' end) end,
       case when p.n %% 3 = 0 then jsonb_build_object('ticket_protocol', '2026' || lpad(p.n::text, 8, '0'))
            else '{{}}'::jsonb end,
       now()
from w_plan p
join w_contacts ct on ct.n = p.n %% %(conversations)s
join w_channels ch on ch.n = p.n %% %(channels)s
join w_teams tm on tm.n = p.n %% %(teams)s
join w_agents ag on ag.n = ((p.n / %(teams)s) %% greatest(1, %(agents)s / %(teams)s)) * %(teams)s + p.n %% %(teams)s;

create temporary table w_conv as
select row_number() over (order by c.created_at, c.id) - 1 as n, c.id, c.channel_id, c.created_at, c.assignee_id,
       c.bot_state ->> 'ticket_protocol' as protocol, split_part(ct.name, ' ', 1) as first_name
from conversations c join contacts ct on ct.id = c.contact_id where c.tenant_id = %(tenant)s;

insert into conversation_labels (tenant_id, conversation_id, label_id)
select %(tenant)s::uuid, c.id, l.id from w_conv c join w_labels l on l.n = c.n %% {len(LABELS)} where c.n %% 3 = 0
union all
select %(tenant)s::uuid, c.id, l.id from w_conv c join w_labels l on l.n = (c.n + 3) %% {len(LABELS)}
where c.n %% 7 = 0;
"""

# Message k belongs to conversation k %% total and is its (k / total)-th: customers write the even ones, the bot
# (or the agent, once one holds the conversation) the odd ones, 40 s apart.
MESSAGES_SQL = f"""
insert into messages (tenant_id, conversation_id, channel_id, direction, sender_kind, sender_user_id,
                      provider_message_id, content_type, text, status, created_at, updated_at)
select %(tenant)s, c.id, c.channel_id,
       case when pos %% 2 = 0 then 'inbound' else 'outbound' end,
       case when pos %% 2 = 0 then 'customer' when c.assignee_id is not null and pos > 5 then 'agent' else 'bot' end,
       case when pos %% 2 = 1 and pos > 5 then c.assignee_id end,
       case when pos %% 2 = 0 then 'bench-' || k end,
       'text',
       replace(replace(replace(replace(replace(
           case when pos %% 2 = 0 then ({_array(CUSTOMER_TEXTS)})[1 + (k * 7 + pos) %% {len(CUSTOMER_TEXTS)}]
                else ({_array(REPLY_TEXTS)})[1 + (k * 5 + pos) %% {len(REPLY_TEXTS)}] end,
           '{{nome}}', c.first_name),
           '{{cpf}}', '***.' || lpad((k * 37 %% 1000)::text, 3, '0') || '.' || lpad((k * 91 %% 1000)::text, 3, '0')
                      || '-**'),
           '{{protocolo}}', coalesce(c.protocol, '2026' || lpad((k %% 99999999)::text, 8, '0'))),
           '{{dia}}', lpad((1 + k %% 28)::text, 2, '0')),
           '{{numero}}', (10 + k %% 990)::text),
       case when pos %% 2 = 0 then 'processed' else 'delivered' end,
       c.created_at + pos * interval '40 seconds', now()
from (select k, k %% %(total)s as n, k / %(total)s as pos from generate_series(0, %(messages)s - 1) k) g
join w_conv c on c.n = g.n;
"""

FINISH_SQL = """
update conversations c set last_message_at = m.last_at, last_inbound_at = m.last_in, updated_at = now()
from (select conversation_id, max(created_at) as last_at,
             max(created_at) filter (where direction = 'inbound') as last_in
      from messages where tenant_id = %(tenant)s group by conversation_id) m
where c.id = m.conversation_id;
"""

# migration 0016's index, dropped while the rows go in: one GIN build instead of a million insertions
SEARCH_INDEX = ("create index messages_search_idx on messages "
                "using gin (to_tsvector('portuguese'::regconfig, niochat_unaccent_pt(text)))")


def seed(database_url: str, size: Size, sandbox_url: str, keyring, public_url: str) -> Seeded:
    """The tenant, its people and channels (niochat.accounts, as an operator creates them), then the rows."""
    import time

    from niochat import accounts
    from niochat.database import sync_engine

    started = time.perf_counter()
    engine = sync_engine(database_url)
    try:
        with engine.begin() as conn:
            tenant_id = accounts.create_tenant(conn, SLUG, "Fibra Bench Workspace")
            for slug, name in TEAMS:
                accounts.create_team(conn, SLUG, slug, name)
            token = f"token-{secrets.token_hex(8)}"
            created = [accounts.create_channel(conn, keyring, public_url, SLUG, "uazapi", f"WhatsApp {n + 1}",
                                               sandbox_url, f"{SLUG}-{n}", token if n == 0 else f"token-{n}")
                       for n in range(CHANNELS)]
            agent = accounts.create_user(conn, SLUG, AGENT_EMAIL, "Agente Bench", PASSWORD, "agent",
                                         (TEAMS[0][0], TEAMS[1][0]))
            accounts.create_user(conn, SLUG, MANAGER_EMAIL, "Supervisora Bench", PASSWORD, "manager")
    finally:
        engine.dispose()
    params = {"tenant": str(tenant_id), "agent": str(agent), "agents": size.agents, "teams": len(TEAMS),
              "channels": CHANNELS, "conversations": size.conversations, "closed": size.closed,
              "messages": size.messages, "total": size.conversations + size.closed}
    with psycopg.connect(libpq_url(database_url), cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute("set maintenance_work_mem = '256MB'")
        for label, sql in (("people", PEOPLE_SQL), ("conversations", CONVERSATIONS_SQL)):
            _timed(conn, label, sql, params)
        conn.execute("drop index if exists messages_search_idx")
        _timed(conn, f"{size.messages} messages", MESSAGES_SQL, params)
        _timed(conn, "last message times", FINISH_SQL, params)
        _timed(conn, "search index", SEARCH_INDEX, {})
        conn.commit()
        conn.autocommit = True
        _timed(conn, "analyze", "analyze", {})
    return Seeded(asdict(size), str(tenant_id), str(created[0].id), f"{SLUG}-0", token,
                  created[0].webhook_key, AGENT_EMAIL, MANAGER_EMAIL, round(time.perf_counter() - started, 1))


def _timed(conn, label: str, sql: str, params: dict[str, Any]) -> None:
    import time

    started = time.perf_counter()
    conn.execute(sql, params)
    log(f"seeded {label} in {time.perf_counter() - started:.1f}s")


def counts(database_url: str, tenant_id: str) -> dict[str, int]:
    tables = ("contacts", "conversations", "messages", "conversation_labels", "users", "teams", "channels")
    with psycopg.connect(libpq_url(database_url)) as conn:
        found = {t: conn.execute(f"select count(*) from {t} where tenant_id = %s", (tenant_id,)).fetchone()[0]
                 for t in tables}
        found["active_conversations"] = conn.execute(
            "select count(*) from conversations where tenant_id = %s and status in ('open', 'waiting')",
            (tenant_id,)).fetchone()[0]
    return found


def waiting_customers(database_url: str, seeded: Seeded, team_slug: str, count: int) -> list[tuple[str, str]]:
    """(phone, conversation id) of customers waiting in `team_slug`'s queue on the webhooks' channel."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute(
            "select ct.phone, c.id::text from conversations c join contacts ct on ct.id = c.contact_id "
            "join teams t on t.id = c.team_id where c.tenant_id = %s and c.channel_id = %s and c.status = 'waiting' "
            "and t.slug = %s order by random() limit %s",
            (seeded.tenant_id, seeded.channel_id, team_slug, count)).fetchall()
    return [(phone, conversation_id) for phone, conversation_id in rows]


def search_terms(database_url: str, seeded: Seeded) -> dict[str, str]:
    """Digits that exist in the data: a phone's middle, a protocol, a masked CPF's visible digits."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        phone = conn.execute("select phone from contacts where tenant_id = %s order by phone offset 7 limit 1",
                             (seeded.tenant_id,)).fetchone()[0]
        protocol = conn.execute(
            "select bot_state ->> 'ticket_protocol' from conversations where tenant_id = %s "
            "and bot_state ? 'ticket_protocol' order by id limit 1", (seeded.tenant_id,)).fetchone()[0]
        document = conn.execute(
            "select document_masked from contacts where tenant_id = %s and document_masked is not null "
            "order by phone offset 3 limit 1", (seeded.tenant_id,)).fetchone()[0]
    return {"phone": phone[4:11], "protocol": protocol, "document": document[4:11]}


def point_channel_at(database_url: str, seeded: Seeded, sandbox_url: str) -> None:
    """A kept data set's channel speaks to this run's WhatsApp sandbox."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute("update channels set base_url = %s where id = %s", (sandbox_url, seeded.channel_id))
