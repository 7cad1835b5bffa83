"""Benchmark of the analytics pipeline: full extract-load + dbt build, then an incremental run with 1% new rows.

    .venv/bin/python bench/pipeline.py            # 100k conversations, 1M messages, 50 tenants
    .venv/bin/python bench/pipeline.py --quick    # 2k conversations, 20k messages, 5 tenants

Data is generated inside PostgreSQL (generate_series) into a fresh operational database, like the engine would
leave it (bot replies, handoffs, agent replies, closes, tool calls, CSAT); the warehouse is a fresh database on
the same server. The server is --pg-url (a server URL; databases are created and dropped) or an embedded
pgserver in a temporary directory. Prints rows/s and the incremental/full ratio; writes bench/results/pipeline.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.dbt_command import run_dbt  # noqa: E402
from ingest.export import export_tenant  # noqa: E402
from ingest.sync import sync  # noqa: E402
from niochat import migrate  # noqa: E402
from niochat.database import drop_database, ensure_database, libpq_url  # noqa: E402

RESULTS = ROOT / "bench" / "results"

TENANTS_SQL = """
insert into tenants (slug, name, timezone)
select 'bench-' || t, 'Provedor ' || t,
       (array['America/Sao_Paulo', 'America/Manaus', 'America/Fortaleza', 'America/Cuiaba'])[1 + t %% 4]
from generate_series(1, %(tenants)s) t;

insert into teams (tenant_id, slug, name) select id, 'suporte', 'Suporte' from tenants;
insert into users (tenant_id, email, name, password_hash, role)
select id, 'agente@' || slug || '.test', 'Agente', 'x', 'agent' from tenants;
insert into channels (tenant_id, provider, name, base_url, instance, token_encrypted, webhook_key_sha256,
                      webhook_key_hint)
select id, 'uazapi', 'WhatsApp', 'http://127.0.0.1:8100', slug, 'x', md5(random()::text) || md5(random()::text),
       'x'
from tenants;
"""

# Conversations numbered from %(first)s; each tenant gets every %(tenants)s-th one. Contacts are one per
# conversation number within a tenant, so the one-active-conversation-per-contact rule always holds.
CONVERSATIONS_SQL = """
create temporary table bench_tenants as
select row_number() over (order by t.slug) - 1 as n, t.id as tenant_id, c.id as channel_id, u.id as agent_id,
       tm.id as team_id
from tenants t join channels c on c.tenant_id = t.id join users u on u.tenant_id = t.id
join teams tm on tm.tenant_id = t.id;

insert into contacts (tenant_id, phone, name, updated_at)
select b.tenant_id, (5511900000000 + i)::text, 'Cliente ' || i,
       case when %(historical)s then timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute' else now() end
from generate_series(%(first)s, %(last)s) i join bench_tenants b on b.n = i %% %(tenants)s;

insert into conversations (tenant_id, channel_id, contact_id, status, assignee_id, team_id, closed_by,
    created_at, first_bot_reply_at, handoff_at, first_human_reply_at, closed_at, last_message_at, is_generated,
    updated_at)
select b.tenant_id, b.channel_id, ct.id,
       case when i %% 50 = 0 then 'bot' when i %% 50 = 1 then 'waiting' else 'closed' end,
       case when handed and i %% 50 <> 1 then b.agent_id end,
       case when handed then b.team_id end,
       case when i %% 50 > 1 then (case when handed then 'agent' else 'bot' end) end,
       created, created + interval '2 seconds' + (i %% 7) * interval '1 second',
       case when handed then created + interval '3 minutes' end,
       case when handed and i %% 50 <> 1 then created + interval '3 minutes' + (i %% 11) * interval '20 seconds' end,
       case when i %% 50 > 1 then created + interval '5 minutes' + (i %% 13) * interval '1 minute' end,
       created + interval '5 minutes', true,
       case when %(historical)s then created + interval '1 hour' else now() end
from (
    select i, i %% 10 < 3 as handed,
           timestamptz '2026-01-01 00:00:00+00' + (i * 7919 %% (90 * 86400)) * interval '1 second' as created
    from generate_series(%(first)s, %(last)s) i
) g
join bench_tenants b on b.n = g.i %% %(tenants)s
join contacts ct on ct.tenant_id = b.tenant_id and ct.phone = (5511900000000 + g.i)::text;

insert into messages (tenant_id, conversation_id, channel_id, direction, sender_kind, sender_user_id, text, status,
                      created_at, updated_at)
select c.tenant_id, c.id, c.channel_id,
       case when k %% 2 = 1 then 'inbound' else 'outbound' end,
       case when k %% 2 = 1 then 'customer' when c.first_human_reply_at is not null and k > 4 then 'agent'
            else 'bot' end,
       case when k %% 2 = 0 and c.first_human_reply_at is not null and k > 4 then c.assignee_id end,
       case when k %% 2 = 1 then 'mensagem do cliente ' || k else 'resposta ' || k end,
       case when k %% 2 = 1 then 'processed' else 'delivered' end,
       c.created_at + (k - 1) * interval '20 seconds',
       case when %(historical)s then c.created_at + interval '1 hour' else now() end
from conversations c cross join generate_series(1, %(messages_per)s) k
where c.contact_id in (select id from contacts where phone::bigint between 5511900000000 + %(first)s
                                                                     and 5511900000000 + %(last)s);

insert into tool_calls (tenant_id, conversation_id, brain, tool, outcome, latency_ms, created_at, updated_at)
select c.tenant_id, c.id, 'rules',
       (array['second_copy', 'connection_status', 'open_ticket', 'trust_unlock'])[1 + (hashtext(c.id::text) & 3)],
       (array['sent', 'online', 'opened', 'granted', 'sgp_unavailable'])[1 + (hashtext(c.id::text) >> 2 & 3)
                                                                        + (hashtext(c.id::text) & 16) / 16],
       50 + (hashtext(c.id::text) & 255), c.created_at + interval '10 seconds',
       case when %(historical)s then c.created_at + interval '1 hour' else now() end
from conversations c
where c.contact_id in (select id from contacts where phone::bigint between 5511900000000 + %(first)s
                                                                     and 5511900000000 + %(last)s);

insert into csat_requests (tenant_id, conversation_id, contact_id, status, scheduled_for, sent_at, answered_at,
                           updated_at)
select c.tenant_id, c.id, c.contact_id, case when hashtext(c.id::text) & 1 = 0 then 'answered' else 'expired' end,
       c.closed_at + interval '90 seconds', c.closed_at + interval '90 seconds',
       case when hashtext(c.id::text) & 1 = 0 then c.closed_at + interval '3 minutes' end,
       case when %(historical)s then c.created_at + interval '1 hour' else now() end
from conversations c
where c.status = 'closed' and c.contact_id in (
    select id from contacts where phone::bigint between 5511900000000 + %(first)s and 5511900000000 + %(last)s);

insert into csat_responses (tenant_id, csat_request_id, conversation_id, rating, created_at, updated_at)
select r.tenant_id, r.id, r.conversation_id, 1 + (hashtext(r.id::text) & 65535) %% 5, r.answered_at,
       case when %(historical)s then r.answered_at + interval '1 hour' else now() end
from csat_requests r
where r.status = 'answered' and r.contact_id in (
    select id from contacts where phone::bigint between 5511900000000 + %(first)s and 5511900000000 + %(last)s);
drop table bench_tenants;
"""


def generate(database_url: str, first: int, last: int, tenants: int, messages_per: int,
             historical: bool = False) -> float:
    """Rows for conversations first..last: `historical` ones were last changed an hour after they happened (their
    updated_at spreads over the past like real data), new ones now."""
    started = time.perf_counter()
    # client-side binding: several statements in one execute
    with psycopg.connect(libpq_url(database_url), cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute(CONVERSATIONS_SQL, {"first": first, "last": last, "tenants": tenants,
                                         "messages_per": messages_per, "historical": historical})
    return time.perf_counter() - started


def populate(database_url: str, conversations: int, tenants: int, messages_per: int) -> float:
    """The benchmarks' data set in a fresh database: schema, `tenants` tenants, `conversations` historical
    conversations with their messages, tool calls and CSAT. Returns the seconds the generation took."""
    migrate.upgrade(database_url)
    with psycopg.connect(libpq_url(database_url), cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute(TENANTS_SQL, {"tenants": tenants})
    return generate(database_url, 0, conversations - 1, tenants, messages_per, True)


def count_rows(url: str, schema: str, tables: list[str]) -> dict[str, int]:
    with psycopg.connect(libpq_url(url)) as conn:
        return {t: conn.execute(f"select count(*) from {schema}.{t}").fetchone()[0] for t in tables}


def timed(label: str, func, *args, **kwargs):
    started = time.perf_counter()
    result = func(*args, **kwargs)
    seconds = time.perf_counter() - started
    print(f"  {label:<28} {seconds:8.2f} s", flush=True)
    return result, seconds


def dbt_build(warehouse_url: str, threads: int) -> None:
    result = run_dbt(warehouse_url, "build", threads=threads)
    if result.returncode != 0:
        print(result.stdout[-5000:])
        raise SystemExit("dbt build failed")


def run(args) -> dict:
    conversations, tenants, per = args.conversations, args.tenants, args.messages_per_conversation
    tag = uuid.uuid4().hex[:8]
    op_name, wh_name = f"bench_op_{tag}", f"bench_wh_{tag}"
    database_url, warehouse_url = ensure_database(args.pg_url, op_name), ensure_database(args.pg_url, wh_name)
    try:
        print(f"generating {conversations:,} conversations x {per} messages, {tenants} tenants", flush=True)
        gen_seconds, _ = timed("generate", populate, database_url, conversations, tenants, per)
        source_rows = count_rows(database_url, "public", ["conversations", "messages", "tool_calls",
                                                           "csat_requests", "csat_responses", "contacts"])
        total_rows = sum(source_rows.values())
        print(f"  source rows: {source_rows}")

        print("full run", flush=True)
        full_sync, full_sync_s = timed("sync (full)", sync, database_url, warehouse_url, full=True)
        _, full_dbt_s = timed("dbt build", dbt_build, warehouse_url, args.threads)
        slug = "bench-1"
        _, export_s = timed(f"export {slug}", export_tenant, warehouse_url, slug, Path(args.workdir) / "b.duckdb")

        new = max(1, conversations // 100)
        print(f"incremental run: {new:,} new conversations (1%)", flush=True)
        timed("generate 1%", generate, database_url, conversations, conversations + new - 1, tenants, per)
        inc_sync, inc_sync_s = timed("sync (incremental)", sync, database_url, warehouse_url)
        _, inc_dbt_s = timed("dbt build (incremental)", dbt_build, warehouse_url, args.threads)
        marts = count_rows(warehouse_url, "marts", ["fct_conversations", "fct_messages"])
        assert marts["fct_conversations"] == conversations + new, marts
    finally:
        if args.keep:
            print(f"kept: {database_url} {warehouse_url}")
        else:
            drop_database(args.pg_url, op_name)
            drop_database(args.pg_url, wh_name)

    full_read = sum(r.rows_read for r in full_sync)
    inc_read, inc_written = sum(r.rows_read for r in inc_sync), sum(r.rows_written for r in inc_sync)
    full_total, inc_total = full_sync_s + full_dbt_s, inc_sync_s + inc_dbt_s
    return {
        "benchmark": "pipeline",
        "at": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpu_count_logical": os.cpu_count(),
                    "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]},
        "params": {"conversations": conversations, "messages_per_conversation": per, "tenants": tenants,
                   "threads": args.threads, "quick": args.quick},
        "source_rows": source_rows,
        "generate_seconds": round(gen_seconds, 2),
        "full": {"sync_seconds": round(full_sync_s, 2), "rows": full_read,
                 "sync_rows_per_second": round(full_read / full_sync_s), "dbt_build_seconds": round(full_dbt_s, 2),
                 "total_seconds": round(full_total, 2), "rows_per_second": round(total_rows / full_total)},
        "incremental": {"new_conversations": new, "sync_seconds": round(inc_sync_s, 2), "rows_read": inc_read,
                        "rows_written": inc_written, "dbt_build_seconds": round(inc_dbt_s, 2),
                        "total_seconds": round(inc_total, 2)},
        "ratios": {"incremental_over_full": round(inc_total / full_total, 3),
                   "sync_incremental_over_full": round(inc_sync_s / full_sync_s, 3),
                   "dbt_incremental_over_full": round(inc_dbt_s / full_dbt_s, 3)},
        "export_one_tenant_seconds": round(export_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--threads", type=int, default=4, help="dbt threads")
    parser.add_argument("--quick", action="store_true", help="2k conversations, 5 tenants: a smoke run")
    parser.add_argument("--pg-url", help="PostgreSQL server URL (default: an embedded pgserver in a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the two databases (with --pg-url) to look at")
    args = parser.parse_args()
    if args.quick:
        args.conversations, args.tenants = 2_000, 5
    with tempfile.TemporaryDirectory(prefix="niochat-bench-") as workdir:
        args.workdir = workdir
        embedded = None
        if not args.pg_url:
            from niochat.embedded import EmbeddedPostgres

            embedded = EmbeddedPostgres(Path(workdir))
            args.pg_url = embedded.start()
        try:
            result = run(args)
        finally:
            if embedded is not None:
                embedded.release()
    full, inc, ratios = result["full"], result["incremental"], result["ratios"]
    print()
    print(f"full:        {full['total_seconds']:8.2f} s  (sync {full['sync_seconds']} s at "
          f"{full['sync_rows_per_second']:,} rows/s, dbt build {full['dbt_build_seconds']} s); "
          f"{full['rows_per_second']:,} source rows/s end to end")
    print(f"incremental: {inc['total_seconds']:8.2f} s  (sync {inc['sync_seconds']} s for {inc['rows_read']:,} rows "
          f"read, dbt build {inc['dbt_build_seconds']} s)")
    print(f"incremental / full: {ratios['incremental_over_full']:.3f}  "
          f"(sync {ratios['sync_incremental_over_full']:.3f}, dbt {ratios['dbt_incremental_over_full']:.3f})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "pipeline.json"  # like the other benchmarks: bench/results/<name>.json, the latest run
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
