"""Fuzzing the HTTP contract: schemathesis against both OpenAPI documents (docs/openapi/*.json),
sent to the real services (their own processes, real databases), authenticated with a key that
holds every role. No response may be a 5xx, and every response must match the documented
status codes, content type and schema -- for generated valid bodies and for invalid ones.

Bounded: a few examples per operation and mode (``G3N_FUZZ_EXAMPLES``, default 10), so both
services together take well under two minutes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from g3n_cli.services import SERVICES, ServiceInfo
from g3n_cli.testing import ServiceProcesses, create_key, prepare_database, start_service
from g3n_devstack.ops import run_sync
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = int(os.environ.get("G3N_FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module", params=sorted(SERVICES))
def running(
    request: pytest.FixtureRequest, stack: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServiceInfo, ServiceProcesses, dict[str, str]]]:
    info = SERVICES[request.param]
    org = f"fz{uuid.uuid4().hex[:6]}"

    async def prepare() -> tuple[str, str]:
        dsn = await prepare_database(stack, info, f"fuzz{info.short}")
        return dsn, await create_key(dsn, info, org, sorted(info.definition().roles))

    dsn, key = run_sync(prepare())
    service = start_service(info, dsn, stack.kafka_bootstrap, tmp_path_factory.mktemp(f"fuzz-{info.short}"))
    try:
        yield info, service, {"x-api-key": key, "x-orgcode": org}
    finally:
        service.stop()


def test_no_5xx_and_no_response_outside_the_schema(
    running: tuple[ServiceInfo, ServiceProcesses, dict[str, str]],
) -> None:
    info, service, headers = running
    schema = schemathesis.openapi.from_path(str(ROOT / "docs" / "openapi" / f"{info.name}.json"))
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"invalid operation in the schema: {result.err()}")
            continue
        operation = result.ok()
        for mode, examples in (
            (GenerationMode.POSITIVE, EXAMPLES),
            (GenerationMode.NEGATIVE, max(2, EXAMPLES // 2)),
        ):
            strategy = operation.as_strategy(
                generation_mode=mode, headers={"x-orgcode": headers["x-orgcode"]}
            )

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def fuzz(case: Any) -> None:
                nonlocal calls
                calls += 1
                case.call_and_validate(base_url=service.base_url, headers=headers, checks=CHECKS, timeout=30)

            try:
                fuzz()
            except Unsatisfiable:  # nothing to make invalid (GET /stat takes no input)
                continue
            except (
                Exception,
                BaseExceptionGroup,
            ) as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    assert calls > 0
    assert not failures, f"{len(failures)} failing operation(s):\n\n" + "\n\n".join(failures)
