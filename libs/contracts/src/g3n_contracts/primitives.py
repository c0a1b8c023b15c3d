"""Field types shared by every contract.

Each type is an ``Annotated`` alias so the rule lives in one place and shows up in the generated
JSON Schema. The models are validated in pydantic's *lax* mode (so nested dicts, lists → tuples
and ISO strings work from Python as well as from JSON), which is why every scalar here is
explicitly strict: an amount of ``12.0``, ``True`` or ``"12"`` is a producer bug, never a value to
coerce. Integers are bounded to a signed 64-bit range because every store behind these events
keeps them in ``BIGINT``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictInt, StrictStr, StringConstraints

from g3n_contracts.currencies import CURRENCY_CODES

INT64_MAX = 2**63 - 1
"""Largest amount/points value a contract accepts (Postgres ``BIGINT``)."""

INT32_MAX = 2**31 - 1
"""Largest quantity a contract accepts (Postgres ``INTEGER``)."""

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
"""Lowercase slug: org codes and producer names (never contains ``:``, the Kafka key separator)."""

Id = Annotated[StrictStr, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
"""An opaque identifier (``cus_…``, ``o-1001``, a line id): non-empty, no whitespace."""

Code = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, pattern=r"^\S+$")]
"""A short code chosen by a human or an upstream system (promo code, channel, category)."""

Name = Annotated[StrictStr, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
"""A lowercase snake_case name (tender type, object type, action): a segment of an event type."""

Slug = Annotated[StrictStr, StringConstraints(pattern=SLUG_PATTERN)]
"""A lowercase slug (org code, source)."""

Text = Annotated[StrictStr, StringConstraints(min_length=1, max_length=1000)]
"""Free, human-readable text (reasons, references): non-empty and bounded."""

Email = Annotated[StrictStr, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
"""A plausible e-mail address; deliverability is the CRM's business, not the contract's."""

MinorAmount = Annotated[StrictInt, Field(ge=0, le=INT64_MAX)]
"""A non-negative amount in the currency's minor units (cents). Signs live in field meaning."""

Points = Annotated[StrictInt, Field(ge=0, le=INT64_MAX)]
"""A non-negative number of loyalty points."""

Quantity = Annotated[StrictInt, Field(gt=0, le=INT32_MAX)]
"""A strictly positive unit count."""

Revision = Annotated[StrictInt, Field(ge=1, le=INT64_MAX)]
"""An object revision (starts at 1, +1 per change)."""


def _known_currency(code: str) -> str:
    if code not in CURRENCY_CODES:
        raise ValueError(f"unknown ISO-4217 currency code {code!r}")
    return code


CurrencyCode = Annotated[
    StrictStr,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_known_currency),
    Field(description="ISO-4217 alphabetic code of a currency in circulation, e.g. USD"),
]
"""Three uppercase letters naming a real, circulating ISO-4217 currency."""

ISO_DATE_PREFIX = r"\d{4}-\d{2}-\d{2}"
"""What a date-time string must start with (so digits alone are never read as a Unix time)."""
_ISO_DATE_PREFIX = re.compile(ISO_DATE_PREFIX)


def _datetime_input(value: Any) -> Any:
    """Accept only ``datetime`` objects and ISO-8601 strings.

    Pydantic would otherwise read numbers (and digit-only strings, even in strict JSON mode) as
    Unix timestamps, turning a producer's wrong field into a plausible date.
    """
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE_PREFIX.match(value):
        return value
    raise ValueError("expected an ISO-8601 date-time with a time zone, e.g. 2026-11-20T14:03:11Z")


def _as_utc(value: datetime) -> datetime:
    """Reject naive datetimes (their instant is unknowable) and normalise offsets to UTC.

    UTC-normalised values compare and sort correctly and serialise with a ``Z`` suffix.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("date-time must carry a time zone (e.g. Z or +02:00); naive values are ambiguous")
    if value.tzinfo is UTC:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: pydantic only reports ValueErrors
        raise ValueError("date-time is out of range once converted to UTC") from None


UtcDatetime = Annotated[datetime, BeforeValidator(_datetime_input), AfterValidator(_as_utc)]
"""An aware instant, normalised to UTC; serialised as ISO-8601 with ``Z``."""
