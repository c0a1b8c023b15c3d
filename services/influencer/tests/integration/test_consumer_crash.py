"""The real consumer process (`python -m g3n_influencer.entrypoints.consumer`) SIGKILLed twice
mid-stream loses and doubles nothing: every sale is attributed once, every return clawed back
once, and exactly one change event exists per state change."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from g3n_contracts import topics
from g3n_kit.outbox import outbox_messages
from ifm_support import Ifm, caught_up, produce, return_event, sale_event, unique

SALES = 4000
RETURNS = 400


def _start(ifm: Ifm, group: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "G3N_IFM_DATABASE_URL": ifm.dsn,
        "G3N_KAFKA_BOOTSTRAP": ifm.stack.kafka_bootstrap,
        "G3N_IFM_SCM_GROUP": group,
        "G3N_IFM_ACCOUNTING_GROUP": group + ".acct",
        "G3N_IFM_CONSUMER_MAX_BATCH": "200",
        "G3N_IFM_LOG_LEVEL": "WARNING",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "g3n_influencer.entrypoints.consumer"], env=env, stdout=out, stderr=out
        )


async def _count(ifm: Ifm) -> int:
    return int(await ifm.fetchval("SELECT count(*) FROM ifm_attributions WHERE org_code = $1", ifm.org))


async def test_sigkill_mid_stream_loses_and_doubles_nothing(ifm: Ifm, tmp_path: Path) -> None:
    await ifm.active_campaign("gus", "GUS")
    org = ifm.org
    events = [sale_event(org, f"o{i}", [("1", "A", 2, 5000)], codes=["GUS"]) for i in range(SALES)]
    events += [return_event(org, f"o{i}", f"r{i}", [("1", 1)]) for i in range(0, SALES, SALES // RETURNS)]
    await ifm.stack.acreate_topics([topics.SCM_SALES], partitions=4)
    await produce(ifm.stack.kafka_bootstrap, topics.SCM_SALES, events)

    group = unique("ifm.scm.crash")
    log = tmp_path / "consumer.log"
    proc = _start(ifm, group, log)
    try:
        for threshold in (800, 2000):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 120
            while await _count(ifm) < threshold:
                assert proc.poll() is None, log.read_text()[-3000:]
                assert loop.time() < deadline, log.read_text()[-3000:]
                await asyncio.sleep(0.02)
            proc.kill()  # SIGKILL: no shutdown, offsets and transactions wherever they were
            proc.wait(10)
            proc = _start(ifm, group, log)
        await caught_up(ifm.stack.kafka_bootstrap, group, topics.SCM_SALES, timeout=180)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    totals = await ifm.fetch(
        """SELECT count(*) AS n, sum(amount_minor) AS amount, sum(clawed_back_minor) AS clawed
           FROM ifm_earnings WHERE org_code = $1""",
        org,
    )
    assert (totals[0]["n"], totals[0]["amount"], totals[0]["clawed"]) == (SALES, SALES * 500, RETURNS * 250)
    kinds = dict(
        await ifm.fetch("SELECT kind, count(*) FROM ifm_ledger WHERE org_code = $1 GROUP BY kind", org)
    )
    assert kinds == {"accrual": SALES, "clawback": RETURNS}
    assert await ifm.fetchval("SELECT count(*) FROM ifm_applied_returns WHERE org_code = $1", org) == RETURNS
    async with ifm.db.connection() as conn:
        outbox = Counter(
            dict(m.headers)["event_type"].decode()
            for m in await outbox_messages(conn, topic=topics.IFM_EVENTS)
            if m.key is not None and m.key.startswith(f"{org}:".encode())
        )
    assert outbox["ifm.attribution.recorded"] == SALES and outbox["ifm.earning.created"] == SALES
    assert outbox["ifm.earning.clawed_back"] == RETURNS
