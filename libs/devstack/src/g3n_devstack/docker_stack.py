"""The same stack from containers (testcontainers), for machines with a Docker engine.

Selected with ``G3N_STACK=docker``, or by default when ``docker info`` succeeds. PostgreSQL's
host port is chosen by us and bound explicitly, so ``pg_stop``/``pg_start`` (a container stop
and start) brings the server back on the same address, as the local back end does.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Self

from g3n_devstack import ops
from g3n_devstack.paths import STATE_FILE_NAME, state_home
from g3n_devstack.procs import free_port
from g3n_devstack.stack import SERVICE_DATABASES, Stack, StackKind, register_for_cleanup, unregister

DEFAULT_KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
DEFAULT_PG_IMAGE = "postgres:15"


class DockerStack(Stack):
    """Kafka (KRaft) and PostgreSQL 15 in containers; same interface as LocalStack."""

    kind: StackKind = "docker"

    def __init__(
        self,
        *,
        test: bool = True,
        pg_port: int | None = None,
        databases: Iterable[str] | None = None,
        kafka_image: str | None = None,
        pg_image: str | None = None,
        ready_timeout: float = 120.0,
        **_ignored: Any,
    ) -> None:
        self.test = test
        self._pg_port = pg_port
        self.databases = tuple(databases if databases is not None else (() if test else SERVICE_DATABASES))
        self.kafka_image = kafka_image or os.environ.get("G3N_TC_KAFKA_IMAGE", DEFAULT_KAFKA_IMAGE)
        self.pg_image = pg_image or os.environ.get("G3N_TC_PG_IMAGE", DEFAULT_PG_IMAGE)
        self.ready_timeout = ready_timeout
        super().__init__()
        self._lock = threading.RLock()
        self._kafka: Any = None
        self._pg: Any = None
        self._bootstrap: str | None = None
        self._host = "127.0.0.1"

    @property
    def kafka_bootstrap(self) -> str:
        if self._bootstrap is None:
            raise ops.StackError("the Kafka container is not started")
        return self._bootstrap

    @property
    def pg_host(self) -> str:
        return self._host

    @property
    def pg_port(self) -> int:
        if self._pg_port is None:
            raise ops.StackError("the PostgreSQL container is not started")
        return self._pg_port

    def start(self) -> Self:
        with self._lock:
            if self._pg is not None:
                return self
            register_for_cleanup(self)
            try:
                self._start()
            except BaseException:
                self.stop()
                raise
            return self

    def _start(self) -> None:
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.community.postgres import PostgresContainer

        self._pg_port = self._pg_port or free_port()
        settings = ["-c", "max_connections=200"]
        if self.test:
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        pg = PostgresContainer(self.pg_image, username="postgres", password="postgres", dbname="postgres")
        pg.with_bind_ports(5432, self._pg_port)
        pg.with_command(["postgres", *settings])
        self._pg = pg
        pg.start()
        self._host = pg.get_container_host_ip()

        kafka = KafkaContainer(self.kafka_image).with_kraft()
        kafka.with_env("KAFKA_NUM_PARTITIONS", "4")
        self._kafka = kafka
        kafka.start()
        self._bootstrap = str(kafka.get_bootstrap_server())
        self.write_state()
        ops.run_sync(self._await_ready())
        self.write_state()

    async def _await_ready(self) -> None:
        await ops.wait_pg_ready(self.admin_dsn, limit=self.ready_timeout)
        for db in self.databases:
            await ops.ensure_database(self.admin_dsn, db)
        await ops.wait_kafka_ready(self.kafka_bootstrap, limit=self.ready_timeout)

    def stop(self) -> None:
        with self._lock:
            try:
                for container in (self._kafka, self._pg):
                    if container is not None:
                        with contextlib.suppress(Exception):
                            container.stop()
            finally:
                self._kafka = self._pg = None
                unregister(self)
                self.write_state()

    def pg_stop(self) -> None:
        with self._lock:
            if self._pg is not None:
                self._pg.get_wrapped_container().stop(timeout=30)

    def pg_start(self) -> None:
        with self._lock:
            if self._pg is None:
                raise ops.StackError("the PostgreSQL container is not started")
            self._pg.get_wrapped_container().start()
            ops.run_sync(ops.wait_pg_ready(self.admin_dsn, limit=self.ready_timeout))

    @property
    def state_file(self) -> Path | None:
        return None if self.test else state_home() / STATE_FILE_NAME

    def _state(self) -> dict[str, Any]:
        containers = {
            name: container.get_wrapped_container().id
            for name, container in (("kafka", self._kafka), ("postgres", self._pg))
            if container is not None
        }
        return {
            "kind": self.kind,
            "kafka": {"bootstrap": self._bootstrap} if self._bootstrap else None,
            "postgres": {"host": self._host, "port": self._pg_port, "admin_dsn": self.admin_dsn}
            if self._pg_port
            else None,
            "dsns": {db: self.dsn(db) for db in self.databases},
            "containers": containers,
            "processes": [],
        }
