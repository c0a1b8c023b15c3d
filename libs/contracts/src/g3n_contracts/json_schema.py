"""JSON Schema of every event, one file per ``(event_type, event_version)``.

The files in ``docs/schemas/`` are generated from the models (``python -m g3n_contracts.schemas
docs/schemas``) so that non-Python consumers and reviewers see the exact contract; a test fails
when they are stale. Output is deterministic (sorted keys, two-space indent, trailing newline) so
a regeneration only shows up in a diff when a contract changed. Cross-field rules (line sums,
unique line ids, loyalty points) are not expressible in JSON Schema and live in the descriptions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from g3n_contracts.base import EventPayload
from g3n_contracts.change import ChangeEvent
from g3n_contracts.codec import envelope_model
from g3n_contracts.registry import CHANGE_EVENT_TYPE_PATTERN, CHANGE_EVENT_VERSION, REGISTRY

SCHEMA_SUFFIX: Final = ".schema.json"
CHANGE_EVENT_SCHEMA_NAME: Final = "change-event"
_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def _schema(name: str, version: int, model: type[EventPayload], event_type: dict[str, Any]) -> str:
    schema = envelope_model(model).model_json_schema(mode="validation")
    schema["$schema"] = _DIALECT
    schema["$id"] = f"urn:g3n:event:{name}:v{version}"
    schema["title"] = f"{name} v{version}"
    properties = schema["properties"]
    properties["event_type"] = {"title": "Event Type", "type": "string", **event_type}
    properties["event_version"] = {"title": "Event Version", "type": "integer", "const": version}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_json_schemas() -> dict[str, str]:
    """Return ``{file name: schema text}`` for every registered event and the change event."""
    rendered = {
        f"{event_type}.v{version}{SCHEMA_SUFFIX}": _schema(event_type, version, model, {"const": event_type})
        for (event_type, version), model in sorted(REGISTRY.items())
    }
    rendered[f"{CHANGE_EVENT_SCHEMA_NAME}.v{CHANGE_EVENT_VERSION}{SCHEMA_SUFFIX}"] = _schema(
        CHANGE_EVENT_SCHEMA_NAME,
        CHANGE_EVENT_VERSION,
        ChangeEvent,
        {
            "pattern": CHANGE_EVENT_TYPE_PATTERN,
            "description": "<service>.<object_type>.<action>, e.g. ifm.campaign.status_changed",
        },
    )
    return rendered


def export_json_schemas(directory: Path) -> list[Path]:
    """Write one schema file per ``(event_type, version)`` into ``directory``; return the paths.

    Schema files in ``directory`` that no longer correspond to an event are removed, so the
    directory always mirrors the registry exactly.
    """
    directory.mkdir(parents=True, exist_ok=True)
    rendered = render_json_schemas()
    for stale in directory.glob(f"*{SCHEMA_SUFFIX}"):
        if stale.name not in rendered:
            stale.unlink()
    written: list[Path] = []
    for name, text in rendered.items():
        path = directory / name
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def stale_json_schemas(directory: Path) -> list[str]:
    """Return the names of schema files in ``directory`` that are missing, outdated or obsolete."""
    rendered = render_json_schemas()
    present = {path.name for path in directory.glob(f"*{SCHEMA_SUFFIX}")}
    stale = sorted(present - rendered.keys())
    for name, text in rendered.items():
        path = directory / name
        if name not in present or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale
