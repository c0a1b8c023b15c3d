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

import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import typer
from g3n_kit.operations import Operation
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from g3n_cli import config
from g3n_cli.client import ApiClient, Envelope
from g3n_cli.errors import CliError, ExitCode, print_error
from g3n_cli.options import BodySpec, Param, body_spec
from g3n_cli.render import pick, print_json, print_value, render
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
    "--get",
    "--help",
)
ALL_PAGE_LIMIT = 256
OPERATION_ATTR = "g3n_operation"


def command_words(op: Operation[Any, Any]) -> tuple[str, str]:
    """``campaign.status.set`` → ``("campaign", "status-set")``."""
    words = op.cli_words
    return words[0], "-".join(words[1:])


def _annotation(p: Param) -> Any:
    """The type and typer.Option of one body field's option."""
    base: Any = (
        Literal[p.choices] if p.choices else {"int": int, "number": float, "bool": bool}.get(p.kind, str)
    )
    if p.kind == "bool" and not p.multiple:
        name = p.flag[2:]
        return Annotated[bool | None, typer.Option(f"--{name}/--no-{name}", help=p.help, show_default=False)]
    metavar = "JSON" if p.kind == "json" else None
    if p.multiple:
        return Annotated[
            list[base] | None, typer.Option(p.flag, help=p.help, metavar=metavar, show_default=False)
        ]
    return Annotated[base | None, typer.Option(p.flag, help=p.help, metavar=metavar, show_default=False)]


def _common_parameters(op: Operation[Any, Any], spec: BodySpec) -> list[tuple[str, Any, Any]]:
    """(name, annotation, default) of the options every generated command has."""
    panel = "Connection and output"
    out: list[tuple[str, Any, Any]] = [
        (
            "base_url",
            Annotated[
                str | None,
                typer.Option(
                    "--base-url",
                    rich_help_panel=panel,
                    help="service base URL (env G3N_<SVC>_BASE_URL; profile; dev stack)",
                ),
            ],
            None,
        ),
        (
            "org",
            Annotated[
                str | None,
                typer.Option(
                    "--org", rich_help_panel=panel, help="x-orgcode: the organisation (env G3N_ORG; profile)"
                ),
            ],
            None,
        ),
        (
            "api_key",
            Annotated[
                str | None,
                typer.Option(
                    "--api-key",
                    rich_help_panel=panel,
                    help="x-api-key (env G3N_<SVC>_API_KEY, G3N_API_KEY; profile)",
                ),
            ],
            None,
        ),
        (
            "profile",
            Annotated[
                str | None,
                typer.Option(
                    "--profile",
                    rich_help_panel=panel,
                    help="named profile from the config file (env G3N_PROFILE)",
                ),
            ],
            None,
        ),
        (
            "cc_code",
            Annotated[
                str | None,
                typer.Option("--cc-code", rich_help_panel=panel, help="x-cccode: cost-centre context"),
            ],
            None,
        ),
        (
            "channel_code",
            Annotated[
                str | None,
                typer.Option(
                    "--channel-code", rich_help_panel=panel, help="x-channel-code: sales channel context"
                ),
            ],
            None,
        ),
        ("timeout", Annotated[float, typer.Option("--timeout", rich_help_panel=panel, help="seconds")], 30.0),
        (
            "body",
            Annotated[
                str | None,
                typer.Option(
                    "--body",
                    metavar="JSON",
                    rich_help_panel=panel,
                    help="the whole body as JSON; options given override its fields",
                ),
            ],
            None,
        ),
        (
            "body_file",
            Annotated[
                str | None,
                typer.Option(
                    "--body-file",
                    metavar="PATH",
                    rich_help_panel=panel,
                    help="read the body (JSON) from a file ('-' = stdin)",
                ),
            ],
            None,
        ),
        (
            "get_path",
            Annotated[
                str | None,
                typer.Option(
                    "--get",
                    metavar="PATH",
                    rich_help_panel=panel,
                    help="print one value of the data, e.g. customer_id or items.0.earning_id (for scripts)",
                ),
            ],
            None,
        ),
        (
            "as_json",
            Annotated[
                bool, typer.Option("--json", rich_help_panel=panel, help="print the envelope's data as JSON")
            ],
            False,
        ),
    ]
    if op.write:
        out.append(
            (
                "idempotency_key",
                Annotated[
                    str | None,
                    typer.Option(
                        "--idempotency-key",
                        rich_help_panel=panel,
                        help="same key + same body within 24 h replays the first response",
                    ),
                ],
                None,
            )
        )
    if spec.is_list:
        out.append(
            (
                "all_pages",
                Annotated[
                    bool,
                    typer.Option(
                        "--all",
                        rich_help_panel=panel,
                        help="follow next_token to the last page (progress on stderr)",
                    ),
                ],
                False,
            )
        )
    return out


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
        raise typer.Exit(int(err.exit_code)) from None
    if values.get("get_path"):
        try:
            print_value(pick(env.data, str(values["get_path"])))
        except KeyError as exc:
            print_error(CliError("no-such-field", str(exc.args[0]), ExitCode.OTHER))
            raise typer.Exit(int(ExitCode.OTHER)) from None
        return
    if as_json:
        print_json(env.data)
        return
    render(
        env.data,
        title=f"{op.name}" + (" (replayed)" if env.replayed else ""),
        revision=env.body.get("revision"),
        stats=env.body.get("stats"),
    )


def _callback(service: ServiceInfo, op: Operation[Any, Any], spec: BodySpec) -> Callable[..., None]:
    """A function whose signature typer turns into the command's options."""

    def callback(**values: Any) -> None:
        run_operation(service, op, spec, values)

    params: list[inspect.Parameter] = []
    for p in spec.params:
        params.append(
            inspect.Parameter(p.dest, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=_annotation(p))
        )
    for name, annotation, default in _common_parameters(op, spec):
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        )
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__annotations__ = {p.name: p.annotation for p in params}
    callback.__name__ = op.tool_name
    setattr(callback, OPERATION_ATTR, op)
    return callback


def service_app(service: ServiceInfo, operations: Sequence[Operation[Any, Any]] | None = None) -> typer.Typer:
    """``g3n <service>``: one group per noun of the table, one command per operation."""
    ops = list(operations) if operations is not None else service.operations()
    app = typer.Typer(name=service.name, help=service.help, no_args_is_help=True)
    nouns: dict[str, list[Operation[Any, Any]]] = {}
    for op in ops:
        nouns.setdefault(command_words(op)[0], []).append(op)
    for noun, noun_ops in sorted(nouns.items()):
        sub = typer.Typer(
            name=noun,
            no_args_is_help=True,
            help=f"{noun}: " + ", ".join(command_words(o)[1] for o in noun_ops),
        )
        for op in noun_ops:
            spec = body_spec(op.input_model, RESERVED_FLAGS)
            summary = op.summary or op.name
            sub.command(
                command_words(op)[1],
                help=f"{summary}\n\nPOST /{service.short}{op.path} - role {op.role}"
                + ("; write." if op.write else "; read."),
                short_help=summary,
            )(_callback(service, op, spec))
        app.add_typer(sub)
    return app


def command_table(app: typer.Typer) -> dict[tuple[str, str], Operation[Any, Any]]:
    """Every generated command (``(noun, action)``) with the operation it calls."""
    out: dict[tuple[str, str], Operation[Any, Any]] = {}
    for group in app.registered_groups:
        sub = group.typer_instance
        assert sub is not None and sub.info.name is not None
        for command in sub.registered_commands:
            op = getattr(command.callback, OPERATION_ATTR, None)
            assert command.name is not None and op is not None
            out[(sub.info.name, command.name)] = op
    return out


__all__ = ["command_table", "command_words", "service_app"]
