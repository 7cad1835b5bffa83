"""`niochat eval`: loads the scenarios, starts the stack, runs them and prints the report."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import typer

from cli.evaluation.report import Report, ScenarioResult
from cli.evaluation.runner import Runner
from cli.evaluation.scenarios import BRAINS, DEFAULT_SCENARIOS, Scenario, ScenarioError, load_scenarios
from cli.evaluation.stack import local_stack
from niochat.embedded import ServiceUrls
from niochat.settings import Settings


def print_report(report: Report, console) -> None:
    from rich.table import Table

    table = Table(title=f"Scenarios, brain {report.brain}", show_lines=False)
    for column in ("scenario", "result", "handoff", "seconds", "why it failed (and warnings)"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        verdict = "[green]pass[/]" if result.passed else ("[red]FAIL[/]" if result.claimed else "[yellow]fail[/]")
        if not result.claimed:
            verdict += " (unclaimed)"
        notes = "; ".join(result.reasons + [f"[yellow]{warning}[/]" for warning in result.warnings])
        table.add_row(result.name, verdict, "yes" if result.handoff else "no", f"{result.seconds:.1f}", notes)
    console.print(table)
    console.print(f"[bold]Automatic resolution rate:[/] {report.resolution_rate:.1%} "
                  f"({sum(not r.handoff for r in report.claimed)}/{len(report.claimed)} scenarios without handoff)")
    console.print(f"[bold]Pass rate:[/] {report.pass_rate:.1%} "
                  f"({len(report.claimed) - len(report.failures)}/{len(report.claimed)} claimed scenarios)")
    counted = report.knowledge_counts()
    console.print(f"[bold]Knowledge base:[/] {counted['search_knowledge:answered']} answered, "
                  f"{counted['search_knowledge:no_match']} without a match; leads: "
                  f"{counted['create_lead:lead_created']} for comercial, "
                  f"{counted['create_lead:interest_registered']} interests where not covered")


@contextmanager
def _eval_database(urls: ServiceUrls) -> Iterator[ServiceUrls]:
    """A fresh, migrated database on the same server for this run, dropped afterwards."""
    from niochat import migrate
    from niochat.database import drop_database, ensure_database, server_url_for

    name = f"niochat_eval_{secrets.token_hex(4)}"
    server = server_url_for(urls.database_url)
    url = ensure_database(server, name)
    try:
        migrate.upgrade(url)
        yield ServiceUrls(url, url, urls.redis_url)
    finally:
        drop_database(server, name)


def run_locally(settings: Settings, scenarios: list[Scenario], *, brain: str, model_url: str | None,
                model: str, model_key: str, model_timeout: float, lanes: int, include_unclaimed: bool,
                console) -> Report:
    """Services (configured, else embedded under DATA_DIR/eval), a fresh database, sandboxes, API, worker, run."""
    from cli.context import running_services
    from niochat.secrets import load_secret_key

    if not (settings.database_url and settings.redis_url):  # embedded: our own, never a running demo's queue
        settings = settings.model_copy(update={"data_dir": Path(settings.data_dir) / "eval"})
    secret_key = load_secret_key(settings)
    with running_services(settings) as urls, _eval_database(urls) as eval_urls:
        with local_stack(settings, eval_urls, secret_key, lanes=lanes) as endpoints:
            endpoints = replace(endpoints, model_url=model_url)
            runner = Runner(endpoints, secret_key=secret_key, brain=brain, model=model, model_key=model_key,
                            model_timeout=model_timeout)
            try:
                def progress(result: ScenarioResult) -> None:
                    mark = "[green]✓[/]" if result.passed else ("[red]✗[/]" if result.claimed else "[yellow]✗[/]")
                    console.print(f"{mark} {result.name} ({result.seconds:.1f} s)")

                return runner.run(scenarios, include_unclaimed=include_unclaimed, progress=progress)
            finally:
                runner.close()


def eval_command(
    brain: str = typer.Option("rules", "--brain", help="The brain to evaluate: rules or openai"),
    scenarios_dir: Path = typer.Option(DEFAULT_SCENARIOS, "--scenarios", help="Directory of scenario *.yaml files"),
    model_url: str | None = typer.Option(
        None, "--model-url", help="OpenAI-compatible base URL (e.g. http://127.0.0.1:9000/v1); needed by openai"
    ),
    model: str = typer.Option("gpt-4o-mini", "--model", help="Model name sent to the model server"),
    model_key: str = typer.Option("not-needed", "--model-key", envvar="NIOCHAT_EVAL_MODEL_KEY",
                                  help="API key for the model server"),
    json_file: Path | None = typer.Option(None, "--json", help="Also write the report as JSON to this file"),
    only: str | None = typer.Option(None, "--only", help="Run only the scenarios whose name contains this"),
    include_unclaimed: bool = typer.Option(False, "--all", help="Also run scenarios the brain does not claim"),
    model_timeout: float = typer.Option(5.0, "--model-timeout", min=0.5, help="Seconds before the rules brain "
                                        "answers instead of the model"),
    lanes: int = typer.Option(4, "--parallel", min=1, max=16, help="Scenarios run side by side"),
) -> None:
    """Run the scenario suite through the real webhook -> worker -> WhatsApp path and print the
    automatic-resolution rate; exits 1 when a scenario the brain claims fails."""
    from rich.console import Console

    from cli.context import fail, load_settings
    from niochat.logging import configure_logging

    if brain not in BRAINS:
        raise fail(f"--brain must be one of: {', '.join(BRAINS)}", code=2)
    if brain == "openai" and not model_url:
        raise fail("--brain openai needs a model URL: pass --model-url (any OpenAI-compatible server, "
                   "e.g. http://127.0.0.1:9000/v1)", code=2)
    try:
        scenarios = load_scenarios(scenarios_dir)
    except ScenarioError as exc:
        raise fail(str(exc), code=2) from None
    if only:
        scenarios = [scenario for scenario in scenarios if only in scenario.name]
    if not scenarios:
        raise fail(f"no scenarios in {scenarios_dir}", code=2)
    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")  # the API's request logs would drown the report
    console = Console()
    console.print(f"running {len(scenarios)} scenario(s) with the [bold]{brain}[/] brain...")
    report = run_locally(settings, scenarios, brain=brain, model_url=model_url, model=model, model_key=model_key,
                         model_timeout=model_timeout, lanes=lanes, include_unclaimed=include_unclaimed,
                         console=console)
    print_report(report, console)
    if json_file:
        json_file.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    if report.failures:
        raise typer.Exit(1)
