"""Structured logging (structlog): console for people, JSON for production; CPF/CNPJ always masked."""

from __future__ import annotations

import logging
import re
import sys

import structlog

from niochat.masking import mask_documents_in

_SECRET_KEYS = {"password", "token", "api_key", "apikey", "secret", "authorization"}
# A UUID's digit groups ("e6a8f115-5896-4740-...") can add up to eleven digits, a CPF's count: ids are left whole
# so that a log line still finds its channel or conversation.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _mask_text(text: str) -> str:
    """Documents masked everywhere in a log text except inside UUIDs."""
    parts, position = [], 0
    for match in _UUID.finditer(text):
        parts += [mask_documents_in(text[position:match.start()]), match.group(0)]
        position = match.end()
    parts.append(mask_documents_in(text[position:]))
    return "".join(parts)


def _mask(_, __, event_dict: dict) -> dict:
    for key, value in event_dict.items():
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = "***"
        elif isinstance(value, str):
            event_dict[key] = _mask_text(value)
    return event_dict


_WEBHOOK_KEY = re.compile(r"(/webhooks/[^/\s]+/)[^/\s?\"]+")
# Credentials in a query string (the SGP documents its GET listings with ?app=...&token=...).
_QUERY_SECRET = re.compile(r"([?&](?:token|apikey|api_key|password|senha)=)[^&\s\"]+", re.IGNORECASE)


def _hidden(text: str) -> str:
    return _QUERY_SECRET.sub(r"\1***", _WEBHOOK_KEY.sub(r"\1***", text))


class _HideWebhookKeys(logging.Filter):
    """The channel key in a webhook URL authenticates the provider, and a token in a query string is a token:
    access logs show the route, not the key."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            record.args = tuple(_hidden(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str) and ("/webhooks/" in record.msg or "=" in record.msg):
            record.msg = _hidden(record.msg)
        return True


def configure_logging(log_format: str = "console", level: str = "INFO") -> None:
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:  # colour codes only for a terminal: log files stay readable
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _mask,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_HideWebhookKeys())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Chatty libraries: every pg_ctl call, HTTP request and arq job at INFO; their warnings still show.
    for name in ("pgserver", "httpx", "arq.worker", "arq.jobs"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
