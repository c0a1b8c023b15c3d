"""Unique names for test databases and topics (valid as SQL identifiers and Kafka topic names)."""

from __future__ import annotations

import re
import uuid

_CLEAN = re.compile(r"[^a-z0-9_]+")


def unique_name(prefix: str = "t") -> str:
    """``<prefix>_<10 hex>``: lower-case, starts with a letter, at most 63 characters."""
    clean = _CLEAN.sub("_", prefix.lower()).strip("_")[:40] or "t"
    if not clean[0].isalpha():
        clean = f"t_{clean}"
    return f"{clean}_{uuid.uuid4().hex[:10]}"


def unique_topic(prefix: str = "t") -> str:
    """``<prefix>.<10 hex>`` (dots, dashes and underscores in the prefix are kept)."""
    clean = re.sub(r"[^A-Za-z0-9._-]+", "-", prefix).strip(".-") or "t"
    return f"{clean[:200]}.{uuid.uuid4().hex[:10]}"
