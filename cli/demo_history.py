"""`niochat demo --history-days N`: past weeks of made-up conversations for every demo tenant, so the charts
have history from the first run. They go through the history import (ingest/history.py) marked as generated
(`is_generated`, close reason `generated`); a second run finds them by their external ids and skips them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.children import StepFailed
from cli.context import console
from cli.provision import dataset_of
from niochat.provisioning import DemoTenant
from niochat.settings import Settings

SOURCE = "niochat demo --history-days"
PER_DAY = {"demo": 24, "veloz": 14}  # an ordinary weekday's conversations: two providers of different sizes


def plan_for(spec: DemoTenant, settings: Settings, seed: int):
    from cli.simulate import customers_from_dataset
    from sandbox.simulator.backfill import BackfillPlan

    return BackfillPlan(
        prefix=f"demo-backfill:{spec.slug}",
        customers=customers_from_dataset(dataset_of(spec, settings)),
        instances=list(spec.channels.values()),
        agents=[user.email for user in spec.users if user.role == "agent"],
        agent_teams={user.email: user.teams for user in spec.users if user.role == "agent"},
        teams=list(spec.teams),
        timezone=spec.timezone,
        per_day=PER_DAY.get(spec.slug, 16),
        seed=seed,
    )


def backfill(database_url: str, settings: Settings, specs: tuple[DemoTenant, ...], days: int, seed: int) -> int:
    """Import `days` past days (yesterday backwards) for each tenant, one transaction per day; returns how many
    conversations were new."""
    from ingest.history import HistoryImportError, import_history
    from niochat.database import sync_engine
    from sandbox.simulator.backfill import day_of_history

    now = datetime.now(UTC)
    engine = sync_engine(database_url)
    imported = 0
    try:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:
            for spec in specs:
                plan = plan_for(spec, settings, seed)
                bar = progress.add_task(f"{spec.slug}: {days} days of history", total=days)
                today = now.astimezone(ZoneInfo(spec.timezone)).date()
                for back in range(days, 0, -1):
                    conversations = day_of_history(plan, today - timedelta(days=back), not_after=now)
                    if conversations:
                        with engine.begin() as conn:
                            report = import_history(conn, spec.slug, (json.dumps(c) for c in conversations),
                                                    source=SOURCE, generated=True)
                        imported += report.imported
                    progress.advance(bar)
    except HistoryImportError as exc:
        raise StepFailed(f"the generated history did not import: {exc}") from None
    finally:
        engine.dispose()
    return imported
