"""The scheduled loyalty expiry: an ``expire`` entry for every lot past its expiry with points left.

Safe when two schedulers run at once: each chunk locks the due customers' accounts with
``SKIP LOCKED``, so two runs work on disjoint customers, and a customer being served by an HTTP
call or the SCM consumer is skipped this round (that write expires its lots itself first). The
due lots are re-read under the lock, so nothing expires twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from g3n_kit.db import Database

from g3n_crm.adapters import loyalty as repo
from g3n_crm.adapters.events import change_message, publish
from g3n_crm.service.context import utcnow
from g3n_crm.service.loyalty import account_change

log = logging.getLogger(__name__)


async def expire_once(
    db: Database, *, now: datetime | None = None, chunk: int = 500, grace: timedelta = timedelta(0)
) -> int:
    """Expire one chunk of due customers; returns the number of expire entries written.

    Only lots expired more than ``grace`` ago: a sale that spent points at the till before they
    expired may reach the CRM late (consumer lag, retries, replays) and must still find them.
    """
    at = now or utcnow()
    cutoff = at - grace
    async with db.transaction() as conn:
        due = await repo.due_customers(conn, cutoff, chunk)
        if not due:
            return 0
        locked = await repo.lock_accounts(conn, due, skip_locked=True, with_status=False)
        await repo.load_open_lots(conn, locked)
        touched = []
        for key, item in locked.items():
            if item.account.expire_due(at, cutoff=cutoff):
                touched.append((key[0], item.account))
        await repo.save(conn, touched, actor="job:loyalty-expiry", now=at)
        await publish(
            conn, [change_message(org, account_change(acc, acc.balance(at))) for org, acc in touched]
        )
        return sum(len(acc.new_entries) for _, acc in touched)


async def expire_due_lots(
    db: Database,
    *,
    now: datetime | None = None,
    chunk: int = 500,
    max_chunks: int = 100,
    grace: timedelta = timedelta(0),
) -> int:
    """Run chunks until nothing (unlocked) is due; the `ScheduledJob` entry point."""
    total = 0
    for _ in range(max_chunks):
        done = await expire_once(db, now=now, chunk=chunk, grace=grace)
        total += done
        if done == 0:
            break
    return total
