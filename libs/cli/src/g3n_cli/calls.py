"""`g3n influencer <group> <action>` and `g3n crm <group> <action>`, generated from the tables.

Each operation ``campaign.status.set`` (path ``/campaign/status/set``) becomes the command
``campaign status-set``: the first word of its name is the group, the rest joined by ``-`` is
the action. Options come from the input model (see :mod:`g3n_cli.options`); every command also
takes the connection options (``--base-url``, ``--org``, ``--api-key``, ``--profile``,
``--cc-code``, ``--channel-code``, ``--timeout``), ``--body``/``--body-file`` for a JSON body,
``--json`` for machine output, ``--idempotency-key`` on writes and ``--all`` on lists.

Nothing here knows a particular operation: the groups and commands are built on demand from
``build().operations`` of the service, so an operation added to a table is a command at once.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import orjson
from g3n_kit.operations import Operation
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from g3n_cli import config
from g3n_cli.client import ApiClient, Envelope
from g3n_cli.errors import CliError, ExitCode, print_error
from g3n_cli.options import BodySpec, Param, body_spec
from g3n_cli.render import print_json, render
from g3n_cli.services import ServiceInfo

RESERVED_FLAGS = (
    "--base-url",
    "--org",
    "--api-key",
    "--profile",
    "--cc-code",
    "--channel-code",
    "--timeout",
    "--body",
    "--body-file",
    "--json",
    "--idempotency-key",
    "--all",
    "--help",
)
ALL_PAGE_LIMIT = 256


def command_words(op: Operation[Any, Any]) -> tuple[str, str]:
    """``campaign.status.set`` → ``("campaign", "status-set")``."""
    words = op.cli_words
    return words[0], "-".join(words[1:])


def _click_type(p: Param) -> click.ParamType | None:
    if p.choices:
        return click.Choice(list(p.choices))
    return {"int": click.INT, "number": click.FLOAT}.get(p.kind, click.STRING)


def _field_option(p: Param) -> click.Option:
    if p.kind == "bool" and not p.multiple:
        name = p.flag[2:]
        return click.Option([f"--{name}/--no-{name}", p.dest], default=None, help=p.help)
    metavar = "JSON" if p.kind == "json" else None
    return click.Option(
        [p.flag, p.dest],
        type=_click_type(p),
        multiple=p.multiple,
        default=None,
        help=p.help,
        metavar=metavar,
        show_choices=True,
    )


def _common_options(op: Operation[Any, Any], spec: BodySpec) -> list[click.Option]:
    opts = [
        click.Option(["--base-url"], help="service base URL [env G3N_<SVC>_BASE_URL; profile; dev stack]"),
        click.Option(["--org"], help="x-orgcode: the organisation [env G3N_ORG; profile]"),
        click.Option(["--api-key"], help="x-api-key [env G3N_<SVC>_API_KEY, G3N_API_KEY; profile]"),
        click.Option(["--profile"], help="named profile from the config file [env G3N_PROFILE]"),
        click.Option(["--cc-code"], help="x-cccode: cost-centre context"),
        click.Option(["--channel-code"], help="x-channel-code: sales channel context"),
        click.Option(["--timeout"], type=click.FLOAT, default=30.0, show_default=True, help="seconds"),
        click.Option(["--body"], metavar="JSON", help="the whole body as JSON; options given override it"),
        click.Option(
            ["--body-file"], type=click.Path(dir_okay=False, allow_dash=True), help="read the body from a file ('-' = stdin)"
        ),
        click.Option(["--json", "as_json"], is_flag=True, help="print the envelope's data as JSON"),
    ]
    if op.write:
        opts.append(
            click.Option(
                ["--idempotency-key"], help="same key + same body within 24 h replays the first response"
            )
        )
    if spec.is_list:
        opts.append(
            click.Option(
                ["--all", "all_pages"], is_flag=True, help="follow next_token to the last page (progress on stderr)"
            )
        )
    return opts


def _read_base(body: str | None, body_file: str | None) -> dict[str, Any]:
    if body is not None and body_file is not None:
        raise CliError("validation-error", "give --body or --body-file, not both", ExitCode.VALIDATION)
    if body_file is not None:
        try:
            text = sys.stdin.read() if body_file == "-" else Path(body_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError("validation-error", f"--body-file: {exc}", ExitCode.VALIDATION) from None
        source, raw = "--body-file", text
    elif body is not None:
        source, raw = "--body", body
    else:
        return {}
    try:
        parsed = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise CliError("validation-error", f"{source}: not valid JSON ({exc})", ExitCode.VALIDATION) from None
    if not isinstance(parsed, dict):
        raise CliError("validation-error", f"{source}: the body must be a JSON object", ExitCode.VALIDATION)
    return parsed


def _fetch_all(api: ApiClient, op: Operation[Any, Any], body: dict[str, Any]) -> Envelope:
    """Every page of a list, with a progress display on stderr; one envelope with all items."""
    body = {"limit": ALL_PAGE_LIMIT, **body}
    items: list[Any] = []
    pages = 0
    last: Envelope | None = None
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} items, {task.fields[pages]} pages"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    with progress:
        task = progress.add_task(op.name, total=None, pages=0)
        while True:
            last = api.call(op.path, body)
            data = last.data if isinstance(last.data, Mapping) else {}
            page = data.get("items") or []
            items.extend(page)
            pages += 1
            progress.update(task, advance=len(page), pages=pages)
            token = data.get("next_token")
            if not token:
                break
            body["next_token"] = token
        progress.update(task, total=len(items), completed=len(items))
    assert last is not None
    merged = dict(last.body)
    merged["data"] = {**(last.data or {}), "items": items, "next_token": None}
    return Envelope(last.status, merged)


def run_operation(
    service: ServiceInfo, op: Operation[Any, Any], spec: BodySpec, values: Mapping[str, Any]
) -> None:
    as_json = bool(values.get("as_json"))
    try:
        body = spec.build(values, _read_base(values.get("body"), values.get("body_file")))
        target = config.resolve(
            service,
            base_url=values.get("base_url"),
            org=values.get("org"),
            api_key=values.get("api_key"),
            profile=values.get("profile"),
            cc_code=values.get("cc_code"),
            channel_code=values.get("channel_code"),
        )
        with ApiClient(target, service.short, timeout=float(values.get("timeout") or 30.0)) as api:
            if values.get("all_pages"):
                env = _fetch_all(api, op, body)
            else:
                env = api.call(op.path, body, idempotency_key=values.get("idempotency_key"))
    except CliError as err:
        print_error(err, as_json=as_json)
        raise click.exceptions.Exit(int(err.exit_code)) from None
    if as_json:
        print_json(env.data)
        return
    render(
        env.data,
        title=f"{op.name}" + (" (replayed)" if env.replayed else ""),
        revision=env.body.get("revision"),
        stats=env.body.get("stats"),
    )


class OperationCommand(click.Command):
    """A command bound to one operation (the surfaces test reads ``operation``)."""

    def __init__(self, name: str, service: ServiceInfo, op: Operation[Any, Any]) -> None:
        spec = body_spec(op.input_model, RESERVED_FLAGS)
        self.operation = op
        self.spec = spec

        def callback(**values: Any) -> None:
            run_operation(service, op, spec, values)

        summary = op.summary or op.name
        help_text = (
            f"{summary}\n\nPOST /{service.short}{op.path} — role {op.role}"
            + ("; write." if op.write else "; read.")
        )
        super().__init__(
            name,
            params=[*(_field_option(p) for p in spec.params), *_common_options(op, spec)],
            callback=callback,
            help=help_text,
            short_help=summary,
            no_args_is_help=False,
        )


class NounGroup(click.Group):
    """``g3n <service> <noun>``: the operations whose name starts with the noun."""

    def __init__(self, name: str, service: ServiceInfo, ops: Sequence[Operation[Any, Any]]) -> None:
        super().__init__(name, help=f"{name}: " + ", ".join(command_words(o)[1] for o in ops))
        self.service = service
        self.ops = {command_words(op)[1]: op for op in ops}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.ops)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        op = self.ops.get(cmd_name)
        return OperationCommand(cmd_name, self.service, op) if op is not None else None


class ServiceGroup(click.Group):
    """``g3n <service>``: one sub-group per noun of the service's operation table (built lazily)."""

    def __init__(self, service: ServiceInfo, operations: Sequence[Operation[Any, Any]] | None = None) -> None:
        super().__init__(service.name, help=service.help, no_args_is_help=True)
        self.service = service
        self._ops = list(operations) if operations is not None else None

    @property
    def operations(self) -> list[Operation[Any, Any]]:
        if self._ops is None:
            self._ops = self.service.operations()
        return self._ops

    def nouns(self) -> dict[str, list[Operation[Any, Any]]]:
        out: dict[str, list[Operation[Any, Any]]] = {}
        for op in self.operations:
            out.setdefault(command_words(op)[0], []).append(op)
        return out

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.nouns())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        ops = self.nouns().get(cmd_name)
        return NounGroup(cmd_name, self.service, ops) if ops else None


def command_table(group: ServiceGroup) -> dict[tuple[str, str], Operation[Any, Any]]:
    """Every generated command (``(noun, action)``) with the operation it calls."""
    ctx = click.Context(group)
    out: dict[tuple[str, str], Operation[Any, Any]] = {}
    for noun in group.list_commands(ctx):
        sub = group.get_command(ctx, noun)
        assert isinstance(sub, NounGroup)
        for action in sub.list_commands(ctx):
            cmd = sub.get_command(ctx, action)
            assert isinstance(cmd, OperationCommand)
            out[(noun, action)] = cmd.operation
    return out


__all__ = ["OperationCommand", "ServiceGroup", "command_table", "command_words", "print_error"]
