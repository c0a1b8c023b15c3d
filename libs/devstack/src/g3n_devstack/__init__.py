"""g3n_devstack: real Kafka and PostgreSQL for development and tests, with or without Docker.

Public API::

    make_stack(*, test: bool, kind: "local" | "docker" | None = None, **options) -> Stack
    stack_kind() -> "local" | "docker"          # G3N_STACK=local|docker|auto
    LocalStack.for_tests(**options) / LocalStack.for_dev(**options) -> LocalStack
    DockerStack(test=True, ...)                  # testcontainers
    Stack: start() stop() pg_stop() pg_start() kafka_bootstrap pg_host pg_port dsn(db)
           admin_dsn ensure_database(name, owner=None) -> dsn  create_topics(names, partitions=4)
           aensure_database / acreate_topics / drop_database / state() / write_state()
    ensure_kafka(version=None) -> KafkaDist      # Maven-resolved broker jars, cached under HOME
    unique_name(prefix) / unique_topic(prefix)
"""

from g3n_devstack.docker_stack import DockerStack
from g3n_devstack.kafka_dist import KafkaDist, ensure_kafka
from g3n_devstack.local import LocalStack
from g3n_devstack.naming import unique_name, unique_topic
from g3n_devstack.ops import StackError
from g3n_devstack.stack import SERVICE_DATABASES, Stack, docker_available, make_stack, stack_kind

__all__ = [
    "SERVICE_DATABASES",
    "DockerStack",
    "KafkaDist",
    "LocalStack",
    "Stack",
    "StackError",
    "docker_available",
    "ensure_kafka",
    "make_stack",
    "stack_kind",
    "unique_name",
    "unique_topic",
]
