"""One bootstrap per service, four processes: HTTP, consumer, relay, scheduler.

A service describes itself once in a `ServiceDefinition` (its composition root builds it);
each entrypoint module (`python -m g3n_<svc>.entrypoints.<process>`) calls one runner here.
The processes share nothing but the database and Kafka, so each can crash, restart and scale
on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from g3n_kit.consumer import BatchHandler, ConsumerLoop
from g3n_kit.db import Database
from g3n_kit.kafka import ensure_topics, group_lag
from g3n_kit.migrations import KIT_MIGRATIONS, MigrationSource, migrate
from g3n_kit.relay import OutboxRelay, backlog
from g3n_kit.settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsumerSpec:
    """A consumer group and, per topic, the batch handler that applies its events."""

    group: str
    handlers: Callable[[ServiceSettings], Mapping[str, BatchHandler]]


@dataclass(frozen=True)
class ScheduledJob:
    """Periodic work. `run` must be safe when two schedulers run it at once (lock rows with
    SKIP LOCKED or take an advisory lock); it returns how many items it processed."""

    name: str
    interval_s: float
    run: Callable[[Database], Awaitable[int]]


@dataclass(frozen=True)
class ServiceDefinition:
    name: str  # "influencer"
    short: str  # "ifm": HTTP prefix /ifm, settings prefix G3N_IFM_
    settings: ServiceSettings
    migrations: Sequence[MigrationSource]
    operations: Sequence[Any] = ()
    roles: frozenset[str] = frozenset()
    consumers: Sequence[ConsumerSpec] = ()
    jobs: Sequence[ScheduledJob] = ()
    publishes: Sequence[str] = ()
    version: str = "0.1.0"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def all_migrations(self) -> list[MigrationSource]:
        return [KIT_MIGRATIONS, *self.migrations]


async def open_database(defn: ServiceDefinition, *, max_size: int | None = None) -> Database:
    await migrate(defn.settings.database_url, defn.all_migrations)
    return await Database.connect(
        defn.settings.database_url,
        min_size=defn.settings.db_pool_min,
        max_size=max_size or defn.settings.db_pool_max,
    )


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


_METRICS_OFFSET = {"consumer": 1, "relay": 2, "scheduler": 3}


def _serve_metrics(defn: ServiceDefinition, process: str) -> None:
    base = defn.settings.metrics_port_base
    if not base:
        return
    from prometheus_client import start_http_server

    port = base + _METRICS_OFFSET[process]
    try:
        start_http_server(port, addr=defn.settings.http_host)
        log.info("metrics served", extra={"port": port})
    except OSError as exc:  # a busy port must not stop the process from doing its work
        log.warning("metrics port unavailable", extra={"port": port, "error": str(exc)})


class StatProvider:
    """`GET /<prefix>/stat`: liveness plus database, Kafka, consumer lag and outbox backlog.
    Kafka figures are cached for two seconds so a polling dashboard cannot load the broker."""

    def __init__(self, defn: ServiceDefinition, db: Callable[[], Database]) -> None:
        self.defn, self.db = defn, db
        self._kafka: tuple[float, dict[str, Any]] | None = None

    async def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {"service": self.defn.name, "version": self.defn.version}
        db = self.db()
        out["database"] = {"ok": await db.ping()}
        if out["database"]["ok"]:
            async with db.connection() as conn:
                out["outbox_backlog"] = await backlog(conn)
        out["kafka"] = await self._kafka_stat()
        out["ok"] = bool(out["database"]["ok"] and out["kafka"]["ok"])
        return out

    async def _kafka_stat(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._kafka and now - self._kafka[0] < 2.0:
            return self._kafka[1]
        stat: dict[str, Any] = {"ok": True, "consumer_lag": {}}
        try:
            for spec in self.defn.consumers:
                topics = list(spec.handlers(self.defn.settings))
                stat["consumer_lag"][spec.group] = await asyncio.wait_for(
                    group_lag(self.defn.settings.kafka_bootstrap, spec.group, topics), 8
                )
        except Exception as exc:
            stat = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        self._kafka = (now, stat)
        return stat


async def run_http(defn: ServiceDefinition) -> None:
    from g3n_kit.http import create_app

    holder: dict[str, Database] = {}

    def db_provider() -> Database:
        return holder["db"]

    app = create_app(
        service=defn.short,
        prefix=f"/{defn.short}",
        operations=defn.operations,
        db_provider=db_provider,
        stat_provider=StatProvider(defn, db_provider),
        title=f"g3n {defn.name}",
        version=defn.version,
        roles=defn.roles,
        paging_secret=defn.settings.paging_secret,
    )
    holder["db"] = await open_database(defn)
    config = uvicorn.Config(
        app,
        host=defn.settings.http_host,
        port=defn.settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="off",
        http="httptools",  # the C parser: less CPU per request than h11
    )
    server = _Server(config)
    stop = _stop_on_signals()
    stopper = asyncio.create_task(_exit_on(stop, server))
    try:
        await server.serve()
    finally:
        stopper.cancel()
        await holder["db"].close()


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after a graceful shutdown (exit status -15); the runtime owns
    signals instead, so a stopped HTTP process exits 0 like the others."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _exit_on(stop: asyncio.Event, server: uvicorn.Server) -> None:
    await stop.wait()
    server.should_exit = True


async def run_consumer(defn: ServiceDefinition) -> None:
    _serve_metrics(defn, "consumer")
    stop = _stop_on_signals()
    db = await open_database(defn, max_size=max(defn.settings.db_pool_max, 8))
    try:
        loops = [
            ConsumerLoop(
                db=db,
                bootstrap=defn.settings.kafka_bootstrap,
                group=spec.group,
                handlers=spec.handlers(defn.settings),
                max_batch=defn.settings.consumer_max_batch,
                poll_ms=defn.settings.consumer_poll_ms,
                session_timeout_ms=defn.settings.consumer_session_timeout_ms,
                commit_interval_s=defn.settings.consumer_commit_interval_s,
            )
            for spec in defn.consumers
        ]
        await asyncio.gather(*(loop.run(stop) for loop in loops))
    finally:
        await db.close()


async def run_relay(defn: ServiceDefinition) -> None:
    _serve_metrics(defn, "relay")
    stop = _stop_on_signals()
    if defn.publishes:
        await ensure_topics(defn.settings.kafka_bootstrap, defn.publishes)
    db = await open_database(defn, max_size=3)
    try:
        relay = OutboxRelay(
            db=db,
            bootstrap=defn.settings.kafka_bootstrap,
            batch=defn.settings.relay_batch,
            idle_ms=defn.settings.relay_idle_ms,
        )
        await relay.run(stop)
    finally:
        await db.close()


def kit_jobs() -> list[ScheduledJob]:
    """Housekeeping every service's scheduler runs besides its own jobs."""
    from g3n_kit.operations import purge_expired_idempotency_keys
    from g3n_kit.relay import purge_sent_outbox

    return [
        ScheduledJob("kit.idempotency_purge", 600.0, purge_expired_idempotency_keys),
        ScheduledJob("kit.outbox_purge", 600.0, purge_sent_outbox),
    ]


async def run_jobs_once(db: Database, jobs: Sequence[ScheduledJob]) -> dict[str, int]:
    return {job.name: await job.run(db) for job in jobs}


async def run_scheduler(defn: ServiceDefinition) -> None:
    _serve_metrics(defn, "scheduler")
    stop = _stop_on_signals()
    db = await open_database(defn, max_size=3)
    last: dict[str, float] = {}
    jobs = [*kit_jobs(), *defn.jobs]
    try:
        while not stop.is_set():
            for job in jobs:
                if time.monotonic() - last.get(job.name, 0.0) < job.interval_s:
                    continue
                last[job.name] = time.monotonic()
                try:
                    done = await job.run(db)
                    if done:
                        log.info("job ran", extra={"job": job.name, "items": done})
                except Exception:
                    log.exception("job failed", extra={"job": job.name})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await db.close()


RUNNERS: dict[str, Callable[[ServiceDefinition], Coroutine[Any, Any, None]]] = {
    "http": run_http,
    "consumer": run_consumer,
    "relay": run_relay,
    "scheduler": run_scheduler,
}


def main(process: str, build: Callable[[], ServiceDefinition]) -> None:
    """Entry for `python -m g3n_<svc>.entrypoints.<process>`."""
    defn = build()
    from g3n_kit.logging import configure_logging

    configure_logging(defn.name, process, defn.settings.log_level)
    thresholds = {"consumer": defn.settings.consumer_gc_threshold, "http": defn.settings.http_gc_threshold}
    tune_gc(thresholds.get(process, 0))
    run_loop(RUNNERS[process](defn))


def tune_gc(young_threshold: int) -> None:
    """Freeze what start-up imported (modules, models, routes) so full collections walk only
    what the work left behind; with ``young_threshold`` > 0, collect the youngest generation
    that rarely (the hot paths form almost no reference cycles). See ServiceSettings."""
    gc.collect()
    gc.freeze()
    if young_threshold:
        gc.set_threshold(young_threshold, 20, 20)


def run_loop(main_coro: Coroutine[Any, Any, None]) -> None:
    """Run a process's main coroutine on uvloop (libuv; less CPU per I/O than asyncio's own
    loop, which matters on the consumers' and the HTTP process's hot paths) where it exists."""
    try:
        import uvloop
    except ImportError:  # e.g. Windows: the standard loop works the same, only slower
        asyncio.run(main_coro)
        return
    uvloop.run(main_coro)
