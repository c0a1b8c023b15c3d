"""Ids in the kit's format (``g3n_kit.ids.new_id``), minted a chunk at a time for batch writers:
one clock read and one ``os.urandom`` per chunk (``g3n_kit.ids.id_bodies``). The SCM consumer
mints two ids per sale (ledger entry and lot)."""

from __future__ import annotations

from g3n_kit.ids import id_bodies


class IdPool:
    """A ``new_id``-compatible factory (``pool("lot")`` → ``lot_…``) refilled ``chunk`` at a time."""

    __slots__ = ("_bodies", "_chunk")

    def __init__(self, chunk: int = 256) -> None:
        self._chunk = chunk
        self._bodies: list[str] = []

    def __call__(self, prefix: str) -> str:
        if not self._bodies:
            self._bodies = id_bodies(self._chunk)
            self._bodies.reverse()  # pop() from the end hands them out in minting order
        return f"{prefix}_{self._bodies.pop()}"
