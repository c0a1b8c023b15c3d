"""Exit codes per error class, and how the CLI prints an error.

=====  ==========================================================================================
 code  meaning
=====  ==========================================================================================
   0   success
   1   anything else (an error code the CLI does not know, an operator command that failed)
   2   bad input: ``validation-error``, ``revision-required``, a usage error, unreadable JSON
   3   credential: ``unauthorized`` (no/unknown key), ``forbidden`` (key lacks the role)
   4   ``not-found`` (also: another org's object)
   5   state: ``invalid-state``, ``insufficient-balance``, ``conflict``, ``revision-mismatch``,
       ``idempotency-mismatch``
   6   server: ``internal`` or any 5xx, or a response that is not a g3n envelope
   7   network: connection refused, DNS, timeout (nothing reached the service)
   8   configuration: a profile that does not exist, an unreadable config file
=====  ==========================================================================================
"""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import Any

import orjson
from rich.console import Console
from rich.markup import escape


class ExitCode(IntEnum):
    OK = 0
    OTHER = 1
    VALIDATION = 2
    AUTH = 3
    NOT_FOUND = 4
    STATE = 5
    SERVER = 6
    NETWORK = 7
    CONFIG = 8


EXIT_BY_CODE: dict[str, ExitCode] = {
    "validation-error": ExitCode.VALIDATION,
    "revision-required": ExitCode.VALIDATION,
    "unauthorized": ExitCode.AUTH,
    "forbidden": ExitCode.AUTH,
    "not-found": ExitCode.NOT_FOUND,
    "invalid-state": ExitCode.STATE,
    "insufficient-balance": ExitCode.STATE,
    "conflict": ExitCode.STATE,
    "revision-mismatch": ExitCode.STATE,
    "idempotency-mismatch": ExitCode.STATE,
    "method-not-allowed": ExitCode.SERVER,
    "internal": ExitCode.SERVER,
    "network": ExitCode.NETWORK,
    "config-error": ExitCode.CONFIG,
}


def exit_code_for(code: str, status: int | None = None) -> ExitCode:
    found = EXIT_BY_CODE.get(code)
    if found is not None:
        return found
    if status is not None and status >= 500:
        return ExitCode.SERVER
    return ExitCode.OTHER


class CliError(Exception):
    """An error to print as ``error: <code>: <message>`` and exit with its class's code."""

    def __init__(
        self,
        code: str,
        message: str,
        exit_code: ExitCode | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.status = status
        self.exit_code = exit_code if exit_code is not None else exit_code_for(code, status)


def print_error(err: CliError, *, as_json: bool = False) -> None:
    """To stderr: one line with the code and message, then the fields or details if any."""
    if as_json:
        envelope = {
            "success": False,
            "error": {"code": err.code, "message": err.message, "details": err.details},
        }
        sys.stderr.write(orjson.dumps(envelope).decode() + "\n")
        return
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    status = f" (HTTP {err.status})" if err.status else ""
    console.print(f"[bold red]error:[/] [red]{escape(err.code)}[/]{status}: {escape(err.message)}")
    fields = err.details.get("fields") if isinstance(err.details, dict) else None
    if isinstance(fields, list) and fields:
        for f in fields:
            if isinstance(f, dict):
                console.print(f"  - {escape(str(f.get('path')))}: {escape(str(f.get('message')))}")
    rest = {k: v for k, v in err.details.items() if k != "fields"}
    if rest:
        console.print(f"  details: {escape(orjson.dumps(rest).decode())}")
