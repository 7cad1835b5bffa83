"""`niochat simulate`: simulated customers (and an agent) against a running installation's webhooks.

Customers write through a WhatsApp sandbox, which posts real provider webhooks to whatever URL each instance
registered: this machine's demo or any installation whose channels point at the sandbox.
"""

from __future__ import annotations

import asyncio
import re

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.context import console, fail, load_settings

DEFAULT_MIX = "invoice=30,outage=23,unlock=9,human=9,chat=7,receipt=5,voice=5,billing=4,knowledge=6,signup=2"


def customers_from_dataset(path) -> list:
    """Every customer of an SGP sandbox dataset, writing from their registered phone (+55)."""
    from sandbox.sgp import DatasetError, dataset_path, load_dataset
    from sandbox.simulator import Customer

    try:
        dataset = load_dataset(dataset_path(path))
    except DatasetError as exc:
        raise fail(str(exc)) from None
    customers = []
    for client in dataset.clientes:
        for phone in client.telefones[:1]:
            digits = re.sub(r"\D", "", phone)
            customers.append(
                Customer("55" + digits if len(digits) in (10, 11) else digits, client.nome.title(), client.cpfcnpj,
                         client.data_nascimento)
            )
    return customers


def parse_mix(text: str) -> dict[str, int]:
    """`invoice=40,human=10` -> {"invoice": 40, "human": 10}, or a clear error."""
    from sandbox.simulator import INTENTS, check_mix

    mix = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition("=")
        if name not in INTENTS or not weight.isdigit():
            raise fail(f"--mix takes name=weight pairs with names from {', '.join(INTENTS)}; got '{part}'")
        mix[name] = int(weight)
    try:
        check_mix(mix)
    except ValueError as exc:
        raise fail(f"--mix: {exc}") from None
    return mix


def run_simulation(config, *, title: str = "simulated customers"):
    from sandbox.simulator import simulate

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task(title, total=config.count or None)  # no total when only a duration ends it
        return asyncio.run(simulate(config, progress=lambda: progress.advance(task)))


def _demo_tenant(slug: str):
    from niochat.provisioning import DEMO_TENANTS

    for spec in DEMO_TENANTS:
        if spec.slug == slug:
            return spec
    raise fail(f"--demo-tenant is one of {', '.join(spec.slug for spec in DEMO_TENANTS)}; got '{slug}'")


def simulate_command(
    count: int = typer.Option(20, min=0, help="Conversations to start (0: no limit; then --duration ends the run)"),
    duration: float = typer.Option(0, min=0, help="Seconds after which no new conversation starts (0: no limit)"),
    rate: float = typer.Option(30.0, min=0.1, help="New conversations per minute"),
    customers: int = typer.Option(0, min=0, help="How many of the dataset's customers write (0: all of them)"),
    mix: str = typer.Option(
        DEFAULT_MIX, help="Intent weights: invoice, outage, unlock, human, chat, receipt (sends a payment receipt), "
        "voice (asks by voice note), billing (disputes a charge), knowledge (asks the provider's knowledge base), "
        "signup (wants to become a customer)"
    ),
    demo_tenant: str = typer.Option(
        "", help="A demo tenant (demo, veloz): its sandbox instances, SGP customers and agent, as `niochat demo` "
        "set them up; the other options still win"
    ),
    sandbox_url: str = typer.Option("", help="WhatsApp sandbox (default: this machine's, NIOCHAT_WA_SANDBOX_PORT)"),
    instance: list[str] = typer.Option([], help="Sandbox instance; repeatable (default: demo-uazapi, demo-evolution)"),
    dataset: str = typer.Option("", help="SGP dataset whose customers write (default: the sandbox's)"),
    api_url: str = typer.Option("", help="API for simulated agents (with --agent-email)"),
    agent_email: str = typer.Option("", help="An agent who takes handed-off conversations"),
    agent_password: str = typer.Option("", envvar="NIOCHAT_AGENT_PASSWORD", help="That agent's password"),
    csat: bool = typer.Option(True, help="Answer the satisfaction survey when it comes"),
    seed: int = typer.Option(None, help="Random seed, for a repeatable run"),
) -> None:
    """Customers write through the WhatsApp sandbox with realistic Portuguese; agents answer via the API."""
    from sandbox.simulator import SimulationConfig

    settings = load_settings()
    if not count and not duration:
        raise fail("give --count, --duration, or both")
    instances, data = list(instance), dataset or settings.sgp_sandbox_data
    if demo_tenant:
        from cli.provision import dataset_of
        from niochat.secrets import load_demo_password

        spec = _demo_tenant(demo_tenant)
        instances = instances or list(spec.channels.values())
        data = dataset or dataset_of(spec, settings)
        agent_email = agent_email or spec.email_of("agent")
        agent_password = agent_password or load_demo_password(settings)
        api_url = api_url or f"http://{settings.api_host}:{settings.api_port}"
    people = customers_from_dataset(data)
    config = SimulationConfig(
        sandbox_url=sandbox_url or f"http://127.0.0.1:{settings.wa_sandbox_port}",
        instances=instances or ["demo-uazapi", "demo-evolution"],
        customers=people[:customers] if customers else people,
        count=count,
        duration=duration or None,
        rate_per_minute=rate,
        mix=parse_mix(mix),
        csat=csat,
        csat_wait=max(150.0, settings.csat_delay_seconds + 30),  # the installation's delay may differ from ours
        api_url=api_url or None,
        agent_email=agent_email or None,
        agent_password=agent_password or None,
        seed=seed,
    )
    report = run_simulation(config)
    console.print(report.as_dict())
    if report.no_reply:
        raise typer.Exit(1)
