"""The executor as a program: load the configuration, run a backup or a restore, report one JSON line.

Why a report line: the Job's log is what the operator (and a person) reads after the Job ends; one JSON
object on stdout with the outcome (key, size, checksum, deletions, or the failure's reason and message)
is easy to parse and carries no secret. Exit status: 0 done, 1 failed, 2 unusable configuration.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from openbao_operator.api.errors import field_errors
from openbao_operator.api.executor import CONFIG_ENV, REPORT_FILE_ENV, ExecutorConfig

from .backup import run_backup
from .credentials import load_credentials
from .errors import ExecutorConfigError, ExecutorError
from .restore import run_restore
from .storage import open_storage

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def load_config(path: str | None, *, environ: dict[str, str] | None = None) -> ExecutorConfig:
    """From ``path`` (JSON or YAML-free JSON text), else from the environment variable ``CONFIG_ENV``."""
    env = os.environ if environ is None else environ
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ExecutorConfigError("--config", f"cannot read {path}: {exc.strerror}") from None
    elif env.get(CONFIG_ENV):
        text = env[CONFIG_ENV]
    else:
        raise ExecutorConfigError("--config", f"give --config FILE or set {CONFIG_ENV}")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ExecutorConfigError("--config", f"not JSON: {exc}") from None
    try:
        return ExecutorConfig.model_validate(data)
    except ValidationError as exc:
        raise ExecutorConfigError("config", "; ".join(str(e) for e in field_errors(exc))) from None


def _report(out: TextIO, outcome: dict[str, Any], *, environ: dict[str, str] | None = None) -> None:
    line = json.dumps(outcome, sort_keys=True) + "\n"
    out.write(line)
    out.flush()
    path = (os.environ if environ is None else environ).get(REPORT_FILE_ENV)
    if path:
        # the report is on stdout anyway; a missing termination-log mount must not fail the run
        with contextlib.suppress(OSError):
            Path(path).write_text(line)


async def _run(kind: str, config: ExecutorConfig, *, key: str | None, force: bool) -> dict[str, Any]:
    creds = load_credentials(config.credentials_dir, provider=config.target.provider)
    storage = open_storage(config.target, creds, web_identity_token_file=config.web_identity_token_file)
    if kind == "backup":
        return asdict(await run_backup(config, storage=storage))
    if not key:
        raise ExecutorConfigError("--key", "the snapshot key to restore is required")
    return asdict(await run_restore(config, key=key, storage=storage, force=force))


def main(
    kind: str,
    *,
    config_path: str | None,
    key: str | None = None,
    force: bool = False,
    out: TextIO = sys.stdout,
    runner: Callable[..., Any] | None = None,
) -> int:
    """Run one executor; returns the exit status after writing the report line."""
    import asyncio

    try:
        config = load_config(config_path)
        result = asyncio.run(_run(kind, config, key=key, force=force)) if runner is None else runner(config)
    except ExecutorConfigError as exc:
        _report(out, {"operation": kind, "ok": False, "reason": exc.reason, "message": str(exc)})
        return EXIT_CONFIG
    except ExecutorError as exc:
        _report(out, {"operation": kind, "ok": False, "reason": exc.reason, "message": str(exc)})
        return EXIT_FAILED
    _report(out, {"operation": kind, "ok": True, **result})
    return EXIT_OK
