"""Start and SIGKILL test processes; read back what Kafka holds."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord

HERE = Path(__file__).parent


def start(script: str, *args: str, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, str(HERE / script), *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )


def kill9(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            kill9(proc)


async def read_all(
    bootstrap: str, topic: str, *, expect: int | None = None, timeout: float = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic` from the beginning (no group), until `expect` are seen or idle."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    out: list[ConsumerRecord[bytes, bytes]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        idle = 0
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            got = [r for recs in batch.values() for r in recs]
            out.extend(got)
            if expect is not None and len(out) >= expect:
                # keep reading briefly to catch anything beyond the expectation
                idle += 0 if got else 1
                if idle >= 2:
                    break
            elif expect is None and not got:
                idle += 1
                if idle >= 4:
                    break
    finally:
        await consumer.stop()
    return out
