"""Structured logs: JSON lines carrying the reconcile's context, with secrets redacted before rendering.

Why structlog with contextvars: the controller, namespace, name and a reconcile id are bound once around a
reconcile (:func:`reconcile_context`) and then appear on every line logged inside it, across ``await``s,
including lines from httpx2 and lightkube, which are routed through the same processors.

Why redaction here, in the one pipeline every line passes: "no secret value appears in a log line" is an
invariant, and a processor is the only place that can enforce it for code not yet written. It redacts
values under secret-looking keys (``token``, ``password``, ``unseal_key``, a Secret's ``data``, ...)
at any depth, and bearer tokens, JWTs, PEM private keys, OpenBao tokens (``s.``/``b.``/``r.`` and the
``hvs.``/``hvb.``/``hvr.`` forms) and raw base64 keys inside any string. What is deliberately *not* redacted:
hex strings (a sha256 config hash or image digest is indistinguishable from a hex-encoded key, and the
operator never prints keys in hex) and single-case text (names, uids), so the logs stay useful.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[REDACTED]"

# Key names are split into words (snake, kebab, dotted and camelCase); any of these words marks a secret.
_SECRET_WORDS = frozenset(
    {
        "token",
        "tokens",
        "secret",
        "secrets",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "key",
        "keys",
        "data",
        "stringdata",
        "credential",
        "credentials",
        "authorization",
        "cookie",
        "bearer",
        "private",
        "apikey",
        "jwt",
    }
)
# Keys that name things rather than hold them, despite containing a secret word.
_ALLOWED_KEYS = frozenset({"key_name", "keyname", "secret_name", "secretname", "token_ttl", "event", "level"})
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
# Random material has both cases; names, hex digests (sha256 config hashes, image digests), uids and
# paths in this operator's logs are lower-case or have separators every few characters. Requiring both
# cases is what keeps a 64-hex-digit digest readable while a base64 key of the same length is redacted.
_MIXED = r"(?=[A-Za-z0-9_+/-]*[a-z])(?=[A-Za-z0-9_+/-]*[A-Z])"
_IN_TEXT = (
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # a JWT (service account tokens)
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL),
    # OpenBao service and recovery tokens: "s." / "r." and 24 base62 characters, then ".<namespace id>" outside
    # the root namespace; "hvs." / "hvr." are the Vault-style prefixes some tooling still prints.
    re.compile(rf"(?<![\w.-])(?:hv[sr]|[sr])\.{_MIXED}[A-Za-z0-9_-]{{24,}}(?:\.[A-Za-z0-9]{{1,8}})?(?![\w-])"),
    # Batch tokens: "b." / "hvb." and the base64url of an encrypted token entry (100+ characters).
    re.compile(rf"(?<![\w.-])(?:hvb|b)\.{_MIXED}[A-Za-z0-9_-]{{40,}}(?:\.[A-Za-z0-9]{{1,8}})?(?![\w-])"),
    # Raw keys in base64 (a 32-byte unseal key is 44 characters), standard or url-safe alphabet.
    re.compile(rf"(?<![A-Za-z0-9+/_-]){_MIXED}[A-Za-z0-9+/]{{40,}}={{0,2}}(?![A-Za-z0-9+/_-])"),
    re.compile(rf"(?<![A-Za-z0-9+/_-]){_MIXED}[A-Za-z0-9_-]{{40,}}={{0,2}}(?![A-Za-z0-9+/_-])"),
)


def is_secret_key(name: str) -> bool:
    """True when a field called ``name`` may hold a secret value."""
    if name.lower() in _ALLOWED_KEYS:
        return False
    words = {w.lower() for w in _WORD.findall(name)}
    return bool(words & _SECRET_WORDS) or name.lower() in _SECRET_WORDS


def redact_value(value: Any) -> Any:
    """``value`` with secret-keyed entries and secret-looking text replaced by ``[REDACTED]``, at any depth."""
    if isinstance(value, Mapping):
        return {k: REDACTED if isinstance(k, str) and is_secret_key(k) else redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    if isinstance(value, str):
        for pattern in _IN_TEXT:
            value = pattern.sub(REDACTED, value)
        return value
    return value


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: see :func:`redact_value`; never touches the level or the timestamp."""
    for key in list(event_dict):
        if key in ("level", "timestamp", "logger"):
            continue
        if key != "event" and is_secret_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = redact_value(event_dict[key])
    return event_dict


def configure_logging(*, json: bool = True, level: str | int = "INFO", stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging (httpx2, lightkube, aiohttp) through one redacting pipeline.

    ``json=False`` renders for humans (development); in a cluster use JSON lines.
    """
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    renderer: Processor = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            # NB: a traceback may quote a secret from a local variable or a message; redact it too.
            redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # httpx2 logs every request at INFO; that is noise at steady state and the request counter exists for audits.
    logging.getLogger("httpx2").setLevel(logging.WARNING)


def new_reconcile_id() -> str:
    """A short random id telling one reconcile's lines from another's."""
    return uuid.uuid4().hex[:12]


@contextmanager
def reconcile_context(
    *, controller: str, namespace: str, name: str, new_id: Callable[[], str] = new_reconcile_id
) -> Iterator[str]:
    """Bind controller, namespace, name and a fresh reconcile_id to every log line inside; yields the id."""
    reconcile_id = new_id()
    with structlog.contextvars.bound_contextvars(
        controller=controller, namespace=namespace, name=name, reconcile_id=reconcile_id
    ):
        yield reconcile_id


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


__all__ = [
    "REDACTED",
    "configure_logging",
    "get_logger",
    "is_secret_key",
    "new_reconcile_id",
    "reconcile_context",
    "redact",
    "redact_value",
]
