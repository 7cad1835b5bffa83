"""The FastAPI application: `create_app()` for tests and `niochat serve`, `api.app:app` for uvicorn/gunicorn."""

from __future__ import annotations

from contextlib import asynccontextmanager

from arq.connections import ArqRedis
from fastapi import FastAPI

from api.bodylimit import BodyLimit
from api.metrics import instrument
from api.ratelimit import RateLimits
from api.routes import (
    audit,
    auth,
    channels,
    contacts,
    conversation_actions,
    conversation_events,
    conversation_reads,
    conversations,
    csat as csat_routes,
    customer,
    health,
    knowledge as knowledge_routes,
    labels,
    message_retry,
    presence,
    privacy as privacy_routes,
    quick_replies,
    search,
    settings as settings_routes,
    teams,
    users,
    ws,
)
from api.state import AppState
from api.webhooks import routes as webhooks
from api.webhooks.channels import ChannelDirectory
from niochat.database import API_LOGIN, async_engine, login_url
from niochat.embedded import Services, ServiceUrls
from niochat.logging import configure_logging
from niochat.redis import JOB_CODEC, QUEUE_NAME, async_redis
from niochat.secrets import Keyring, load_secret_key
from niochat.settings import Settings, get_settings


def create_app(settings: Settings | None = None, urls: ServiceUrls | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services = None
        resolved = urls
        if resolved is None:  # started directly by uvicorn/gunicorn: configured URLs, else embedded
            configure_logging(settings.log_format, settings.log_level)
            services = Services(settings)
            resolved = services.start()
        # A fixed pool: connections opened and closed per burst (overflow) cost more than waiting for one.
        login = login_url(resolved.database_url, API_LOGIN, settings.database_api_password)
        engine = async_engine(login, pool_size=20, max_overflow=0)
        redis = async_redis(resolved.redis_url, socket_timeout=2)
        arq = ArqRedis(connection_pool=redis.connection_pool, default_queue_name=QUEUE_NAME, **JOB_CODEC)
        keyring = Keyring(load_secret_key(settings))
        app.state.niochat = AppState(
            settings=settings, engine=engine, redis=redis, keyring=keyring, arq=arq,
            limits=RateLimits(resolved.redis_url), channels=ChannelDirectory(engine, keyring, redis),
        )
        try:
            yield
        finally:
            await redis.aclose()
            await engine.dispose()
            if services is not None:
                services.stop()

    app = FastAPI(
        title="NioChat API",
        version="0.1.0",
        description="WhatsApp customer service for internet providers: webhooks, agents' REST API, metrics.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit)  # inside the metrics middleware: refused bodies are counted as 413s
    instrument(app)
    app.include_router(health.router)
    app.include_router(webhooks.router)
    app.include_router(auth.router, prefix="/api/v1")
    app.include_router(conversations.router, prefix="/api/v1")
    app.include_router(conversation_actions.router, prefix="/api/v1")
    app.include_router(conversation_reads.router, prefix="/api/v1")
    app.include_router(conversation_events.router, prefix="/api/v1")
    app.include_router(message_retry.router, prefix="/api/v1")
    app.include_router(contacts.router, prefix="/api/v1")
    app.include_router(teams.router, prefix="/api/v1")
    app.include_router(users.router, prefix="/api/v1")
    app.include_router(channels.router, prefix="/api/v1")
    app.include_router(audit.router, prefix="/api/v1")
    app.include_router(csat_routes.router, prefix="/api/v1")
    app.include_router(settings_routes.router, prefix="/api/v1")
    app.include_router(ws.router, prefix="/api/v1")
    app.include_router(privacy_routes.router, prefix="/api/v1")
    app.include_router(labels.router, prefix="/api/v1")
    app.include_router(labels.on_conversations, prefix="/api/v1")
    app.include_router(quick_replies.router, prefix="/api/v1")
    app.include_router(search.router, prefix="/api/v1")
    app.include_router(customer.router, prefix="/api/v1")
    app.include_router(knowledge_routes.router, prefix="/api/v1")
    app.include_router(presence.router, prefix="/api/v1")
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory api.app:app_factory` and gunicorn: settings from the environment."""
    return create_app()
