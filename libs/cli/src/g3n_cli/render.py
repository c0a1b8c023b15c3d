"""Output: the envelope's ``data`` as JSON for machines (``--json``), Rich tables for people."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from rich import box
from rich.console import Console
from rich.table import Table

MAX_COLUMNS = 9
MAX_CELL = 120
_LOW_PRIORITY = ("updated_at", "revision", "created_at")


def print_json(value: Any) -> None:
    sys.stdout.write(
        orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"
    )
    sys.stdout.flush()


def pick(data: Any, path: str) -> Any:
    """The value at a dotted path (``items.0.earning_id``); KeyError naming the missing part."""
    value = data
    walked: list[str] = []
    for part in path.split("."):
        walked.append(part)
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(f"the response has no {'.'.join(walked)}")
    return value


def print_value(value: Any) -> None:
    """A string as it is, anything else as compact JSON (what a shell variable wants)."""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_money(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"amount_minor", "currency"}


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _is_money(value):
        return f"{value['amount_minor']} {value['currency']}"
    if isinstance(value, list) and all(_is_scalar(v) for v in value):
        text = ", ".join(cell(v) for v in value)
    elif isinstance(value, Mapping | list):
        text = orjson.dumps(value).decode()
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def columns_of(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """Scalar-ish keys of the items, the id first, at most MAX_COLUMNS (timestamps go first)."""
    keys: dict[str, None] = {}
    for item in items[:50]:
        for key, value in item.items():
            if (
                _is_scalar(value)
                or _is_money(value)
                or (isinstance(value, list) and all(_is_scalar(v) for v in value))
            ):
                keys.setdefault(key, None)
    ordered = list(keys)
    ids = [k for k in ordered if k.endswith("_id")]
    if ids:
        ordered.remove(ids[0])
        ordered.insert(0, ids[0])
    for key in _LOW_PRIORITY:
        if len(ordered) > MAX_COLUMNS and key in ordered:
            ordered.remove(key)
    return ordered[:MAX_COLUMNS]


def items_table(items: Sequence[Any], title: str | None = None) -> Table:
    rows = [i for i in items if isinstance(i, Mapping)]
    cols = columns_of(rows)
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_lines=False)
    if not cols:
        table.add_column("value")
        for item in items:
            table.add_row(cell(item))
        return table
    for col in cols:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(cell(row.get(c)) for c in cols))
    return table


def object_table(
    data: Mapping[str, Any], title: str | None = None
) -> tuple[Table, list[tuple[str, list[Any]]]]:
    """A key/value table, plus the lists of objects to print as their own tables."""
    table = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    nested: list[tuple[str, list[Any]]] = []
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            nested.append((key, value))
            table.add_row(key, f"{len(value)} (below)")
            continue
        table.add_row(key, cell(value))
    return table, nested


def render(
    data: Any,
    *,
    title: str | None = None,
    revision: int | None = None,
    stats: Mapping[str, Any] | None = None,
    console: Console | None = None,
) -> None:
    console = console or Console(highlight=False, soft_wrap=False)
    heading = title if revision is None else f"{title or ''} (revision {revision})".strip()
    if isinstance(data, Mapping) and isinstance(data.get("items"), list):
        items = data["items"]
        console.print(items_table(items, title=heading))
        footer = [f"{len(items)} item{'s' if len(items) != 1 else ''}"]
        if data.get("next_token"):
            footer.append(f"more: --next-token {data['next_token']}  (or --all)")
        console.print("  " + "; ".join(footer), style="dim")
        extra = {k: v for k, v in data.items() if k not in ("items", "next_token")}
        if extra:
            render(extra, console=console)
    elif isinstance(data, Mapping):
        table, nested = object_table(data, title=heading)
        console.print(table)
        for key, items in nested:
            console.print(items_table(items, title=key))
    else:
        console.print(cell(data))
    if stats:
        console.print(object_table(stats, title="stats")[0])
