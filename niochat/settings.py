"""Every setting NioChat reads, from `NIOCHAT_*` environment variables (and `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_DB_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NIOCHAT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path(".niochat"), description="Embedded services' data, generated secret key")
    database_url: str | None = Field(None, description="Operational PostgreSQL; embedded when unset")
    warehouse_url: str | None = Field(None, description="Warehouse PostgreSQL; second database when unset")
    redis_url: str | None = Field(None, description="Redis; embedded when unset")
    database_api_password: str | None = Field(None, description="Password of the API's database login niochat_api "
                                              "(`niochat db upgrade` sets it; unset: trust or peer auth)")
    database_worker_password: str | None = Field(None, description="Password of the worker's database login "
                                                 "niochat_worker (`niochat db upgrade` sets it)")
    secret_key: str | None = Field(None, description="Encrypts secrets at rest and signs tokens")
    demo_password: str | None = Field(None, description="Password of the demo users; generated when unset")
    public_url: str = Field("http://127.0.0.1:8000", description="Base URL providers post webhooks to")
    sgp_sandbox_data: Path | None = None
    debounce_seconds: float = Field(3.0, ge=0)
    csat_delay_seconds: float = Field(90.0, ge=0)
    csat_expiry_seconds: float = Field(86400.0, gt=0)
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    dash_port: int = Field(8050, ge=1, le=65535)
    workspace_api_url: str | None = Field(None, description="The API as the agents' workspace (dash_app) calls it; "
                                          "unset: http://NIOCHAT_API_HOST:NIOCHAT_API_PORT")
    workspace_ws_url: str | None = Field(None, description="The API's WebSocket as the agents' browsers reach it; "
                                         "unset: NIOCHAT_WORKSPACE_API_URL's, ws(s)://.../api/v1/ws")
    wa_sandbox_port: int = Field(8100, ge=1, le=65535)
    sgp_sandbox_port: int = Field(8200, ge=1, le=65535)
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    access_token_minutes: int = Field(12 * 60, gt=0, description="Lifetime of API bearer tokens")
    send_max_attempts: int = Field(6, ge=1, description="Tries of one outbound message before it is marked failed")
    send_retry_base_seconds: float = Field(2.0, ge=0, description="Backoff before retry n is base * 2**(n-1)")
    sweep_interval_seconds: int = Field(10, ge=1, le=60, description="How often the worker re-enqueues lost work")
    job_timeout_seconds: int = Field(60, ge=5, description="A job running longer is cancelled and retried")
    audio_max_seconds: int = Field(300, ge=1, description="Longest voice note transcribed; longer ones get a reply")
    audio_max_bytes: int = Field(10_000_000, ge=1, description="Largest voice note downloaded and transcribed")
    metrics_token: str | None = Field(None, description="Bearer token /metrics requires; unset: served to loopback "
                                      "clients only")
    egress_allow: str = Field("", description="Hosts, addresses or networks (optionally :port) outbound requests "
                              "may reach although private or loopback: development sandboxes, never production")
    egress_max_response_bytes: int = Field(8_000_000, ge=1024, description="Largest response body read from a "
                                           "provider, SGP or model endpoint (media downloads have their own cap)")

    @field_validator("database_url", "warehouse_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(_DB_SCHEMES):
            raise ValueError(f"must be a PostgreSQL URL starting with one of {', '.join(_DB_SCHEMES)}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(_REDIS_SCHEMES):
            raise ValueError(f"must be a Redis URL starting with one of {', '.join(_REDIS_SCHEMES)}")
        return value

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: str | None) -> str | None:
        if value is not None and any(len(part.strip()) < 32 for part in value.split(",")):
            raise ValueError("each key must have at least 32 characters (comma-separate old keys to rotate)")
        return value

    @field_validator("egress_allow")
    @classmethod
    def _egress_allow(cls, value: str) -> str:
        from niochat.egress import parse_allow

        parse_allow(value)  # a typo must fail at start, not let everything (or nothing) through
        return value

    @field_validator("workspace_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("workspace_ws_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value

    def api_url_for_workspace(self) -> str:
        """Where the workspace's server side reaches the API."""
        host = "127.0.0.1" if self.api_host in ("0.0.0.0", "::") else self.api_host
        return self.workspace_api_url or f"http://{host}:{self.api_port}"

    def ws_url_for_workspace(self) -> str:
        """Where an agent's browser opens the API's live socket."""
        if self.workspace_ws_url:
            return self.workspace_ws_url
        base = self.api_url_for_workspace()
        return "ws" + base.removeprefix("http") + "/api/v1/ws"

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
