"""Structured logs: one JSON object a line, scrubbed of secrets and personal data.

Every record (ours through structlog, Django's and the libraries' through
the standard library) goes through `scrub` before it is written, so a
status-link secret in a path, an e-mail address in a message, an API token in
a header or a bank account number in a payload never reach the log. The
request id that django-structlog binds to each request is in every record
written while serving it, and in the tasks the request queued.
"""

import logging
import re
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

REDACTED = "[redacted]"
# Keys whose values are never logged, wherever they appear.
SENSITIVE_KEYS = re.compile(
    r"pass(word)?|secret|token|authorization|cookie|session|csrf|api[_-]?key|signature|"
    r"email|e-mail|phone|iban|account[_-]?number|card|otp|x-forwarded-for|ip[_-]?address",
    re.IGNORECASE,
)
# Patterns scrubbed from every string.
PATTERNS = [
    # The private status links: /api/v1/pledges/status/<secret>/, /<lang>/pledge/done/<secret>/
    (re.compile(r"(/status/|/done/)[A-Za-z0-9_\-]{8,}"), r"\1" + REDACTED),
    (re.compile(r"\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]{8,}", re.IGNORECASE), r"\1 " + REDACTED),
    (re.compile(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9]+"), REDACTED),
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"), "[email]"),
    # IBANs (not RF creditor references, which are printed for anyone to see).
    (re.compile(r"\b(?!RF)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), "[iban]"),
]


def scrub_text(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_value(value: Any, depth: int = 0) -> Any:
    if depth > 6:
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and SENSITIVE_KEYS.search(key) else scrub_value(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [scrub_value(item, depth + 1) for item in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    # Anything else (a request object in Django's own records) is logged as
    # its text, scrubbed like any string.
    return scrub_text(str(value))


# Fields of the record itself that are never personal data.
_KEEP = frozenset({"event", "level", "logger", "timestamp", "request_id", "correlation_id", "task_id", "exception"})


def scrub(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: the event dict with secrets and personal data removed."""
    for key, value in list(event_dict.items()):
        if key in ("_record", "_from_structlog"):
            continue
        if key not in _KEEP and SENSITIVE_KEYS.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = scrub_value(value)
    return event_dict


def _add_extra(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """A standard library record's `extra=` fields, as structlog fields."""
    record = event_dict.get("_record")
    if record is not None:
        for key, value in record.__dict__.items():
            if key not in _STANDARD_RECORD_ATTRS and not key.startswith("_") and key not in event_dict:
                event_dict[key] = value
    return event_dict


_STANDARD_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

SHARED_PROCESSORS: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def structured_formatter(json: bool = True) -> structlog.stdlib.ProcessorFormatter:
    """The logging formatter of settings.LOGGING; configures structlog too,
    so the web processes and the Celery workers log alike."""
    configure_structlog()
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*SHARED_PROCESSORS, _add_extra, structlog.stdlib.PositionalArgumentsFormatter()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            scrub,
            renderer,
        ],
    )


def configure_structlog() -> None:
    if structlog.is_configured():
        return
    structlog.configure(
        processors=[
            *SHARED_PROCESSORS,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
