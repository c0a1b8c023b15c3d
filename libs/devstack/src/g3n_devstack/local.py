"""Kafka and PostgreSQL as plain local processes (no Docker engine needed).

Kafka runs in KRaft mode (one node, broker and controller) from jars resolved by
:mod:`g3n_devstack.kafka_dist`; PostgreSQL comes from Debian's packages and runs as the
``postgres`` user when we are root (``initdb`` refuses to run as root). Every process is
recorded with its pid and start time in ``<home>/state.json`` and stopped by pid.

Layout of ``home``::

    state.json             pids, ports, dsns (read by `g3n dev down` / `status`)
    kafka/server.properties kafka/data/ kafka/kafka.log (WARN+) kafka/kafka.out (stdout)
    pg/data/ pg/postgres.log
"""

from __future__ import annotations

import base64
import contextlib
import functools
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, Self

from g3n_devstack import ops
from g3n_devstack.kafka_dist import KafkaDist, ensure_kafka
from g3n_devstack.paths import STATE_FILE_NAME, state_home
from g3n_devstack.procs import ProcRef, free_port, port_free, tail
from g3n_devstack.stack import SERVICE_DATABASES, Stack, StackKind, register_for_cleanup, unregister
from g3n_devstack.statefile import read_state, stop_recorded

HOST = "127.0.0.1"
DEV_KAFKA_PORT = 9092
DEV_PG_PORT = 54329
TEST_STACK_PREFIX = "g3n-stack-"
PG_CONF_NAME = "g3n.conf"


class LocalStack(Stack):
    """Kafka (KRaft) + PostgreSQL as local child processes; see the module doc for the layout."""

    kind: StackKind = "local"

    def __init__(
        self,
        home: Path,
        *,
        kafka_port: int | None = None,
        pg_port: int | None = None,
        controller_port: int | None = None,
        with_kafka: bool = True,
        with_postgres: bool = True,
        databases: Iterable[str] = (),
        tuned_for_tests: bool = False,
        ephemeral: bool = False,
        kafka_version: str | None = None,
        ready_timeout: float = 90.0,
    ) -> None:
        """A stack rooted at ``home``; ports left as None are chosen free at start.

        ``tuned_for_tests`` turns off PostgreSQL's durability (fsync, synchronous_commit,
        full_page_writes) and trims JIT warm-up of the broker; ``ephemeral`` deletes ``home``
        on stop.
        """
        self.home = home
        self._kafka_port = kafka_port
        self._pg_port = pg_port
        self._controller_port = controller_port
        self.with_kafka = with_kafka
        self.with_postgres = with_postgres
        self.databases = tuple(databases)
        self.tuned_for_tests = tuned_for_tests
        self.ephemeral = ephemeral
        self.kafka_version = kafka_version
        self.ready_timeout = ready_timeout
        super().__init__()
        self._lock = threading.RLock()
        self._started = False
        self._kafka_proc: subprocess.Popen[bytes] | None = None
        self._kafka_out: IO[bytes] | None = None
        self.kafka_ref: ProcRef | None = None
        self.pg_ref: ProcRef | None = None

    # --- constructors ------------------------------------------------------------------------

    @classmethod
    def for_tests(cls, **options: Any) -> LocalStack:
        """A throw-away stack in a fresh temp dir on free ports, tuned for speed."""
        reap_stale_test_stacks()
        home = Path(tempfile.mkdtemp(prefix=TEST_STACK_PREFIX))
        # The postgres user must be able to reach pg/ below it when we run as root.
        home.chmod(0o755)
        options.setdefault("tuned_for_tests", True)
        options.setdefault("ephemeral", True)
        return cls(home, **options)

    @classmethod
    def for_dev(cls, **options: Any) -> LocalStack:
        """The developer's persistent stack: ``$G3N_HOME``, ports from ``$G3N_KAFKA_PORT`` and
        ``$G3N_PG_PORT`` (defaults 9092 and 54329), databases ``influencer`` and ``crm``."""
        options.setdefault("kafka_port", int(os.environ.get("G3N_KAFKA_PORT", DEV_KAFKA_PORT)))
        options.setdefault("pg_port", int(os.environ.get("G3N_PG_PORT", DEV_PG_PORT)))
        if "G3N_KAFKA_CONTROLLER_PORT" in os.environ:
            options.setdefault("controller_port", int(os.environ["G3N_KAFKA_CONTROLLER_PORT"]))
        options.setdefault("databases", SERVICE_DATABASES)
        home = Path(options.pop("home", None) or state_home())
        return cls(home, **options)

    # --- properties --------------------------------------------------------------------------

    @property
    def kafka_dir(self) -> Path:
        return self.home / "kafka"

    @property
    def pg_dir(self) -> Path:
        return self.home / "pg"

    @property
    def pg_data(self) -> Path:
        return self.pg_dir / "data"

    @property
    def state_file(self) -> Path:
        return self.home / STATE_FILE_NAME

    @property
    def kafka_port(self) -> int:
        if self._kafka_port is None:
            raise ops.StackError("Kafka is not part of this stack or not started")
        return self._kafka_port

    @property
    def kafka_bootstrap(self) -> str:
        return f"{HOST}:{self.kafka_port}"

    @property
    def pg_host(self) -> str:
        return HOST

    @property
    def pg_port(self) -> int:
        if self._pg_port is None:
            raise ops.StackError("PostgreSQL is not part of this stack or not started")
        return self._pg_port

    @property
    def processes(self) -> list[ProcRef]:
        return [ref for ref in (self.kafka_ref, self.pg_ref) if ref is not None]

    # --- start / stop ------------------------------------------------------------------------

    def start(self) -> Self:
        with self._lock:
            if self._started:
                return self
            self._started = True
            register_for_cleanup(self)
            try:
                self._start()
            except BaseException as exc:
                if isinstance(exc, ops.StackError):
                    # A test stack's folder is deleted on stop: keep what its logs said.
                    exc.add_note(self._log_tails())
                self.stop()
                raise
            return self

    def _log_tails(self) -> str:
        logs = [self.kafka_dir / "kafka.out", self.kafka_dir / "kafka.log", self.pg_dir / "postgres.log"]
        return "\n".join(f"--- {log} ---\n{tail(log, 15)}" for log in logs if log.exists())

    def _start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self._take_over_state_file()
        if self.with_kafka:
            self._kafka_port = self._kafka_port or free_port()
        if self.with_postgres:
            self._pg_port = self._pg_port or free_port()
        self._check_ports_free()

        # Formatting the KRaft storage (a JVM) and initdb run side by side.
        setup: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        dist: KafkaDist | None = None
        if self.with_kafka:
            dist = ensure_kafka(self.kafka_version)
            fmt = self._prepare_kafka(dist)
            if fmt is not None:
                setup.append(("kafka storage format", fmt, self.kafka_dir / "format.log"))
        if self.with_postgres:
            init = self._prepare_pg()
            if init is not None:
                setup.append(("initdb", init, self.pg_dir / "initdb.log"))
        for what, proc, log in setup:
            if proc.wait() != 0:
                raise ops.StackError(f"{what} failed (exit {proc.returncode}):\n{tail(log)}")
        if self.with_postgres:
            self._after_initdb()

        if dist is not None:
            self._spawn_kafka(dist)
        if self.with_postgres:
            self._pg_ctl_start()
        self.write_state()
        ops.run_sync(self._await_ready())
        self.write_state()

    async def _await_ready(self) -> None:
        if self.with_postgres:
            await ops.wait_pg_ready(self.admin_dsn, limit=self.ready_timeout, alive=self._check_pg_alive)
            for db in self.databases:
                await ops.ensure_database(self.admin_dsn, db)
        if self.with_kafka:
            await ops.wait_kafka_ready(
                self.kafka_bootstrap, limit=self.ready_timeout, alive=self._check_kafka_alive
            )

    def stop(self) -> None:
        with self._lock:
            if not self._started:
                return
            self._started = False
            try:
                self._stop_kafka()
                self._stop_pg(fast=self.ephemeral)
                if self.ephemeral:
                    shutil.rmtree(self.home, ignore_errors=True)
                else:
                    self.write_state()
            finally:
                unregister(self)

    def _check_ports_free(self) -> None:
        wanted = []
        if self.with_kafka:
            wanted.append(("Kafka", self.kafka_port, "G3N_KAFKA_PORT"))
        if self.with_postgres:
            wanted.append(("PostgreSQL", self.pg_port, "G3N_PG_PORT"))
        for what, port, env in wanted:
            if not port_free(HOST, port):
                raise ops.StackError(f"{what} port {HOST}:{port} is in use (choose another with {env}=...)")

    # --- state file --------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "home": str(self.home),
            "kafka": (
                {
                    "bootstrap": self.kafka_bootstrap,
                    "port": self.kafka_port,
                    "controller_port": self._controller_port,
                    "log": str(self.kafka_dir / "kafka.log"),
                }
                if self.with_kafka and self._kafka_port
                else None
            ),
            "postgres": (
                {
                    "host": self.pg_host,
                    "port": self.pg_port,
                    "data_dir": str(self.pg_data),
                    "log": str(self.pg_dir / "postgres.log"),
                    "admin_dsn": self.admin_dsn,
                }
                if self.with_postgres and self._pg_port
                else None
            ),
            "dsns": {db: self.dsn(db) for db in self.databases} if self.with_postgres else {},
            "processes": [ref.to_json() for ref in self.processes],
        }

    def _take_over_state_file(self) -> None:
        """Refuse to run twice on one home; stop orphans a killed earlier run left behind."""
        previous = read_state(self.state_file)
        if previous is None:
            return
        owner = previous.get("owner")
        if owner and ProcRef.from_json(owner).alive() and int(owner["pid"]) != os.getpid():
            raise ops.StackError(
                f"a stack already runs from {self.home} (pid {owner['pid']}): stop it first (g3n dev down)"
            )
        stop_recorded(previous)

    # --- Kafka -------------------------------------------------------------------------------

    def _prepare_kafka(self, dist: KafkaDist) -> subprocess.Popen[bytes] | None:
        """Write server.properties; start formatting the storage if it is new."""
        self.kafka_dir.mkdir(parents=True, exist_ok=True)
        data = self.kafka_dir / "data"
        port_file = self.kafka_dir / "controller.port"
        formatted = (data / "meta.properties").is_file()
        if formatted and port_file.is_file() and self._controller_port is None:
            # The controller's endpoint is part of the formatted voter set: keep it stable.
            self._controller_port = int(port_file.read_text().strip())
        if self._controller_port is None:
            self._controller_port = free_port()
        if not port_free(HOST, self._controller_port):
            raise ops.StackError(
                f"Kafka controller port {HOST}:{self._controller_port} is in use "
                "(set G3N_KAFKA_CONTROLLER_PORT, or delete the dev state dir)"
            )
        port_file.write_text(f"{self._controller_port}\n")
        props = self.kafka_dir / "server.properties"
        props.write_text(self._server_properties(data), encoding="utf-8")
        if formatted:
            return None
        shutil.rmtree(data, ignore_errors=True)
        log = open(self.kafka_dir / "format.log", "wb")  # noqa: SIM115 - handed to the child
        with log:
            return subprocess.Popen(
                dist.java_command(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    _kafka_cluster_id(),
                    "-c",
                    str(props),
                    "--standalone",
                    jvm_options=[
                        "-XX:TieredStopAtLevel=1",
                        f"-Dg3n.kafka.logfile={self.kafka_dir / 'format.log'}",
                    ],
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.kafka_dir,
                start_new_session=True,
            )

    def _server_properties(self, data: Path) -> str:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{HOST}:{self._controller_port}",
            "listeners": f"PLAINTEXT://{HOST}:{self.kafka_port},CONTROLLER://{HOST}:{self._controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "4",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "8",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        return "".join(f"{key}={value}\n" for key, value in props.items())

    def _spawn_kafka(self, dist: KafkaDist) -> None:
        jvm = ["-Xms256m", "-Xmx512m", f"-Dg3n.kafka.logfile={self.kafka_dir / 'kafka.log'}"]
        if self.tuned_for_tests:
            jvm.append("-XX:TieredStopAtLevel=1")
        self._kafka_out = open(self.kafka_dir / "kafka.out", "ab")  # noqa: SIM115 - lives with the broker
        self._kafka_proc = subprocess.Popen(
            dist.java_command("kafka.Kafka", str(self.kafka_dir / "server.properties"), jvm_options=jvm),
            stdout=self._kafka_out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.kafka_dir,
            start_new_session=True,  # a terminal's Ctrl-C reaches us, and we stop it in order
        )
        self.kafka_ref = ProcRef.of("kafka", self._kafka_proc.pid)

    def _check_kafka_alive(self) -> None:
        proc = self._kafka_proc
        if proc is not None and proc.poll() is not None:
            raise ops.StackError(
                f"Kafka exited with code {proc.returncode}:\n{tail(self.kafka_dir / 'kafka.out')}\n"
                f"{tail(self.kafka_dir / 'kafka.log')}"
            )

    def _stop_kafka(self) -> None:
        if self.kafka_ref is not None:
            # Throw-away data needs no controlled shutdown.
            self.kafka_ref.terminate(timeout=2.0 if self.ephemeral else 30.0)
            self.kafka_ref = None
        if self._kafka_proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._kafka_proc.wait(timeout=1)
            self._kafka_proc = None
        if self._kafka_out is not None:
            self._kafka_out.close()
            self._kafka_out = None

    # --- PostgreSQL --------------------------------------------------------------------------

    def _prepare_pg(self) -> subprocess.Popen[bytes] | None:
        """Create pg/ for the server's user; start initdb if the cluster is new."""
        self.pg_dir.mkdir(parents=True, exist_ok=True)
        _chown_to_pg_user(self.pg_dir)
        if as_root():
            probe = subprocess.run(
                ["runuser", "-u", "postgres", "--", "test", "-w", str(self.pg_dir)], check=False
            )
            if probe.returncode != 0:
                raise ops.StackError(
                    f"the postgres user cannot write {self.pg_dir} (a parent folder is closed to it): "
                    "set G3N_HOME to a folder it can reach"
                )
        if (self.pg_data / "PG_VERSION").is_file():
            return None
        shutil.rmtree(self.pg_data, ignore_errors=True)
        cmd = [pg_bin("initdb"), "-D", str(self.pg_data), "-A", "trust", "-U", "postgres"]
        cmd += ["-E", "UTF8", "--no-locale"]
        if self.tuned_for_tests:
            cmd.append("--no-sync")
        log = open(self.pg_dir / "initdb.log", "wb")  # noqa: SIM115 - handed to the child
        with log:
            return subprocess.Popen(
                as_pg_user(cmd),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.pg_dir,
            )

    def _after_initdb(self) -> None:
        conf = self.pg_data / "postgresql.conf"
        include = f"include_if_exists = '{PG_CONF_NAME}'"
        text = conf.read_text(encoding="utf-8")
        if include not in text:
            conf.write_text(
                text + f"\n# g3n dev stack settings (rewritten at every start)\n{include}\n", "utf-8"
            )
        settings = {
            "port": str(self.pg_port),
            "listen_addresses": f"'{HOST}'",
            # TCP only: no socket folder to create, no socket path length limit.
            "unix_socket_directories": "''",
            "max_connections": "200",
        }
        if self.tuned_for_tests:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        g3n_conf = self.pg_data / PG_CONF_NAME
        g3n_conf.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()), encoding="utf-8")
        _chown_to_pg_user(g3n_conf)

    def _pg_ctl_start(self) -> None:
        log = self.pg_dir / "postgres.log"
        result = subprocess.run(
            as_pg_user(
                [pg_bin("pg_ctl"), "-D", str(self.pg_data), "-l", str(log), "-w", "-t", "60", "start"]
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.pg_dir,
            start_new_session=True,
            check=False,
        )
        if result.returncode != 0:
            raise ops.StackError(
                f"pg_ctl start failed (exit {result.returncode}): {result.stdout.decode(errors='replace')}\n"
                f"{tail(log)}"
            )
        pid = int((self.pg_data / "postmaster.pid").read_text().split()[0])
        self.pg_ref = ProcRef.of("postgres", pid)

    def _check_pg_alive(self) -> None:
        if self.pg_ref is not None and not self.pg_ref.alive():
            raise ops.StackError(f"PostgreSQL exited:\n{tail(self.pg_dir / 'postgres.log')}")

    def _stop_pg(self, fast: bool) -> None:
        if self.pg_ref is None:
            return
        # SIGINT is PostgreSQL's "fast" shutdown, SIGQUIT its "immediate" one.
        first = signal.SIGQUIT if fast else signal.SIGINT
        self.pg_ref.terminate(timeout=30.0, first=first, then=signal.SIGQUIT)
        if self.pg_ref.alive():
            self.pg_ref.terminate(timeout=5.0, first=signal.SIGKILL)
        self.pg_ref = None

    def pg_stop(self) -> None:
        """Stop PostgreSQL (fast shutdown) and wait until it is gone."""
        with self._lock:
            self._stop_pg(fast=False)
            self.write_state()

    def pg_start(self) -> None:
        """Start PostgreSQL again on the same port and data directory; wait until it answers."""
        with self._lock:
            if self.pg_ref is not None and self.pg_ref.alive():
                return
            self._pg_ctl_start()
            self.write_state()
            ops.run_sync(
                ops.wait_pg_ready(self.admin_dsn, limit=self.ready_timeout, alive=self._check_pg_alive)
            )


# --- helpers -------------------------------------------------------------------------------------


def as_root() -> bool:
    return os.geteuid() == 0


def as_pg_user(cmd: list[str]) -> list[str]:
    """Run PostgreSQL's tools as ``postgres`` when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if as_root() else cmd


def _chown_to_pg_user(path: Path) -> None:
    if as_root():
        shutil.chown(path, user="postgres", group="postgres")


@functools.cache
def pg_bindir() -> Path | None:
    """PostgreSQL's server binaries: ``pg_config --bindir``, else the newest Debian install."""
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if out.returncode == 0 and (candidate / "initdb").exists():
            return candidate
    installs = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    return Path(installs[-1]).parent if installs else None


def pg_bin(name: str) -> str:
    bindir = pg_bindir()
    if bindir is not None and (bindir / name).exists():
        return str(bindir / name)
    found = shutil.which(name)
    if found is None:
        raise ops.StackError(f"{name} not found: install PostgreSQL (Debian: apt-get install postgresql)")
    return found


def _kafka_cluster_id() -> str:
    """A random cluster id in Kafka's own format (url-safe base64 of 16 bytes, no padding)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def reap_stale_test_stacks() -> None:
    """Stop and delete test stacks whose owning process died without cleaning up (SIGKILL)."""
    for home in Path(tempfile.gettempdir()).glob(f"{TEST_STACK_PREFIX}*"):
        state = read_state(home / STATE_FILE_NAME)
        if state is None:
            # Only half-made (or being made right now): leave anything younger than an hour alone.
            with contextlib.suppress(OSError):
                if time.time() - home.stat().st_mtime > 3600:
                    shutil.rmtree(home, ignore_errors=True)
            continue
        owner = state.get("owner")
        if owner and ProcRef.from_json(owner).alive():
            continue
        with contextlib.suppress(Exception):
            stop_recorded(state, timeout=5.0)
        shutil.rmtree(home, ignore_errors=True)
