"""The dbt project as assets: models keyed by schema and name, sources mapped onto the raw assets, dbt tests as
asset checks. One `dbt build` per run, streamed so each model and test reports as it finishes."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetCheckResult, AssetExecutionContext, AssetKey, Config, Output
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from ingest.dbt_command import dbt_env
from ingest.warehouse import exclusive
from pipelines.project import dbt_project
from pipelines.raw import raw_key
from pipelines.resources import NiochatDatabases, ProgressReporter


class NiochatTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return raw_key(dbt_resource_props["name"])
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props.get("schema")


TRANSLATOR = NiochatTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


TARGET_PATH = Path("target") / "dagster"  # relative to the dbt project


class DbtBuildConfig(Config):
    full_refresh: bool = False  # rebuild the incremental models from scratch (the nightly run)


def build_args(full_refresh: bool) -> list[str]:
    return ["build", *(["--full-refresh"] if full_refresh else [])]


@dbt_assets(manifest=dbt_project().manifest_path, project=dbt_project(), dagster_dbt_translator=TRANSLATOR,
            name="niochat_dbt")
def niochat_dbt(context: AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCliResource,
                databases: NiochatDatabases, progress: ProgressReporter):
    warehouse_url = databases.urls().warehouse_url
    # dbt (and dagster-dbt's in-process adapter) read the profile from the environment.
    os.environ.update(dbt_env(warehouse_url))
    with exclusive(warehouse_url, "niochat.dbt.build"):  # two builds at once would trip over each other's tables
        # One artifacts folder, replaced by each run (dagster-dbt's default is a new folder per run, forever),
        # which also keeps dbt's partial parsing warm between runs.
        invocation = dbt.cli(build_args(config.full_refresh), context=context, target_path=TARGET_PATH)
        for event in invocation.stream():
            if isinstance(event, Output):
                progress.step("dbt", event.output_name)
            elif isinstance(event, AssetCheckResult):
                progress.step("dbt tests", event.check_name, "passed" if event.passed else "FAILED")
            yield event
