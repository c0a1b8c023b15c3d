"""Profile use cases: create, get, list, update, status, payout readiness."""

from __future__ import annotations

from typing import Any

import asyncpg
from g3n_kit.errors import ValidationFailed, check_revision
from g3n_kit.ids import new_id

from g3n_influencer.adapters import events
from g3n_influencer.adapters import profiles as repo
from g3n_influencer.domain.profiles import check_profile_transition, duplicate_codes
from g3n_influencer.service.context import Actor
from g3n_influencer.service.models import (
    PayoutReadySet,
    Profile,
    ProfileCreate,
    ProfileGet,
    ProfileList,
    ProfileStatusSet,
    ProfileUpdate,
)


def _check_codes(codes: list[str]) -> None:
    dupes = duplicate_codes(codes)
    if dupes:
        raise ValidationFailed(
            "codes must be unique (case-insensitively)",
            [{"path": f"codes.{i}", "message": "repeats an earlier code"} for i in dupes],
        )


async def create_profile(conn: asyncpg.Connection, actor: Actor, cmd: ProfileCreate) -> Profile:
    _check_codes(cmd.codes)
    profile_id = new_id("inf")
    await repo.insert(
        conn,
        actor.org_code,
        profile_id=profile_id,
        handle=cmd.handle,
        display_name=cmd.display_name,
        email=cmd.email,
        country=cmd.country,
        payout_currency=cmd.payout_currency,
        actor=actor.actor,
    )
    await repo.replace_codes(conn, actor.org_code, profile_id, cmd.codes)
    profile = await repo.get(conn, actor.org_code, profile_id)
    await events.emit_one(conn, actor, "profile", profile_id, "created", profile, profile.revision)
    return profile


async def get_profile(conn: asyncpg.Connection, actor: Actor, cmd: ProfileGet) -> Profile:
    return await repo.get(conn, actor.org_code, cmd.profile_id)


async def list_profiles(
    conn: asyncpg.Connection, actor: Actor, cmd: ProfileList
) -> tuple[list[Profile], str | None]:
    return await repo.list_page(conn, actor.org_code, cmd)


async def update_profile(conn: asyncpg.Connection, actor: Actor, cmd: ProfileUpdate) -> Profile:
    row = await repo.load(conn, actor.org_code, cmd.profile_id, lock=True)
    check_revision(expected=cmd.expected_revision, current=row["revision"], what=f"profile {cmd.profile_id}")
    fields: dict[str, Any] = {}
    if cmd.display_name is not None:
        fields["display_name"] = cmd.display_name
    if "email" in cmd.model_fields_set:
        fields["email"] = cmd.email
    if cmd.codes is not None:
        _check_codes(cmd.codes)
        await repo.replace_codes(conn, actor.org_code, cmd.profile_id, cmd.codes)
    await repo.update(conn, actor.org_code, cmd.profile_id, fields)
    profile = await repo.get(conn, actor.org_code, cmd.profile_id)
    await events.emit_one(conn, actor, "profile", profile.profile_id, "updated", profile, profile.revision)
    return profile


async def set_profile_status(conn: asyncpg.Connection, actor: Actor, cmd: ProfileStatusSet) -> Profile:
    row = await repo.load(conn, actor.org_code, cmd.profile_id, lock=True)
    check_revision(expected=cmd.expected_revision, current=row["revision"], what=f"profile {cmd.profile_id}")
    check_profile_transition(row["status"], cmd.status, profile_id=cmd.profile_id)
    await repo.update(
        conn, actor.org_code, cmd.profile_id, {"status": cmd.status, "status_reason": cmd.reason}
    )
    profile = await repo.get(conn, actor.org_code, cmd.profile_id)
    await events.emit_one(
        conn, actor, "profile", profile.profile_id, "status_changed", profile, profile.revision
    )
    return profile


async def set_payout_ready(conn: asyncpg.Connection, actor: Actor, cmd: PayoutReadySet) -> Profile:
    """Finance confirms (or withdraws) that a profile is payable."""
    row = await repo.load(conn, actor.org_code, cmd.profile_id, lock=True)
    check_revision(expected=cmd.expected_revision, current=row["revision"], what=f"profile {cmd.profile_id}")
    fields: dict[str, Any] = {"payout_ready": cmd.ready, "payout_note": cmd.note}
    if cmd.payout_method is not None:
        fields["payout_method"] = cmd.payout_method.model_dump()
    await repo.update(conn, actor.org_code, cmd.profile_id, fields)
    profile = await repo.get(conn, actor.org_code, cmd.profile_id)
    await events.emit_one(
        conn, actor, "profile", profile.profile_id, "payout_ready_set", profile, profile.revision
    )
    return profile
