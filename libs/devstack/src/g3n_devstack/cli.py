"""`g3n dev ...`: run the whole system locally (mounted by g3n_cli as the `dev` sub-command).

Also runnable on its own: ``python -m g3n_devstack.cli up``.
"""

import json
import os
import urllib.error
import urllib.request
from typing import Annotated, Any

import typer

from g3n_devstack import ops
from g3n_devstack.kafka_dist import ensure_kafka
from g3n_devstack.paths import STATE_FILE_NAME, state_home
from g3n_devstack.procs import ProcRef, port_open
from g3n_devstack.statefile import read_state
from g3n_devstack.supervisor import describe, http_addresses, run_down, run_up, system_topics

app = typer.Typer(
    name="dev",
    no_args_is_help=True,
    help="Run the whole g3n system on this machine: Kafka, PostgreSQL and every service process.",
)


@app.command()
def up(
    infra_only: Annotated[
        bool, typer.Option("--infra-only", help="Start Kafka and PostgreSQL only, no service processes.")
    ] = False,
) -> None:
    """Start everything in the foreground; Ctrl-C stops it all.

    Kafka 127.0.0.1:$G3N_KAFKA_PORT (9092) and PostgreSQL 127.0.0.1:$G3N_PG_PORT (54329) are
    started unless G3N_KAFKA_BOOTSTRAP / G3N_IFM_DATABASE_URL / G3N_CRM_DATABASE_URL point at
    running ones. State (data, logs, pids) lives in $G3N_HOME (default <repo>/.g3n).
    """
    raise typer.Exit(run_up(services=not infra_only))


@app.command()
def down() -> None:
    """Stop what `g3n dev up` started (by the pids in its state file)."""
    stopped = run_down()
    typer.echo(f"stopped: {describe(stopped)}")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Ports, whether each recorded process is alive, and the services' /stat summaries."""
    report = collect_status()
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"state: {report['state_file']} ({'running' if report['running'] else 'not running'})")
    if report.get("kafka"):
        kafka = report["kafka"]
        typer.echo(f"kafka: {kafka['bootstrap']} ({'open' if kafka['listening'] else 'closed'})")
    if report.get("postgres"):
        pg = report["postgres"]
        typer.echo(f"postgres: {pg['host']}:{pg['port']} ({'open' if pg['listening'] else 'closed'})")
    for proc in report["processes"]:
        typer.echo(f"  {proc['name']:<14} pid {proc['pid']:<8} {'alive' if proc['alive'] else 'dead'}")
    for short, stat in report["stat"].items():
        typer.echo(format_stat(short, stat))


def format_stat(short: str, stat: Any) -> str:
    """One readable line per service: readiness, outbox backlog and consumer lag per group."""
    if not isinstance(stat, dict) or "database" not in stat:
        return f"{short}: unreachable ({stat})"
    kafka = stat.get("kafka") or {}
    lags = []
    for group, per_topic in (kafka.get("consumer_lag") or {}).items():
        total = sum(per_topic.values()) if isinstance(per_topic, dict) else per_topic
        lags.append(f"{group} lag {total}" + (" (caught up)" if total == 0 else ""))
    parts = [
        "ready" if stat.get("ok") else "NOT READY",
        f"database {'ok' if stat['database'].get('ok') else 'down'}",
        f"kafka {'ok' if kafka.get('ok') else 'down: ' + str(kafka.get('error', '?'))}",
        f"outbox backlog {stat.get('outbox_backlog', '?')}",
        *lags,
    ]
    return f"{short}: " + ", ".join(parts)


@app.command("init-topics")
def init_topics(
    wait: Annotated[float, typer.Option(help="Seconds to wait for the broker to be ready.")] = 120.0,
) -> None:
    """Create the system's topics on $G3N_KAFKA_BOOTSTRAP (the docker-compose `init` job)."""
    bootstrap = os.environ.get("G3N_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    topics = system_topics()
    ops.run_sync(_init_topics(bootstrap, topics, wait))
    typer.echo(f"topics on {bootstrap}: {', '.join(topics)}")


async def _init_topics(bootstrap: str, topics: list[str], wait: float) -> None:
    await ops.wait_kafka_ready(bootstrap, limit=wait)
    await ops.create_topics(bootstrap, topics, partitions=4)


@app.command("kafka-jars")
def kafka_jars() -> None:
    """Resolve the Kafka broker jars into the cache (no-op when done); print their folder."""
    typer.echo(str(ensure_kafka(quiet=False).lib_dir))


def collect_status() -> dict[str, Any]:
    path = state_home() / STATE_FILE_NAME
    state = read_state(path) or {}
    owner = state.get("owner")
    report: dict[str, Any] = {
        "state_file": str(path),
        "running": bool(owner and ProcRef.from_json(owner).alive()),
        "processes": [],
        "stat": {},
    }
    kafka = state.get("kafka")
    if kafka:
        host, _, port = str(kafka["bootstrap"]).rpartition(":")
        report["kafka"] = {"bootstrap": kafka["bootstrap"], "listening": port_open(host, int(port))}
    pg = state.get("postgres")
    if pg:
        report["postgres"] = {
            "host": pg["host"],
            "port": pg["port"],
            "listening": port_open(pg["host"], pg["port"]),
        }
    for item in [*state.get("processes", []), *state.get("services", [])]:
        ref = ProcRef.from_json(item)
        report["processes"].append({"name": ref.name, "pid": ref.pid, "alive": ref.alive()})
    for short, (http_host, http_port) in http_addresses(state.get("env") or None).items():
        report["stat"][short] = fetch_stat(f"http://{http_host}:{http_port}/{short}/stat")
    return report


def fetch_stat(url: str, timeout: float = 2.0) -> Any:
    """GET a /stat endpoint; its JSON, or a short reason it could not be read."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} from {url}"
    except (urllib.error.URLError, OSError) as exc:
        return f"unreachable ({url}: {getattr(exc, 'reason', exc)})"
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")[:200]


if __name__ == "__main__":
    app()
