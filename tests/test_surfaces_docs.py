"""The API documents under docs/ are what the code generates (regenerate with
`uv run python -m g3n_cli.apidocs`)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from g3n_cli.apidocs import asyncapi_document, dumps, openapi_document, topic_table
from g3n_cli.services import SERVICES
from g3n_contracts import REGISTRY, topic_for, topics
from g3n_contracts.topics import dlq_topic

ROOT = Path(__file__).resolve().parents[1]
HOW = "docs are stale: run `uv run python -m g3n_cli.apidocs` and commit the result"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_openapi_export_is_current(name: str) -> None:
    path = ROOT / "docs" / "openapi" / f"{name}.json"
    assert path.exists(), HOW
    assert path.read_bytes() == dumps(openapi_document(SERVICES[name])), HOW


def test_asyncapi_export_is_current() -> None:
    path = ROOT / "docs" / "asyncapi.json"
    assert path.exists(), HOW
    assert path.read_bytes() == dumps(asyncapi_document()), HOW


def test_asyncapi_describes_every_topic_event_type_and_consumer_group() -> None:
    doc = orjson.loads((ROOT / "docs" / "asyncapi.json").read_bytes())
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert set(topics.ALL_TOPICS) <= addresses
    for info in SERVICES.values():
        defn = info.definition()
        for spec in defn.consumers:
            for topic in spec.handlers(defn.settings):
                assert f"{topic}:receive:{spec.group}" in doc["channels"]
                assert dlq_topic(topic, spec.group) in addresses
        for topic in defn.publishes:
            assert f"{topic}:send:{defn.name}" in doc["channels"]
    text = orjson.dumps(doc["components"]["schemas"]).decode()
    for event_type, _version in REGISTRY:
        model = REGISTRY[(event_type, _version)].__name__
        assert model in doc["components"]["schemas"], model
        assert event_type in topic_table()[topic_for(event_type)]["event_types"]
    assert "Event_SaleRecorded_" in text and "ChangeEvent" in text
    for op in doc["operations"].values():
        assert op["action"] in ("send", "receive")
        assert op["channel"]["$ref"].removeprefix("#/channels/") in doc["channels"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_openapi_documents_every_operation_with_schemas_and_roles(name: str) -> None:
    info = SERVICES[name]
    doc = orjson.loads((ROOT / "docs" / "openapi" / f"{name}.json").read_bytes())
    for op in info.operations():
        entry = doc["paths"][f"/{info.short}{op.path}"]["post"]
        assert entry["operationId"] == op.tool_name and entry["x-required-role"] == op.role
        ref = entry["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.rsplit("/", 1)[-1] in doc["components"]["schemas"]
        assert {"200", "400", "401", "403", "404", "500"} <= set(entry["responses"])
