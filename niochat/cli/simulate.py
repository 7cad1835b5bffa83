"""`niochat simulate`: simulated customers (and agents) against a running installation's webhooks."""

from __future__ import annotations

import asyncio
import re

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from niochat.cli.context import console, fail, load_settings


def customers_from_dataset(path) -> list:
    """Every customer of an SGP sandbox dataset, writing from their registered phone (+55)."""
    from sandbox.sgp import DatasetError, dataset_path, load_dataset
    from sandbox.simulator.run import Customer

    try:
        dataset = load_dataset(dataset_path(path))
    except DatasetError as exc:
        raise fail(str(exc)) from None
    customers = []
    for client in dataset.clientes:
        for phone in client.telefones[:1]:
            digits = re.sub(r"\D", "", phone)
            customers.append(
                Customer("55" + digits if len(digits) in (10, 11) else digits, client.nome.title(), client.cpfcnpj)
            )
    return customers


def parse_mix(text: str) -> dict[str, int]:
    from sandbox.simulator.run import INTENTS

    mix = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition("=")
        if name not in INTENTS or not weight.isdigit():
            raise fail(f"--mix takes name=weight pairs with names from {', '.join(INTENTS)}; got '{part}'")
        mix[name] = int(weight)
    return mix


def run_simulation(config, *, title: str = "simulated customers"):
    from sandbox.simulator import simulate

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task(title, total=config.count)
        return asyncio.run(simulate(config, progress=lambda: progress.advance(task)))


def simulate_command(
    count: int = typer.Option(20, help="Conversations to run"),
    rate: float = typer.Option(30.0, help="New conversations per minute"),
    mix: str = typer.Option("invoice=40,outage=25,unlock=10,human=15,chat=10", help="Intent weights"),
    sandbox_url: str = typer.Option("", help="WhatsApp sandbox (default: this machine's, NIOCHAT_WA_SANDBOX_PORT)"),
    instance: list[str] = typer.Option(["demo-uazapi", "demo-evolution"], help="Sandbox instance; repeatable"),
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
    config = SimulationConfig(
        sandbox_url=sandbox_url or f"http://127.0.0.1:{settings.wa_sandbox_port}",
        instances=list(instance),
        customers=customers_from_dataset(dataset or settings.sgp_sandbox_data),
        count=count,
        rate_per_minute=rate,
        mix=parse_mix(mix),
        csat=csat,
        api_url=api_url or None,
        agent_email=agent_email or None,
        agent_password=agent_password or None,
        seed=seed,
    )
    report = run_simulation(config)
    console.print(report.as_dict())
    if report.no_reply:
        raise typer.Exit(1)
