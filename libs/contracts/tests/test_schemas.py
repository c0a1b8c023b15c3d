"""The JSON Schemas committed in docs/schemas are exactly what the models generate."""

from __future__ import annotations

import json
from pathlib import Path

from g3n_contracts import REGISTRY, export_json_schemas
from g3n_contracts.schemas import main

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "schemas"
REGENERATE = "uv run python -m g3n_contracts.schemas docs/schemas"


def test_committed_json_schemas_are_current(tmp_path: Path) -> None:
    fresh = {path.name: path.read_text(encoding="utf-8") for path in export_json_schemas(tmp_path)}
    committed = {path.name: path.read_text(encoding="utf-8") for path in COMMITTED.glob("*.schema.json")}
    assert sorted(committed) == sorted(fresh), f"schema files differ; run `{REGENERATE}`"
    stale = [name for name, text in fresh.items() if committed[name] != text]
    assert not stale, f"stale schemas {stale}; run `{REGENERATE}`"


def test_schema_export_writes_one_file_per_event_type_and_version_plus_change_events(tmp_path: Path) -> None:
    names = sorted(path.name for path in export_json_schemas(tmp_path))
    assert len(names) == len(REGISTRY) + 1
    assert "scm.sale.recorded.v1.schema.json" in names and "change-event.v1.schema.json" in names


def test_schema_export_is_deterministic_and_removes_obsolete_files(tmp_path: Path) -> None:
    (tmp_path / "scm.sale.deleted.v1.schema.json").write_text("{}\n")
    first = {path.name: path.read_bytes() for path in export_json_schemas(tmp_path)}
    second = {path.name: path.read_bytes() for path in export_json_schemas(tmp_path)}
    assert first == second
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(first)
    assert all(text.endswith(b"}\n") for text in first.values())


def test_schema_pins_event_type_and_version_and_forbids_unknown_fields(tmp_path: Path) -> None:
    export_json_schemas(tmp_path)
    schema = json.loads((tmp_path / "scm.sale.recorded.v1.schema.json").read_text())
    assert schema["properties"]["event_type"]["const"] == "scm.sale.recorded"
    assert schema["properties"]["event_version"]["const"] == 1
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["SaleLine"]["additionalProperties"] is False


def test_check_mode_reports_stale_files_without_writing(tmp_path: Path) -> None:
    assert main([str(tmp_path), "--check"]) == 1
    assert list(tmp_path.iterdir()) == []
    assert main([str(tmp_path)]) == 0
    assert main([str(tmp_path), "--check"]) == 0
