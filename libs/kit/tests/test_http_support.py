"""A demo "widget" operation table and the fixtures the HTTP kit tests share.

Imported by the other ``test_http_*`` modules (``from test_http_support import …``); its own
tests cover the pure pieces (validation paths, tokens) that need no database.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from g3n_kit.apikeys import IFM_ROLES, create_api_key
from g3n_kit.db import Database
from g3n_kit.errors import Conflict, InvalidState, NotFound, ValidationFailed, check_revision
from g3n_kit.http import create_app
from g3n_kit.ids import new_id
from g3n_kit.migrations import KIT_MIGRATIONS, migrate
from g3n_kit.operations import CallContext, Operation, OpResult, RequestModel, validate_input
from g3n_kit.paging import (
    Cursor,
    ListRequest,
    Page,
    decode_token,
    encode_token,
    keyset_condition,
    page_of,
    start_cursor,
)
from pydantic import BaseModel, Field

WIDGET_SCHEMA = """
CREATE TABLE IF NOT EXISTS widgets (
    id text PRIMARY KEY,
    org_code text NOT NULL,
    name text NOT NULL,
    qty integer NOT NULL CHECK (qty >= 0),
    color text,
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active')),
    revision integer NOT NULL DEFAULT 1,
    created_by text NOT NULL,
    channel_code text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (org_code, name)
);
CREATE INDEX IF NOT EXISTS widgets_page ON widgets (org_code, created_at DESC, id DESC);
"""

SECRET_IN_ERROR = "password=hunter2 at db.internal:5432"
_flaky_seen: set[str] = set()


class WidgetCreate(RequestModel):
    name: str = Field(min_length=1, max_length=64)
    qty: int = Field(ge=0)
    color: str | None = None


class WidgetRef(RequestModel):
    widget_id: str


class WidgetUpdate(RequestModel):
    widget_id: str
    expected_revision: int | None = None
    qty: int | None = Field(default=None, ge=0)
    color: str | None = None


class WidgetList(ListRequest):
    color: str | None = None


class Widget(BaseModel):
    widget_id: str
    name: str
    qty: int
    color: str | None
    status: str
    revision: int
    created_by: str
    created_at: datetime
    updated_at: datetime


def _widget(row: asyncpg.Record) -> Widget:
    return Widget(widget_id=row["id"], **{k: row[k] for k in Widget.model_fields if k != "widget_id"})


async def create_widget(ctx: CallContext, inp: WidgetCreate) -> OpResult[Widget]:
    if inp.name.startswith("boom"):
        raise RuntimeError(f"could not connect: {SECRET_IN_ERROR}")
    if inp.name.startswith("flaky") and inp.name not in _flaky_seen:
        _flaky_seen.add(inp.name)
        raise RuntimeError("transient failure")
    if inp.name.startswith("slow"):
        await ctx.conn.execute("SELECT pg_sleep(0.2)")
    try:
        row = await ctx.conn.fetchrow(
            """INSERT INTO widgets (id, org_code, name, qty, color, created_by, channel_code)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
            new_id("wdg"),
            ctx.org_code,
            inp.name,
            inp.qty,
            inp.color,
            ctx.actor,
            ctx.channel_code,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"widget name {inp.name!r} is taken", {"field": "name"}) from None
    assert row is not None
    if inp.name.startswith("reject"):
        raise InvalidState(
            "widgets named reject… are refused after insert", state="draft", required="approved"
        )
    return OpResult(_widget(row), revision=row["revision"])


async def _load(ctx: CallContext, widget_id: str, *, lock: bool = False) -> asyncpg.Record:
    row = await ctx.conn.fetchrow(
        "SELECT * FROM widgets WHERE id = $1 AND org_code = $2" + (" FOR UPDATE" if lock else ""),
        widget_id,
        ctx.org_code,
    )
    if row is None:
        raise NotFound(f"widget {widget_id} not found")
    return row


async def get_widget(ctx: CallContext, inp: WidgetRef) -> OpResult[Widget]:
    row = await _load(ctx, inp.widget_id)
    return OpResult(_widget(row), revision=row["revision"])


async def update_widget(ctx: CallContext, inp: WidgetUpdate) -> OpResult[Widget]:
    row = await _load(ctx, inp.widget_id, lock=True)
    check_revision(expected=inp.expected_revision, current=row["revision"], what=f"widget {inp.widget_id}")
    updated = await ctx.conn.fetchrow(
        """UPDATE widgets SET qty = coalesce($2, qty), color = coalesce($3, color),
               revision = revision + 1, updated_at = clock_timestamp()
           WHERE id = $1 RETURNING *""",
        inp.widget_id,
        inp.qty,
        inp.color,
    )
    assert updated is not None
    return OpResult(_widget(updated), revision=updated["revision"])


async def activate_widget(ctx: CallContext, inp: WidgetRef) -> OpResult[Widget]:
    row = await _load(ctx, inp.widget_id, lock=True)
    if row["status"] != "draft":
        raise InvalidState(
            f"widget {inp.widget_id} is {row['status']}", state=row["status"], required="draft"
        )
    updated = await ctx.conn.fetchrow(
        "UPDATE widgets SET status = 'active', revision = revision + 1 WHERE id = $1 RETURNING *",
        inp.widget_id,
    )
    assert updated is not None
    return OpResult(_widget(updated), revision=updated["revision"])


async def list_widgets(ctx: CallContext, inp: WidgetList) -> OpResult[Page[Widget]]:
    cursor = start_cursor(inp, scope="widget.list")
    cond, args = keyset_condition(cursor, first_param=3)
    rows = await ctx.conn.fetch(
        f"""SELECT * FROM widgets WHERE org_code = $1 AND ($2::text IS NULL OR color = $2) AND {cond}
            ORDER BY created_at DESC, id DESC LIMIT {inp.limit + 1}""",
        ctx.org_code,
        inp.color,
        *args,
    )
    items, token = page_of(
        rows, req=inp, cursor_of=lambda r: Cursor(r["created_at"], r["id"]), scope="widget.list"
    )
    return OpResult(
        Page[Widget](items=[_widget(r) for r in items], next_token=token), stats={"returned": len(items)}
    )


WIDGET_OPS: list[Operation[Any, Any]] = [
    Operation("widget.create", "/widget/create", WidgetCreate, Widget, "inf_manage", create_widget),
    Operation("widget.get", "/widget/get", WidgetRef, Widget, "inf_view", get_widget, write=False),
    Operation("widget.update", "/widget/update", WidgetUpdate, Widget, "inf_manage", update_widget),
    Operation("widget.activate", "/widget/activate", WidgetRef, Widget, "inf_manage", activate_widget),
    Operation("widget.list", "/widget/list", WidgetList, Page[Widget], "inf_view", list_widgets, write=False),
]


async def stat() -> dict[str, Any]:
    return {"service": "demo", "ok": True}


@dataclass
class WidgetEnv:
    dsn: str
    db: Database
    app: FastAPI
    client: httpx.AsyncClient
    acme: str  # inf_manage + inf_view on org acme
    acme_view: str  # inf_view only
    globex: str  # inf_manage + inf_view on org globex

    async def call(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        key: str | None = "acme",
        org: str | None = "acme",
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        h: dict[str, str] = {}
        if org is not None:
            h["x-orgcode"] = org
        if key is not None:
            h["x-api-key"] = getattr(self, key) if key in ("acme", "acme_view", "globex") else key
        h.update(headers or {})
        if content is not None:
            return await self.client.post(path, content=content, headers=h)
        return await self.client.post(path, json=body if body is not None else {}, headers=h)

    async def count(self, sql: str, *args: Any) -> int:
        async with self.db.connection() as conn:
            return int(await conn.fetchval(sql, *args))


async def widget_database(stack: Any, prefix: str) -> str:
    dsn: str = await stack.aensure_database(f"{prefix}_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, [KIT_MIGRATIONS])
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(WIDGET_SCHEMA)
    finally:
        await conn.close()
    return dsn


async def build_env(stack: Any, prefix: str, *, auth_cache_ttl: float = 10.0) -> WidgetEnv:
    dsn = await widget_database(stack, prefix)
    db = await Database.connect(dsn, min_size=2, max_size=12)
    async with db.transaction() as conn:
        _, acme = await create_api_key(conn, "acme", ["inf_manage", "inf_view"], allowed_roles=IFM_ROLES)
        _, acme_view = await create_api_key(conn, "acme", ["inf_view"], allowed_roles=IFM_ROLES)
        _, globex = await create_api_key(conn, "globex", ["inf_manage", "inf_view"], allowed_roles=IFM_ROLES)
    app = create_app(
        service="ifm",
        prefix="/ifm",
        operations=WIDGET_OPS,
        db_provider=lambda: db,
        stat_provider=stat,
        title="widgets",
        version="0.0.1",
        auth_cache_ttl=auth_cache_ttl,
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test"
    )
    return WidgetEnv(dsn, db, app, client, acme, acme_view, globex)


@pytest_asyncio.fixture(name="env", scope="module", loop_scope="session")
async def env_fixture(stack: Any, request: pytest.FixtureRequest) -> AsyncIterator[WidgetEnv]:
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    e = await build_env(stack, module[:20])
    try:
        yield e
    finally:
        await e.client.aclose()
        await e.db.close()


# ---- pure tests (no database) -------------------------------------------------------------


def _fields(exc: ValidationFailed) -> dict[str, str]:
    return {f["path"]: f["message"] for f in exc.details["fields"]}


def test_validation_names_every_bad_field_including_unknown_ones() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_input(WidgetCreate, b'{"name": "", "qty": 1.0, "colour": "red"}')
    fields = _fields(caught.value)
    assert set(fields) == {"name", "qty", "colour"}
    assert fields["colour"] == "unknown field"
    assert caught.value.message.startswith("invalid request: ")


def test_validation_is_strict_about_numbers_but_reads_json_strings_for_rich_types() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_input(WidgetCreate, {"name": "a", "qty": "3"})
    assert set(_fields(caught.value)) == {"qty"}
    assert validate_input(WidgetCreate, {"name": "  padded  ", "qty": 3}).name == "padded"


def test_malformed_json_and_non_objects_are_validation_errors_on_body() -> None:
    for raw in (b'{"name": ', b"[1, 2]", b"null", b'"x"'):
        with pytest.raises(ValidationFailed) as caught:
            validate_input(WidgetCreate, raw)
        assert list(_fields(caught.value)) == ["body"], raw


def test_empty_body_means_an_empty_object() -> None:
    assert validate_input(WidgetList, b"").limit == 8


def test_limit_outside_1_to_256_is_rejected() -> None:
    for bad in (0, 257, -1):
        with pytest.raises(ValidationFailed) as caught:
            validate_input(WidgetList, {"limit": bad})
        assert list(_fields(caught.value)) == ["limit"]
    assert validate_input(WidgetList, {"limit": 256}).limit == 256


def test_token_round_trips_and_rejects_tampering_and_other_filters() -> None:
    cur = Cursor(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "wdg_01ABC")
    token = encode_token(cur, filters={"color": "red"}, scope="widget.list")
    assert decode_token(token, filters={"color": "red"}, scope="widget.list") == cur
    body, sig = token.split(".")
    forged = encode_token(Cursor(cur.created_at - timedelta(days=1), "x"), filters={"color": "red"})
    for bad in (
        body + "." + sig[:-2] + ("AA" if not sig.endswith("AA") else "BB"),
        body[:-1] + "." + sig,
        forged.split(".")[0] + "." + sig,
        "garbage",
        "",
        "a.b.c",
    ):
        with pytest.raises(ValidationFailed) as caught:
            decode_token(bad, filters={"color": "red"}, scope="widget.list")
        assert list(_fields(caught.value)) == ["next_token"]
    with pytest.raises(ValidationFailed, match="different filters"):
        decode_token(token, filters={"color": "blue"}, scope="widget.list")
    with pytest.raises(ValidationFailed, match="different filters"):
        decode_token(token, filters={"color": "red"}, scope="gadget.list")


def test_operation_names_map_to_cli_words_and_mcp_tools() -> None:
    op = WIDGET_OPS[0]
    assert op.tool_name == "widget_create"
    assert op.cli_words == ("widget", "create")
    with pytest.raises(ValueError):
        Operation("Widget Create", "/widget/create", WidgetCreate, Widget, "inf_manage", create_widget)
