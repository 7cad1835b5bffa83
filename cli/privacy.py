"""`niochat privacy export|erase --tenant SLUG (--phone N | --document CPF)`: LGPD requests about one person.

Both run under the tenant's row-level security (as the API does), so only that tenant's customers are looked at,
and both are audited (`privacy.export`, `privacy.erase`: who ran it, how many rows; never the data). The full CPF
is never printed: give `--document -` to type it at a hidden prompt instead of leaving it in the shell history.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from cli.context import console, ensure_schema, fail, load_settings, running_services
from niochat import privacy
from niochat.database import async_engine, tenant_transaction
from niochat.secrets import Keyring, load_secret_key
from niochat.settings import Settings
from niochat.tables import tenants

app = typer.Typer(
    help="LGPD: one person's data as JSON (export), or erased everywhere (erase); both audited.",
    no_args_is_help=True,
)

TENANT = typer.Option(..., "--tenant", help="The tenant's slug.")
PHONE = typer.Option(None, "--phone", help="The person's WhatsApp number, e.g. 5511912340001.")
DOCUMENT = typer.Option(None, "--document", help="The person's CPF/CNPJ; '-' asks for it at a hidden prompt.")


def _operator() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return None


def _subject(phone: str | None, document: str | None) -> tuple[Settings, privacy.Lookup]:
    if document == "-":
        document = typer.prompt("CPF/CNPJ", hide_input=True, err=True)
    settings = load_settings()
    try:
        return settings, privacy.lookup(Keyring(load_secret_key(settings)), phone=phone, document=document)
    except privacy.PrivacyError as exc:
        raise fail(f"{exc} (--phone or --document)") from None


def _run(settings: Settings, tenant: str, who: privacy.Lookup,
         work: Callable[[AsyncConnection, privacy.Lookup], Awaitable[Any]]) -> Any:
    with running_services(settings) as urls:
        ensure_schema(settings, urls)

        async def main() -> Any:
            engine = async_engine(urls.database_url, pool_size=1, max_overflow=0)
            try:
                async with engine.connect() as conn:  # the owner: slugs are looked up across tenants
                    tenant_id = await conn.scalar(select(tenants.c.id).where(tenants.c.slug == tenant))
                if tenant_id is None:
                    raise fail(f"tenant '{tenant}' does not exist")
                async with tenant_transaction(engine, tenant_id) as conn:
                    return await work(conn, who)
            finally:
                await engine.dispose()

        return asyncio.run(main())


@app.command("export")
def export(
    tenant: str = TENANT,
    phone: str | None = PHONE,
    document: str | None = DOCUMENT,
    out: Path | None = typer.Option(None, "--out", help="Write the JSON here (owner-only permissions); "
                                    "default: standard output."),
) -> None:
    """Everything the tenant holds about one person (contacts, conversations, messages, surveys, tool calls,
    audit entries) as one JSON document (format niochat-privacy-export, version 1)."""

    async def work(conn: AsyncConnection, who: privacy.Lookup) -> dict | None:
        document = await privacy.export(conn, who)
        if document is not None:
            await privacy.record(conn, "privacy.export", who, [row["id"] for row in document["contacts"]],
                                 actor_kind="system", actor_user_id=None, via="cli", operator=_operator(),
                                 **privacy.export_summary(document))
        return document

    settings, who = _subject(phone, document)
    found = _run(settings, tenant, who, work)
    if found is None:
        raise fail(f"no contact of tenant '{tenant}' has this phone or document")
    body = json.dumps(found, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        typer.echo(body, nl=False)
    else:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body)
    summary = privacy.export_summary(found)
    console.print(f"exported {summary['contacts']} contact(s), {summary['conversations']} conversation(s), "
                  f"{summary['messages']} message(s)" + (f" to {escape(str(out))}" if out else ""), soft_wrap=True)


def _preview(plan: privacy.Erasure, tenant: str) -> None:
    console.print(f"[bold]tenant {escape(tenant)}[/]: {len(plan.contacts)} contact(s) of this person", soft_wrap=True)
    for row in plan.contacts:
        console.print(f"  contact {row['id']}: phone {row['phone'] or '-'}, WhatsApp LID {row['whatsapp_lid'] or '-'}"
                      f", name {escape(row['name'] or '-')}, document {row['document_masked'] or '-'}",
                      soft_wrap=True)
    counts = Table("to erase or anonymise", "rows")
    for name, count in plan.counts.items():
        counts.add_row(name.replace("_", " "), str(count))
    console.print(counts)


@app.command("erase")
def erase(
    tenant: str = TENANT,
    phone: str | None = PHONE,
    document: str | None = DOCUMENT,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Erase one person: contacts anonymised (no phone, LID, name, document), message texts, transcripts and
    media references removed, open conversations closed; counts and times kept for the metrics. The warehouse,
    marts and DuckDB files follow at the next pipeline run. Asks for confirmation, showing what will go."""
    settings, who = _subject(phone, document)
    plan = _run(settings, tenant, who, privacy.plan_erasure)
    if plan is None:
        raise fail(f"no contact of tenant '{tenant}' has this phone or document")
    _preview(plan, tenant)
    if not yes and not typer.confirm("Erase this person's data? This cannot be undone", err=True):
        raise fail("nothing was erased")
    done = _run(settings, tenant, who, lambda conn, who: privacy.erase(
        conn, who, actor_kind="system", via="cli", operator=_operator()))
    if done is None:
        raise fail("the contacts are gone already: nothing was erased")
    figures = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in done.counts.items())
    console.print(f"[green]erased[/]: {figures}. The warehouse, marts and DuckDB files follow at the next "
                  "pipeline run (`niochat pipeline run`).", soft_wrap=True)
