"""The demo's busy morning: simulated customers of every demo tenant at once, writing through the WhatsApp
sandbox (real provider webhooks), and each tenant's agent taking the handoffs through the API."""

from __future__ import annotations

import asyncio
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from cli.children import StepFailed
from cli.context import console
from cli.provision import dataset_of
from niochat.provisioning import DemoTenant
from niochat.settings import Settings

PENDING = ("received", "queued", "sending")  # messages the worker has not finished with


def traffic_configs(settings: Settings, specs: tuple[DemoTenant, ...], password: str, count: int, rate: float,
                    mix: dict[str, int], csat_delay: float, seed: int | None) -> dict:
    from cli.simulate import customers_from_dataset
    from sandbox.simulator import SimulationConfig

    api_url = f"http://{settings.api_host}:{settings.api_port}"
    return {
        spec.slug: SimulationConfig(
            sandbox_url=f"http://127.0.0.1:{settings.wa_sandbox_port}",
            instances=list(spec.channels.values()),
            customers=customers_from_dataset(dataset_of(spec, settings)),
            count=count,
            rate_per_minute=rate,
            mix=dict(mix),
            api_url=api_url,
            agent_email=spec.email_of("agent"),
            agent_password=password,
            csat_wait=csat_delay + 45,  # at most: a busy machine sends surveys late; the wait ends when one comes
            seed=None if seed is None else seed + index,
        )
        for index, spec in enumerate(specs)
    }


def run_traffic(configs: dict) -> dict:
    """Every tenant's simulation at once, one progress bar each; fails when a tenant's bot answered nobody."""
    from sandbox.simulator import simulate

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        bars = {slug: progress.add_task(f"{slug}: simulated customers", total=config.count)
                for slug, config in configs.items()}

        async def everyone() -> list:
            return await asyncio.gather(*(
                simulate(config, progress=lambda slug=slug: progress.advance(bars[slug]))
                for slug, config in configs.items()
            ))

        reports = dict(zip(configs, asyncio.run(everyone()), strict=True))
    for slug, report in reports.items():
        if report.started and not report.completed:
            raise StepFailed(f"tenant {slug}: no simulated customer got an answer from the bot; "
                             "see the API and worker log")
        console.print(f"  {slug}: {report.completed}/{report.started} conversations answered, "
                      f"{report.agent_replies} taken by the agent, {report.media_sent} with media, "
                      f"{report.csat_answers} satisfaction answers")
    return reports


def wait_for_quiet(database_url: str, seconds: float = 30) -> None:
    """Until the worker has handled every message (the last CSAT answers included), so the pipeline sees them."""
    from niochat.database import sync_engine
    from niochat.tables import messages

    engine = sync_engine(database_url)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                pending = conn.scalar(select(func.count()).select_from(messages)
                                      .where(messages.c.status.in_(PENDING)))
            if not pending:
                return
            time.sleep(0.5)
    finally:
        engine.dispose()
