"""Keyset paging through the HTTP surface: no skips or repeats while writes happen."""

from __future__ import annotations

from typing import Any

import pytest
from test_http_support import WidgetEnv, env_fixture  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _page(env: WidgetEnv, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    resp = await env.call("/ifm/widget/list", body, **kw)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_paging_over_30_items_with_inserts_between_pages_never_skips_or_repeats(env: WidgetEnv) -> None:
    for i in range(30):
        assert (
            await env.call("/ifm/widget/create", {"name": f"p-{i:02d}", "qty": i, "color": "teal"})
        ).status_code == 200
    expected = [w["widget_id"] for w in (await _page(env, {"color": "teal", "limit": 256}))["data"]["items"]]
    assert len(expected) == 30
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        body: dict[str, Any] = {"color": "teal", "limit": 7}
        if token:
            body["next_token"] = token
        page = await _page(env, body)
        assert page["stats"] == {"returned": len(page["data"]["items"])}
        seen += [w["widget_id"] for w in page["data"]["items"]]
        token = page["data"]["next_token"]
        pages += 1
        # concurrent writers: new rows of the same filter, and another org's rows
        await env.call("/ifm/widget/create", {"name": f"p-new-{pages}", "qty": 1, "color": "teal"})
        await env.call(
            "/ifm/widget/create",
            {"name": f"p-new-{pages}", "qty": 1, "color": "teal"},
            key="globex",
            org="globex",
        )
        if token is None:
            break
    assert seen == expected
    assert pages == 5


async def test_rows_with_the_same_timestamp_are_ordered_by_id_across_pages(env: WidgetEnv) -> None:
    async with env.db.transaction() as conn:
        await conn.execute(
            """INSERT INTO widgets (id, org_code, name, qty, color, created_by, created_at)
               SELECT 'wdg_same_' || lpad(g::text, 2, '0'), 'acme', 'same-' || g, 1, 'tie', 'test',
                      timestamptz '2026-01-01 00:00:00Z'
               FROM generate_series(1, 11) g"""
        )
    seen: list[str] = []
    token = None
    while True:
        page = await _page(env, {"color": "tie", "limit": 4, **({"next_token": token} if token else {})})
        seen += [w["widget_id"] for w in page["data"]["items"]]
        token = page["data"]["next_token"]
        if token is None:
            break
    assert seen == [f"wdg_same_{i:02d}" for i in range(11, 0, -1)]


async def test_last_page_has_no_token_and_default_limit_is_8(env: WidgetEnv) -> None:
    page = await _page(env, {"color": "nobody"})
    assert page["data"] == {"items": [], "next_token": None}
    for i in range(9):
        await env.call("/ifm/widget/create", {"name": f"d-{i}", "qty": 1, "color": "dflt"})
    first = await _page(env, {"color": "dflt"})
    assert len(first["data"]["items"]) == 8 and first["data"]["next_token"]
    second = await _page(env, {"color": "dflt", "next_token": first["data"]["next_token"]})
    assert len(second["data"]["items"]) == 1 and second["data"]["next_token"] is None


async def test_tampered_or_foreign_tokens_are_validation_errors(env: WidgetEnv) -> None:
    for i in range(3):
        await env.call("/ifm/widget/create", {"name": f"t-{i}", "qty": 1, "color": "tok"})
    token = (await _page(env, {"color": "tok", "limit": 1}))["data"]["next_token"]
    body, sig = token.split(".")
    tampered = body[:-2] + ("AA" if not body.endswith("AA") else "BB") + "." + sig
    for bad_body in (
        {"color": "tok", "limit": 1, "next_token": tampered},
        {"color": "tok", "limit": 1, "next_token": "bm90IGEgdG9rZW4"},
        {"color": "other", "limit": 1, "next_token": token},
    ):
        resp = await env.call("/ifm/widget/list", bad_body)
        assert resp.status_code == 400, resp.text
        err = resp.json()["error"]
        assert err["code"] == "validation-error"
        assert [f["path"] for f in err["details"]["fields"]] == ["next_token"]
    # the limit may change between pages; the filters may not
    assert (
        await env.call("/ifm/widget/list", {"color": "tok", "limit": 2, "next_token": token})
    ).status_code == 200
