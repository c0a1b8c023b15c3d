"""The outbox relay as its own process, so tests can SIGKILL it mid-batch."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from g3n_kit.db import Database
from g3n_kit.relay import OutboxRelay


async def main(dsn: str, bootstrap: str, batch: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    db = await Database.connect(dsn, min_size=1, max_size=3)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await OutboxRelay(db=db, bootstrap=bootstrap, batch=int(batch)).run(stop)
    await db.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
