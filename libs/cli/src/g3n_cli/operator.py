"""Operator commands: `g3n scm emit`, `g3n accounting tail`, `g3n dlq …`, `g3n mcp`.

They talk to Kafka (and, for a DLQ replay, to the service's database) directly: they stand in
for the systems around the services (SCM, accounting) and for the person on call.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import orjson
import typer
from aiokafka import ConsumerRecord
from g3n_contracts import ContractError, EventEnvelope, encode_event, kafka_headers, kafka_key, parse_event
from g3n_contracts.topics import ACCOUNTING_PAYOUTS, HEADER_DLQ_GROUP, HEADER_DLQ_ORIGINAL_TOPIC, dlq_topic
from g3n_kit.kafka import ensure_topics
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from g3n_cli import kafka_io, scm
from g3n_cli.errors import CliError, ExitCode
from g3n_cli.render import cell, print_json
from g3n_cli.services import SERVICES, ServiceName

scm_app = typer.Typer(no_args_is_help=True, help="Act as SCM: produce sale and return events.")
accounting_app = typer.Typer(
    no_args_is_help=True, help="Act as accounting: read the payout records IFM publishes."
)
dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters of a service's consumers.")


@scm_app.callback()
def _scm() -> None:
    """Act as SCM: produce sale and return events (validated by the contracts) to scm.sales.v1."""


@accounting_app.callback()
def _accounting() -> None:
    """Act as accounting: read the payout records IFM publishes on accounting.payouts.v1."""


BootstrapOpt = Annotated[
    str | None,
    typer.Option("--bootstrap", help="Kafka bootstrap (env G3N_KAFKA_BOOTSTRAP; dev stack; 127.0.0.1:9092)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
PRODUCE_CHUNK = 2000


def _err_console() -> Console:
    return Console(stderr=True, highlight=False)


# --- scm emit -------------------------------------------------------------------------------------


class EventKind(StrEnum):
    sale = "sale"
    return_ = "return"


async def _produce(
    bootstrap: str, envelopes: Sequence[EventEnvelope], topic_override: str | None, label: str
) -> dict[str, int]:
    """Produce with keys and headers from the contracts; a progress bar on stderr. Topic → count."""
    counts: dict[str, int] = {}
    topics = sorted({topic_override or _topic_of(env) for env in envelopes})
    await ensure_topics(bootstrap, topics)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=_err_console(),
    )
    async with kafka_io.producer(bootstrap) as producer:
        with progress:
            task = progress.add_task(label, total=len(envelopes))
            for start in range(0, len(envelopes), PRODUCE_CHUNK):
                chunk = envelopes[start : start + PRODUCE_CHUNK]
                futures = []
                for env in chunk:
                    topic = topic_override or _topic_of(env)
                    counts[topic] = counts.get(topic, 0) + 1
                    futures.append(
                        await producer.send(
                            topic, encode_event(env), key=kafka_key(env), headers=kafka_headers(env)
                        )
                    )
                await asyncio.gather(*futures)
                progress.update(task, advance=len(chunk))
    return counts


def _topic_of(env: EventEnvelope) -> str:
    from g3n_contracts import topic_for

    return topic_for(env.event_type)


@scm_app.command("emit")
def emit(
    kind: Annotated[EventKind, typer.Argument(help="sale or return")],
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="JSON: an event or payload, an array of them, or JSON lines ('-' = stdin)"
        ),
    ] = None,
    generate: Annotated[
        int | None, typer.Option("--generate", "-n", min=1, help="generate N realistic events")
    ] = None,
    org: Annotated[
        str | None, typer.Option("--org", help="org of generated/bare events (env G3N_ORG)")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="generated events are a function of the seed")] = 1,
    currency: Annotated[str, typer.Option("--currency")] = "USD",
    order_prefix: Annotated[
        str, typer.Option("--order-prefix", help="generated order ids: PREFIX-SEED-i")
    ] = "o-gen",
    promo_code: Annotated[
        list[str] | None, typer.Option("--promo-code", help="promo code(s) to put on generated sales")
    ] = None,
    promo_share: Annotated[
        float, typer.Option("--promo-share", min=0.0, max=1.0, help="share of sales with a code")
    ] = 1.0,
    customer_id: Annotated[
        list[str] | None, typer.Option("--customer-id", help="CRM customer id(s) for generated sales")
    ] = None,
    customer_email: Annotated[list[str] | None, typer.Option("--customer-email")] = None,
    occurred_at: Annotated[
        datetime | None,
        typer.Option("--occurred-at", help="occurred_at of generated events (default now, UTC)"),
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="override the contract's topic (tests)")
    ] = None,
    bootstrap: BootstrapOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Produce SCM events to scm.sales.v1, validated by the contracts, keyed {org}:{order_id}."""
    if (file is None) == (generate is None):
        raise CliError("validation-error", "give exactly one of --file or --generate", ExitCode.VALIDATION)
    org = org or os.environ.get("G3N_ORG")
    kind_name: scm.Kind = "sale" if kind is EventKind.sale else "return"
    try:
        if file is not None:
            text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
            envelopes = scm.from_file(kind_name, text, org)
        else:
            if not org:
                raise CliError("validation-error", "--generate needs --org (or G3N_ORG)", ExitCode.VALIDATION)
            when = (
                occurred_at.astimezone(UTC)
                if occurred_at and occurred_at.tzinfo
                else (occurred_at.replace(tzinfo=UTC) if occurred_at else datetime.now(UTC))
            )
            opts = scm.GenerateOptions(
                count=int(generate or 0),
                seed=seed,
                currency=currency,
                order_prefix=order_prefix,
                promo_codes=tuple(promo_code or ()),
                promo_share=promo_share,
                customer_ids=tuple(customer_id or ()),
                customer_emails=tuple(customer_email or ()),
                occurred_at=when,
            )
            envelopes = list(scm.generated(kind_name, opts, org))
    except (scm.EventInputError, ContractError) as exc:
        raise CliError("validation-error", str(exc), ExitCode.VALIDATION) from None
    except OSError as exc:
        raise CliError("validation-error", f"--file: {exc}", ExitCode.VALIDATION) from None
    if not envelopes:
        raise CliError("validation-error", "no events to emit", ExitCode.VALIDATION)
    broker = kafka_io.kafka_bootstrap(bootstrap)
    began = time.monotonic()
    try:
        counts = asyncio.run(_produce(broker, envelopes, topic, f"emit {kind_name}"))
    except Exception as exc:
        raise CliError("network", f"kafka {broker}: {type(exc).__name__}: {exc}", ExitCode.NETWORK) from None
    seconds = time.monotonic() - began
    summary: dict[str, Any] = {
        "emitted": len(envelopes),
        "event_type": scm.EVENT_TYPE[kind_name],
        "topics": counts,
        "seconds": round(seconds, 3),
        "per_second": round(len(envelopes) / seconds) if seconds > 0 else None,
    }
    if len(envelopes) <= 1000:
        summary["events"] = [
            {"event_id": str(e.event_id), "org": e.org_code, "key": kafka_key(e).decode()} for e in envelopes
        ]
    if as_json:
        print_json(summary)
        return
    where = ", ".join(f"{t} ({n})" for t, n in counts.items())
    typer.echo(
        f"emitted {len(envelopes)} {summary['event_type']} to {where} in {seconds:.2f}s"
        + (f" ({summary['per_second']}/s)" if summary["per_second"] else "")
    )


# --- accounting tail ------------------------------------------------------------------------------


def _payout_row(env: EventEnvelope) -> dict[str, Any]:
    p: Any = env.payload
    return {
        "submitted_at": p.submitted_at.isoformat().replace("+00:00", "Z"),
        "org": env.org_code,
        "payout_id": p.payout_id,
        "profile_id": p.profile_id,
        "handle": p.payee.handle,
        "amount_minor": p.amount_minor,
        "currency": p.currency,
        "earnings": len(p.earning_ids),
        "carry_over_minor": p.carry_over_minor,
        "method": p.payee.payout_method.type if p.payee.payout_method else None,
    }


async def _tail(
    bootstrap: str,
    topic: str,
    *,
    org: str | None,
    from_beginning: bool,
    as_json: bool,
    max_records: int | None,
    seconds: float | None,
) -> int:
    console = Console(highlight=False)
    seen = 0
    deadline = time.monotonic() + seconds if seconds else None
    await ensure_topics(bootstrap, [topic])
    async with kafka_io.reader(bootstrap) as consumer:
        tps = await kafka_io.partitions(consumer, topic)
        consumer.assign(tps)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
        # On stderr even with --json: a script may wait for this line before producing.
        _err_console().print(
            f"tailing {topic} on {bootstrap}" + (f" for org {org}" if org else ""), style="dim"
        )
        while max_records is None or seen < max_records:
            wait_ms = 1000
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                wait_ms = max(1, min(1000, int(left * 1000)))
            batch = await consumer.getmany(timeout_ms=wait_ms, max_records=500)
            records = sorted((r for rs in batch.values() for r in rs), key=lambda r: (r.timestamp, r.offset))
            for record in records:
                try:
                    env = parse_event(record.value or b"")
                except ContractError as exc:
                    _err_console().print(
                        f"skipped {record.topic}:{record.partition}:{record.offset}: "
                        f"{exc.reason}: {exc.detail}"
                    )
                    continue
                if org and env.org_code != org:
                    continue
                if env.event_type != "ifm.payout.recorded":
                    continue
                seen += 1
                if as_json:
                    sys.stdout.write(encode_event(env).decode() + "\n")
                    sys.stdout.flush()
                else:
                    row = _payout_row(env)
                    console.print(
                        f"{row['submitted_at']}  {row['org']}  {row['payout_id']}  {row['handle']:<16} "
                        f"{row['amount_minor']:>10} {row['currency']}  {row['earnings']} earning(s)"
                        + (f"  carry-over {row['carry_over_minor']}" if row["carry_over_minor"] else "")
                    )
                if max_records is not None and seen >= max_records:
                    break
    return seen


@accounting_app.command("tail")
def tail(
    org: Annotated[str | None, typer.Option("--org", help="only this org's payouts")] = None,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="start at the first record")
    ] = False,
    max_records: Annotated[
        int | None, typer.Option("--max", min=1, help="stop after N payout records")
    ] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="stop after this many seconds")] = None,
    topic: Annotated[str, typer.Option("--topic")] = ACCOUNTING_PAYOUTS,
    bootstrap: BootstrapOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="one event envelope per line (JSON lines)")] = False,
) -> None:
    """Print payout records (ifm.payout.recorded) as they arrive on accounting.payouts.v1.

    Exits 1 when --max was given and fewer records arrived before --timeout.
    """
    broker = kafka_io.kafka_bootstrap(bootstrap)
    try:
        seen = asyncio.run(
            _tail(
                broker,
                topic,
                org=org,
                from_beginning=from_beginning,
                as_json=as_json,
                max_records=max_records,
                seconds=timeout,
            )
        )
    except KeyboardInterrupt:
        return
    except Exception as exc:
        raise CliError("network", f"kafka {broker}: {type(exc).__name__}: {exc}", ExitCode.NETWORK) from None
    if max_records is not None and seen < max_records:
        _err_console().print(f"timed out: {seen} of {max_records} payout record(s)")
        raise typer.Exit(1)


# --- dlq ------------------------------------------------------------------------------------------

ServiceOpt = Annotated[ServiceName, typer.Option("--service", "-s", help="whose consumers")]
GroupOpt = Annotated[
    str | None, typer.Option("--group", help="only this consumer group (default: all of the service's)")
]
TopicOpt = Annotated[
    str | None, typer.Option("--topic", help="only this consumed topic (default: all of the group's)")
]


def _consumed(service: ServiceName, group: str | None, topic: str | None) -> list[tuple[str, str]]:
    """(group, topic) pairs whose DLQ to read: the service's consumers, narrowed by the options."""
    if group and topic:
        return [(group, topic)]
    defn = SERVICES[service.value].definition()
    pairs = [(spec.group, t) for spec in defn.consumers for t in spec.handlers(defn.settings)]
    if group:
        pairs = [(g, t) for g, t in pairs if g == group] or [(group, t) for _, t in pairs]
    if topic:
        pairs = [(g, t) for g, t in pairs if t == topic] or [(g, topic) for g, _ in pairs]
    return pairs


def _headers(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in (record.headers or ())}


def _peek(value: bytes | None) -> dict[str, Any]:
    try:
        doc = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _letter(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    h = _headers(record)
    doc = _peek(record.value)
    return {
        "id": kafka_io.Position(record.topic, record.partition, record.offset).id,
        "reason": h.get("dlq-reason"),
        "error": h.get("dlq-error"),
        "group": h.get(HEADER_DLQ_GROUP),
        "original": f"{h.get(HEADER_DLQ_ORIGINAL_TOPIC)}:{h.get('dlq-original-partition')}:"
        f"{h.get('dlq-original-offset')}",
        "event_type": doc.get("event_type") or h.get("event_type"),
        "event_id": doc.get("event_id"),
        "org": doc.get("org_code"),
        "key": record.key.decode("utf-8", "replace") if record.key else None,
        "dead_lettered_at": datetime.fromtimestamp(record.timestamp / 1000, UTC)
        .isoformat()
        .replace("+00:00", "Z"),
    }


async def _list_letters(bootstrap: str, dlqs: Sequence[str]) -> list[dict[str, Any]]:
    async with kafka_io.reader(bootstrap) as consumer:
        records = await kafka_io.read_to_end(consumer, dlqs)
    return [_letter(r) for r in sorted(records, key=lambda r: (r.timestamp, r.topic, r.partition, r.offset))]


@dlq_app.command("list")
def dlq_list(
    service: ServiceOpt,
    group: GroupOpt = None,
    topic: TopicOpt = None,
    org: Annotated[str | None, typer.Option("--org", help="only this org's events")] = None,
    bootstrap: BootstrapOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every dead letter of the service's consumer groups (<topic>.<group>.dlq), oldest first."""
    dlqs = [dlq_topic(t, g) for g, t in _consumed(service, group, topic)]
    broker = kafka_io.kafka_bootstrap(bootstrap)
    letters = asyncio.run(_list_letters(broker, dlqs))
    if org:
        letters = [x for x in letters if x["org"] == org]
    if as_json:
        print_json(letters)
        return
    if not letters:
        typer.echo(f"no dead letters in {', '.join(dlqs)}")
        return
    table = Table(title=f"dead letters of {service.value}", title_justify="left")
    for col in ("id", "reason", "event_type", "org", "key", "error"):
        table.add_column(col, overflow="fold")
    for x in letters:
        table.add_row(*(cell(x[c]) for c in ("id", "reason", "event_type", "org", "key", "error")))
    Console(highlight=False).print(table)


async def _fetch(bootstrap: str, letter_id: str) -> ConsumerRecord[bytes, bytes]:
    try:
        pos = kafka_io.Position.parse(letter_id)
    except ValueError as exc:
        raise CliError("validation-error", str(exc), ExitCode.VALIDATION) from None
    async with kafka_io.reader(bootstrap) as consumer:
        record = await kafka_io.read_one(consumer, pos)
    if record is None:
        raise CliError("not-found", f"no dead letter {letter_id}", ExitCode.NOT_FOUND)
    return record


def _check_dlq(record: ConsumerRecord[bytes, bytes]) -> None:
    if not record.topic.endswith(".dlq"):
        raise CliError("validation-error", f"{record.topic} is not a dead-letter topic", ExitCode.VALIDATION)


@dlq_app.command("show")
def dlq_show(
    service: ServiceOpt,
    letter_id: Annotated[str, typer.Argument(help="<dlq topic>:<partition>:<offset> from `g3n dlq list`")],
    bootstrap: BootstrapOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One dead letter: its headers (reason, error, origin) and the original bytes."""
    record = asyncio.run(_fetch(kafka_io.kafka_bootstrap(bootstrap), letter_id))
    _check_dlq(record)
    doc: Any
    try:
        doc = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError:
        doc = (record.value or b"").decode("utf-8", "replace")
    out = {**_letter(record), "headers": _headers(record), "value": doc}
    if as_json:
        print_json(out)
        return
    console = Console(highlight=False)
    for key in ("id", "reason", "error", "group", "original", "event_type", "event_id", "org", "key"):
        console.print(f"[bold]{key}:[/] {out[key]}")
    console.print("[bold]value:[/]")
    if isinstance(doc, str):
        console.print(repr(doc))
    else:
        console.print_json(orjson.dumps(doc).decode())


def _fixed_bytes(original: bytes, fixed_text: str) -> bytes:
    """The event to replay: a full envelope, or just a payload put into the original envelope."""
    try:
        fixed = orjson.loads(fixed_text)
    except orjson.JSONDecodeError as exc:
        raise CliError("validation-error", f"--file: not valid JSON ({exc})", ExitCode.VALIDATION) from None
    if not isinstance(fixed, dict):
        raise CliError("validation-error", "--file: expected a JSON object", ExitCode.VALIDATION)
    if "event_type" in fixed:
        return orjson.dumps(fixed)
    envelope = _peek(original)
    if "event_type" not in envelope:
        raise CliError(
            "validation-error",
            "--file holds a bare payload, but the dead letter has no envelope to put it in;"
            " give a full event",
            ExitCode.VALIDATION,
        )
    return orjson.dumps({**envelope, "payload": fixed})


async def _replay(
    bootstrap: str, dsn: str, record: ConsumerRecord[bytes, bytes], value: bytes, *, force: bool
) -> dict[str, Any]:
    headers = _headers(record)
    group = headers.get(HEADER_DLQ_GROUP)
    target = headers.get(HEADER_DLQ_ORIGINAL_TOPIC)
    if not target or not group:
        raise CliError("validation-error", f"{record.topic} record lacks dlq headers", ExitCode.VALIDATION)
    try:
        env = parse_event(value)
    except ContractError as exc:
        raise CliError(
            "validation-error",
            f"the event still fails the contract: {exc.reason}: {exc.detail} (fix it and pass --file)",
            ExitCode.VALIDATION,
        ) from None
    original_id = _peek(record.value).get("event_id")
    ids = {str(env.event_id)}
    if isinstance(original_id, str):
        ids.add(original_id)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            applied = await conn.fetchval(
                "SELECT count(*) FROM inbox"
                " WHERE consumer_group = $1 AND event_id = $2 AND outcome = 'applied'",
                group,
                env.event_id,
            )
            if applied and not force:
                raise CliError(
                    "invalid-state",
                    f"event {env.event_id} was already applied by {group}; a replay would be a no-op "
                    "(give the fix a new event_id, or --force to send it anyway)",
                    ExitCode.STATE,
                )
            deleted = await conn.execute(
                "DELETE FROM inbox WHERE consumer_group = $1 AND event_id = ANY($2::uuid[])"
                " AND outcome = 'dead_lettered'",
                group,
                sorted(ids),
            )
            async with kafka_io.producer(bootstrap) as producer:
                await producer.send_and_wait(
                    target,
                    encode_event(env),
                    key=kafka_key(env),
                    headers=[
                        *kafka_headers(env),
                        (
                            "dlq-replayed-from",
                            record.topic.encode() + f":{record.partition}:{record.offset}".encode(),
                        ),
                    ],
                )
    finally:
        await conn.close()
    return {
        "replayed": str(env.event_id),
        "event_type": env.event_type,
        "topic": target,
        "group": group,
        "key": kafka_key(env).decode(),
        "inbox_rows_removed": int(deleted.split()[-1]),
    }


@dlq_app.command("replay")
def dlq_replay(
    service: ServiceOpt,
    letter_id: Annotated[str, typer.Argument(help="<dlq topic>:<partition>:<offset> from `g3n dlq list`")],
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="the fixed event (full envelope), or just a fixed payload"),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="service database (env G3N_<SVC>_DATABASE_URL)")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="send even if the event id was already applied")
    ] = False,
    bootstrap: BootstrapOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Put a (fixed) dead-lettered event back on its topic, so the consumer applies it once.

    The service's inbox row that marks the event as dead-lettered is deleted first (same
    transaction as the produce is awaited in), so the redelivered event is not skipped as a
    duplicate; it is then applied exactly once like any other event.
    """
    from g3n_cli.apikey import Service
    from g3n_cli.apikey import database_url as dsn_for

    broker = kafka_io.kafka_bootstrap(bootstrap)
    record = asyncio.run(_fetch(broker, letter_id))
    _check_dlq(record)
    value = (
        _fixed_bytes(record.value or b"", file.read_text(encoding="utf-8")) if file else (record.value or b"")
    )
    dsn = dsn_for(Service(service.value), database_url)
    try:
        result = asyncio.run(_replay(broker, dsn, record, value, force=force))
    except (OSError, asyncpg.PostgresError) as exc:
        raise CliError("network", f"database: {exc}", ExitCode.NETWORK) from None
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"replayed {result['replayed']} ({result['event_type']}) to {result['topic']} key {result['key']}; "
        f"removed {result['inbox_rows_removed']} dead-letter inbox row(s) of {result['group']}"
    )


# --- mcp ------------------------------------------------------------------------------------------


class McpTransport(StrEnum):
    stdio = "stdio"
    http = "http"


mcp_app = typer.Typer(help="Run a service's MCP server (stdio or streamable HTTP).")


@mcp_app.command("mcp")
def mcp(
    service: Annotated[ServiceName, typer.Argument(help="influencer or crm")],
    transport: Annotated[McpTransport, typer.Option("--transport", "-t")] = McpTransport.stdio,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8765,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="default key (env G3N_<SVC>_API_KEY, G3N_API_KEY; profile)"),
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="default x-orgcode (env G3N_ORG; profile)")] = None,
    profile: Annotated[str | None, typer.Option("--profile")] = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "WARNING",
) -> None:
    """Run the service's MCP server: every operation a tool, role-checked like HTTP.

    It opens the service's database (G3N_<SVC>_DATABASE_URL). Over HTTP (endpoint /mcp) a
    request's x-api-key / x-orgcode headers override the defaults; over stdio the defaults
    (--api-key / --org, env, profile) are what every call uses.
    """
    from g3n_mcp.run import run
    from g3n_mcp.server import CallerDefaults

    from g3n_cli import config

    info = SERVICES[service.value]
    target = config.resolve(info, base_url="unused", org=org, api_key=api_key, profile=profile)
    run(
        info.definition(),
        transport=transport.value,
        host=host,
        port=port,
        defaults=CallerDefaults(api_key=target.api_key, org_code=target.org),
        log_level=log_level,
    )
