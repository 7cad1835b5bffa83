"""Dagster definitions for NioChat's analytics: raw tables (ingest/), dbt models and tests, per-tenant DuckDB
exports, a schedule that keeps the marts fresh, a nightly full refresh, and the tenant sensor.

    dagster dev -m pipelines
"""

from pipelines.definitions import defs

__all__ = ["defs"]
