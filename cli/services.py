import typer

from cli.context import console, load_settings
from niochat.embedded import EmbeddedPostgres, EmbeddedRedis

app = typer.Typer(help="The embedded PostgreSQL and Redis under NIOCHAT_DATA_DIR.", no_args_is_help=True)


@app.command()
def stop() -> None:
    """Stop the embedded servers even if other niochat processes still use them."""
    settings = load_settings()
    EmbeddedRedis(settings.data_dir).stop()
    postgres = EmbeddedPostgres(settings.data_dir)
    if postgres.stop():
        console.print("embedded PostgreSQL stopped")
    console.print("embedded Redis stopped")
