"""Application errors with the g3n error codes (spec/README.md).

Service functions raise these; every surface (HTTP, CLI, MCP, consumer) renders them. They
carry no transport detail: the HTTP kit maps `code` to a status in one table.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    code: ClassVar[str] = "internal"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


class ValidationFailed(AppError):
    """Body or header invalid. `fields` is a list of {path, message}."""

    code = "validation-error"

    def __init__(self, message: str, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message, {"fields": fields or []})


class Unauthorized(AppError):
    code = "unauthorized"


class Forbidden(AppError):
    code = "forbidden"


class NotFound(AppError):
    code = "not-found"


class InvalidState(AppError):
    """The object's state forbids the action; details name the state and what is needed."""

    code = "invalid-state"

    def __init__(self, message: str, *, state: str | None = None, required: Any = None, **extra: Any) -> None:
        details: dict[str, Any] = dict(extra)
        if state is not None:
            details["state"] = state
        if required is not None:
            details["required"] = required
        super().__init__(message, details)


class InsufficientBalance(AppError):
    code = "insufficient-balance"

    def __init__(self, message: str, *, available: int, **extra: Any) -> None:
        super().__init__(message, {"available": available, **extra})


class Conflict(AppError):
    code = "conflict"


class RevisionMismatch(AppError):
    code = "revision-mismatch"

    def __init__(self, message: str, *, current_revision: int) -> None:
        super().__init__(message, {"current_revision": current_revision})


class RevisionRequired(AppError):
    code = "revision-required"


class IdempotencyMismatch(AppError):
    code = "idempotency-mismatch"


class InternalError(AppError):
    code = "internal"


def check_revision(*, expected: int | None, current: int, what: str) -> None:
    """Guard an update with `expected_revision` (428 when missing, 409 when stale)."""
    if expected is None:
        raise RevisionRequired(f"{what}: expected_revision is required")
    if expected != current:
        raise RevisionMismatch(
            f"{what}: expected revision {expected}, current is {current}", current_revision=current
        )
