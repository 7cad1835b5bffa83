"""`niochat pipeline run [--full]` and `niochat export --tenant SLUG --out FILE`: the analytics, in process.

Dagster, dbt and DuckDB are imported inside the commands: they are heavy, and the rest of the CLI does not
need them.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import datetime
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from cli.context import console, fail, load_settings, running_services

pipeline_app = typer.Typer(
    help="The analytics pipeline: raw tables, dbt models and tests, per-tenant DuckDB files.", no_args_is_help=True
)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.fields[group]}", table_column=Column(no_wrap=True, min_width=9)),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn("{task.description}", style="dim", table_column=Column(no_wrap=True, max_width=40)),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@pipeline_app.command("run")
def run(
    full: bool = typer.Option(False, "--full", help="Reload raw from scratch and rebuild every dbt model."),
    exports: bool = typer.Option(True, "--exports/--no-exports", help="Write the per-tenant DuckDB files."),
) -> None:
    """Materialize everything in this process: raw tables, dbt build (tests as checks), DuckDB exports."""
    settings = load_settings()
    # Dagster's own chatter (its in-memory instance's migrations, each dbt invocation) would break the bars
    for noisy in ("dagster", "dagster.builtin", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with running_services(settings) as urls:
        from ingest.tables import TABLES
        from pipelines.dbt import niochat_dbt
        from pipelines.resources import ExportFolder, NiochatDatabases, ProgressReporter, listen, stop_listening
        from pipelines.run import run_pipeline

        log_dir = settings.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"pipeline-{datetime.now():%Y%m%d-%H%M%S}.log"
        export_folder = settings.data_dir / "exports"
        totals = {"raw": len(TABLES), "dbt": len(niochat_dbt.keys), "dbt tests": len(list(niochat_dbt.check_keys)),
                  "exports": 0}
        started = time.perf_counter()
        with _progress() as progress, open(log_path, "w") as log:
            tasks = {group: progress.add_task("", total=total or None, group=group)
                     for group, total in totals.items()}

            class Bars:
                def step(self, group: str, name: str, detail: str) -> None:
                    progress.update(tasks[group], advance=1, description=f"{name} {detail}".strip()[:40])

                def expect(self, group: str, total: int) -> None:
                    progress.update(tasks[group], total=total)

            key = listen(Bars())
            try:
                # dbt's own output goes to the log file; the bars stay readable
                with contextlib.redirect_stdout(log):
                    result = run_pipeline(
                        NiochatDatabases(database_url=urls.database_url, warehouse_url=urls.warehouse_url),
                        full=full, exports=exports, export_folder=ExportFolder(path=str(export_folder)),
                        progress=ProgressReporter(listener=key), log_level="ERROR",
                    )
            finally:
                stop_listening(key)
        seconds = time.perf_counter() - started
        checks = result.check_evaluations()
        failed = result.failed_checks()
        summary = Table(show_header=False, box=None)
        summary.add_column(style="bold")
        summary.add_column(overflow="fold")
        summary.add_row("warehouse", "[green]ok[/]" if result.warehouse.success else "[red]failed[/]")
        summary.add_row("dbt tests", f"{len(checks) - len(failed)} passed, {len(failed)} failed")
        summary.add_row("exports", ", ".join(
            f"{slug}{'' if run.success else ' [red](failed)[/]'}" for slug, run in result.exports.items()) or "-")
        if result.exports:
            summary.add_row("files", str(export_folder))
        summary.add_row("log", str(log_path))
        summary.add_row("time", f"{seconds:.1f} s")
        console.print(summary)
        if not result.success:
            for name in failed:
                console.print(f"  [red]failed check[/] {name}")
            raise fail(f"the pipeline did not finish cleanly; details in {log_path}")


def export(
    tenant: str = typer.Option(..., "--tenant", help="The tenant's slug."),
    out: Path = typer.Option(..., "--out", help="The DuckDB file to write (replaced atomically)."),
) -> None:
    """Write one tenant's analytics (marts, that tenant's rows only) to a DuckDB file."""
    settings = load_settings()
    with running_services(settings) as urls:
        from ingest.export import ExportError, export_tenant

        try:
            result = export_tenant(urls.warehouse_url, tenant, out)
        except ExportError as exc:
            raise fail(str(exc)) from None
    table = Table("table", "rows", title=f"{result.path} ({result.seconds:.1f} s)")
    for name, rows in result.rows.items():
        table.add_row(name, str(rows))
    console.print(table)


@pipeline_app.command("import-history")
def import_history(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL file, one conversation per line."),
    tenant: str = typer.Option(..., "--tenant", help="The tenant the conversations belong to."),
) -> None:
    """Import historical conversations (format: ingest/README.md) into the operational database: every line is
    validated first, and nothing is written unless the whole file is valid."""
    from ingest.history import HistoryImportError, import_history_file
    from niochat.database import sync_engine

    settings = load_settings()
    with running_services(settings) as urls:
        engine = sync_engine(urls.database_url)
        try:
            report = import_history_file(engine, tenant, file)
        except HistoryImportError as exc:
            raise fail(str(exc)) from None
        finally:
            engine.dispose()
    console.print(f"imported {report.imported} conversation(s), {report.messages} message(s)"
                  + (f"; {len(report.skipped)} already imported, skipped" if report.skipped else ""))
