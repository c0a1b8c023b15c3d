"""Output: the envelope's ``data`` as JSON for machines (``--json``), Rich tables for people."""

from __future__ import annotations

import re
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
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


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
    if isinstance(value, str) and _TIMESTAMP.match(value):
        return value[:10] + " " + value[11:19] + "Z"  # people read seconds; --json keeps the rest
    if isinstance(value, list) and all(_is_scalar(v) for v in value):
        text = ", ".join(cell(v) for v in value)
    elif isinstance(value, Mapping | list):
        text = orjson.dumps(value).decode()
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def columns_of(items: Sequence[Mapping[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """The table's columns, and the values every row shares (shown once, under the table).

    Scalar-ish keys only (nested objects stay in ``--json``), the item's id first; a key that is
    empty in every row is left out; with several rows, a key with one value in all of them (the
    filter you listed by, usually) moves under the table; at most MAX_COLUMNS remain, dropping
    timestamps and revisions first.
    """
    keys: dict[str, None] = {}
    for item in items[:50]:
        for key, value in item.items():
            if (
                _is_scalar(value)
                or _is_money(value)
                or (isinstance(value, list) and all(_is_scalar(v) for v in value))
            ):
                keys.setdefault(key, None)
    ordered = [k for k in keys if any(item.get(k) not in (None, [], "") for item in items)]
    shared: dict[str, Any] = {}
    if len(items) > 1:
        for key in list(ordered):
            values = {orjson.dumps(item.get(key)) for item in items}
            if len(values) == 1:
                shared[key] = items[0].get(key)
                ordered.remove(key)
    ids = [k for k in ordered if k.endswith("_id")]
    if ids:
        ordered.remove(ids[0])
        ordered.insert(0, ids[0])
    for key in _LOW_PRIORITY:
        if len(ordered) > MAX_COLUMNS and key in ordered:
            ordered.remove(key)
    return ordered[:MAX_COLUMNS], shared


def fit(cols: list[str], cells: list[list[str]], width: int) -> list[int]:
    """Indexes of the columns to show so the table fits ``width``: secondary ids go first, then
    timestamps and revisions, then columns from the right; the first column always stays."""
    need = [max([len(col)] + [len(r[i]) for r in cells]) + 3 for i, col in enumerate(cols)]
    keep = list(range(len(cols)))
    order = [i for i in keep[1:] if cols[i].endswith("_id")]
    order += [i for i in keep[1:] if cols[i] in _LOW_PRIORITY or cols[i].endswith("_at")]
    order += [i for i in reversed(keep[1:]) if i not in order]
    for i in order:
        if sum(need[k] for k in keep) <= width or len(keep) <= 2:
            break
        keep.remove(i)
    return keep


def items_table(items: Sequence[Any], title: str | None = None, width: int = 200) -> Table:
    rows = [i for i in items if isinstance(i, Mapping)]
    cols, shared = columns_of(rows)
    caption = "  ".join(f"{k}: {cell(v)}" for k, v in shared.items()) or None
    table = Table(
        title=title, caption=caption, box=box.SIMPLE_HEAD, title_justify="left", caption_justify="left"
    )
    if not cols:
        table.add_column("value")
        for item in items:
            table.add_row(cell(item))
        return table
    cells = [[cell(row.get(c)) for c in cols] for row in rows]
    shown = fit(cols, cells, width)
    for i in shown:
        col = cols[i]
        widest = max((len(r[i]) for r in cells), default=0)
        if col.endswith(("_id", "_at")) or widest <= 16:  # ids, times, numbers, states: never folded
            table.add_column(col, no_wrap=True, min_width=len(col))
        else:
            table.add_column(col, overflow="fold", min_width=min(len(col), 12))
    for r in cells:
        table.add_row(*(r[i] for i in shown))
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
        console.print(items_table(items, title=heading, width=console.width))
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
            console.print(items_table(items, title=key, width=console.width))
    else:
        console.print(cell(data))
    if stats:
        console.print(object_table(flatten(stats), title="stats")[0])


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"totals": {"USD": {"pending": {"count": 3}}}}`` → ``{"totals.USD.pending": "count=3"}``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and all(_is_scalar(v) for v in value.values()):
            out[name] = ", ".join(f"{k}={cell(v)}" for k, v in value.items())
        elif isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
