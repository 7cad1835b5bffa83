"""The old name of ingest/dbt_command.py, kept only because dbt_project/README.md and profiles.yml still show
`ingest.dbt_env`; remove it once they name ingest.dbt_command."""

from ingest.dbt_command import dbt_env, run_dbt

__all__ = ["dbt_env", "run_dbt"]
