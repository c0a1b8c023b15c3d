"""docker-compose.yml stays valid and runs the same processes, with the same variables, as `g3n dev up`.

No Docker engine is needed: Debian's docker-compose 1.29 validates a file on its own. It is a
hard requirement (the ./g3n bootstrap installs it), so a missing binary fails these tests.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from g3n_devstack.supervisor import ROLES, SERVICES, service_env

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INFRA = {"kafka", "ifm-db", "crm-db", "init"}


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is not installed: run ./g3n setup (Debian package docker-compose)")
    return found


def _config_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_docker_compose(), "-f", str(path), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=path.parent,
        check=False,
    )


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_file_is_valid_for_docker_compose() -> None:
    result = _config_check(COMPOSE_FILE)
    assert result.returncode == 0, result.stderr


def test_the_validator_rejects_an_unknown_key(tmp_path: Path) -> None:
    broken = _compose()
    broken["services"]["kafka"]["no_such_key"] = True
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = _config_check(path)
    assert result.returncode != 0
    assert "no_such_key" in result.stderr


def test_every_service_process_has_its_own_container() -> None:
    services = _compose()["services"]
    expected = {
        f"{short}-{role}": f"g3n_{package}.entrypoints.{role}"
        for package, short, _port in SERVICES
        for role in ROLES
    }
    assert set(services) == INFRA | set(expected)
    for name, module in expected.items():
        assert services[name]["command"] == ["python", "-m", module]
        assert services[name]["build"]["dockerfile"] == "Dockerfile"


def test_processes_get_exactly_the_variables_the_local_launcher_sets() -> None:
    services = _compose()["services"]
    launcher = set(service_env("k:9092", "postgresql://a", "postgresql://b"))
    assert launcher == {
        "G3N_KAFKA_BOOTSTRAP",
        "G3N_IFM_DATABASE_URL",
        "G3N_IFM_HTTP_HOST",
        "G3N_IFM_HTTP_PORT",
        "G3N_CRM_DATABASE_URL",
        "G3N_CRM_HTTP_HOST",
        "G3N_CRM_HTTP_PORT",
    }
    for name, service in services.items():
        if name in INFRA - {"init"}:
            continue
        assert set(service["environment"]) == launcher, name


def test_infrastructure_is_kraft_kafka_and_one_postgres_per_service() -> None:
    services = _compose()["services"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "KAFKA_ZOOKEEPER_CONNECT" not in kafka["environment"]
    assert services["ifm-db"]["image"] == services["crm-db"]["image"] == "postgres:15"
    assert services["init"]["command"] == ["python", "-m", "g3n_devstack.cli", "init-topics"]
    env = services["ifm-http"]["environment"]
    assert "@ifm-db:" in env["G3N_IFM_DATABASE_URL"] and "@crm-db:" in env["G3N_CRM_DATABASE_URL"]


def test_dockerfile_builds_the_locked_workspace_on_python_311() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM python:3.11-slim" in dockerfile
    assert "uv sync --frozen" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", ".g3n", ".git"} <= set(ignored)
