import typer

from cli.context import console, load_settings, running_services
from niochat import migrate

app = typer.Typer(help="Operational database schema (Alembic migrations).", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Migrate the operational database up to REVISION (default: the latest), as its owner (NIOCHAT_DATABASE_URL).

    With NIOCHAT_DATABASE_API_PASSWORD / NIOCHAT_DATABASE_WORKER_PASSWORD set, also sets the passwords of the
    logins the API (niochat_api) and the worker (niochat_worker) use."""
    settings = load_settings()
    with running_services(settings) as urls:
        migrate.upgrade(urls.database_url, revision)
        for login in migrate.set_login_passwords(urls.database_url, settings):
            console.print(f"password of the database login [bold]{login}[/] set")
        console.print(f"database at revision [bold]{migrate.current_revision(urls.database_url)}[/]")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. -1 or base")) -> None:
    """Migrate the operational database down to REVISION."""
    settings = load_settings()
    with running_services(settings) as urls:
        migrate.downgrade(urls.database_url, revision)
        console.print(f"database at revision [bold]{migrate.current_revision(urls.database_url)}[/]")


@app.command()
def current() -> None:
    """Show the database's revision and the latest one available."""
    settings = load_settings()
    with running_services(settings) as urls:
        console.print(f"current: {migrate.current_revision(urls.database_url)}  head: {migrate.head_revision()}")
