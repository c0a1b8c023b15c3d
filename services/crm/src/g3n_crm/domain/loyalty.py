"""The loyalty ledger of one customer: earn lots, entries, balances (pure, no I/O).

Model
-----
* Every credit of points lives in a **lot**: ``points`` credited, ``remaining`` unspent,
  ``available_at`` (end of the pending period) and ``expires_at``. A lot is *pending* while
  ``available_at > now`` and *available* afterwards.
* Every change is an append-only **entry** with signed ``points`` (credits positive, debits
  negative), the lot **movements** it made and the **debt** change. For every entry
  ``points == sum(movements) - debt_change``, hence at all times

      available + pending - debt == sum(entry.points) == account.total

  (``available``/``pending`` are the lots' remaining points split by ``available_at``).
* **Debt** is what a reversal could not take back because it was already spent. It is paid off
  by the next credits (earn, restore, positive adjust) through ``debt_settle`` entries, whose
  signed points are 0: they move points from the credited lot onto the debt.

Rules
-----
* Redeem takes from available lots, soonest-expiring first (no expiry last; then older
  availability, then lot id).
* Restore gives back up to what a redemption took and has not been restored yet, to the same lots
  (keeping their expiry), last-taken first; a part that went to debt is given back first by
  lowering the debt again (or, if that debt was meanwhile paid, as a fresh lot).
  Points restored into a lot that has expired meanwhile expire again at once (an ``expire`` entry).
* Reverse takes back up to what an earn credited and was not reversed yet: first from the earn's
  own lot, then from the other lots (available soonest-expiring first, then pending); what is left
  becomes debt. So ``debt > 0`` only when the customer holds no points at all.
* A negative adjust takes from available lots; beyond that it is ``insufficient-balance`` unless
  debt is allowed (then pending lots, then debt).
* Expiry: a lot past ``expires_at`` with points left gets an ``expire`` entry for them. Every write
  first expires the due lots of the customer, so an expired point is never redeemed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from g3n_kit.errors import InsufficientBalance, InvalidState, ValidationFailed
from g3n_kit.ids import new_id
from g3n_kit.values import value_type

from g3n_crm.domain.policy import LoyaltyPolicy

EntryKind = Literal["earn", "redeem", "restore", "reverse", "adjust", "expire", "debt_settle"]
ENTRY_KINDS: tuple[EntryKind, ...] = (
    "earn",
    "redeem",
    "restore",
    "reverse",
    "adjust",
    "expire",
    "debt_settle",
)

IdFactory = Callable[[str], str]

ENTRY_PREFIX = "lpt"
LOT_PREFIX = "lot"


@dataclass(slots=True)
class Lot:
    lot_id: str
    customer_id: str
    origin_entry_id: str  # the earn/adjust/restore entry that created it
    points: int
    remaining: int
    reversed: int
    available_at: datetime
    expires_at: datetime | None
    created_at: datetime

    def is_available(self, now: datetime) -> bool:
        return self.available_at <= now

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def spend_order(self) -> tuple[bool, datetime, datetime, str]:
        """Sort key: soonest-expiring first, never-expiring last, then older, then id."""
        never = self.expires_at is None
        return (never, self.expires_at or self.available_at, self.available_at, self.lot_id)


@value_type
class Movement:
    lot_id: str
    points: int  # signed change of the lot's remaining points


@value_type
class Entry:
    entry_id: str
    customer_id: str
    kind: EntryKind
    points: int
    reason: str | None
    source_ref: str | None
    ref_entry_id: str | None  # earn reversed / redemption restored
    movements: tuple[Movement, ...]
    debt_change: int
    balance_after: int
    seq: int
    created_at: datetime

    def __post_init__(self) -> None:
        moved = 0
        for m in self.movements:
            moved += m.points
        if self.points != moved - self.debt_change:
            raise AssertionError(f"entry {self.entry_id} does not balance")

    @property
    def lot_id(self) -> str | None:
        return self.movements[0].lot_id if len(self.movements) == 1 else None


@dataclass(slots=True)
class Allocation:
    """What a redemption took from one lot and how much of it was restored since."""

    lot_id: str
    points: int
    restored: int = 0


@dataclass(slots=True)
class Redemption:
    redemption_id: str  # the redeem entry's id
    customer_id: str
    points: int
    allocations: list[Allocation]
    debt_points: int = 0  # the part that went to debt (a sale tender beyond the balance)
    debt_restored: int = 0
    source_ref: str | None = None
    new: bool = False
    dirty: bool = False  # restored since it was loaded

    @property
    def restored(self) -> int:
        return self.debt_restored + sum(a.restored for a in self.allocations)

    @property
    def restorable(self) -> int:
        return self.points - self.restored


@dataclass(frozen=True, slots=True)
class Balance:
    available: int
    pending: int
    debt: int

    @property
    def total(self) -> int:
        return self.available + self.pending - self.debt


@dataclass(slots=True)
class LoyaltyAccount:
    """One customer's ledger state. ``lots`` must hold every lot with points left (and any lot
    an operation names) before a debit; an earn into an account without debt needs none."""

    customer_id: str
    debt: int = 0
    total: int = 0
    seq: int = 0
    lots: dict[str, Lot] = field(default_factory=dict)
    new_entries: list[Entry] = field(default_factory=list)
    new_lots: list[Lot] = field(default_factory=list)
    changed_lots: set[str] = field(default_factory=set)
    new_id: IdFactory = new_id

    # ---- reading ---------------------------------------------------------------------------

    def balance(self, now: datetime) -> Balance:
        available = sum(lot.remaining for lot in self.lots.values() if lot.is_available(now))
        pending = sum(lot.remaining for lot in self.lots.values() if not lot.is_available(now))
        return Balance(available, pending, self.debt)

    def check(self, now: datetime) -> None:
        """Invariant check (cheap; used by tests and before persisting)."""
        if self.debt < 0:
            raise AssertionError("negative debt")
        for lot in self.lots.values():
            if not 0 <= lot.remaining <= lot.points or not 0 <= lot.reversed <= lot.points:
                raise AssertionError(f"lot {lot.lot_id} out of range")
        if self.balance(now).total != self.total:
            raise AssertionError(f"balance {self.balance(now)} != ledger total {self.total}")

    # ---- primitives ------------------------------------------------------------------------

    def _record(
        self,
        kind: EntryKind,
        points: int,
        now: datetime,
        *,
        movements: Iterable[Movement] = (),
        debt_change: int = 0,
        reason: str | None = None,
        source_ref: str | None = None,
        ref_entry_id: str | None = None,
        entry_id: str | None = None,
    ) -> Entry:
        moves = tuple(m for m in movements if m.points)
        for m in moves:
            lot = self.lots[m.lot_id]
            lot.remaining += m.points
            if not 0 <= lot.remaining <= lot.points:
                raise AssertionError(f"lot {lot.lot_id} would hold {lot.remaining} of {lot.points}")
            self.changed_lots.add(lot.lot_id)
        self.debt += debt_change
        self.total += points
        self.seq += 1
        entry = Entry(
            entry_id=entry_id or self.new_id(ENTRY_PREFIX),
            customer_id=self.customer_id,
            kind=kind,
            points=points,
            reason=reason,
            source_ref=source_ref,
            ref_entry_id=ref_entry_id,
            movements=moves,
            debt_change=debt_change,
            balance_after=self.total,
            seq=self.seq,
            created_at=now,
        )
        self.new_entries.append(entry)
        return entry

    def _new_lot(
        self,
        origin_entry_id: str,
        points: int,
        available_at: datetime,
        expires_at: datetime | None,
        now: datetime,
    ) -> Lot:
        lot = Lot(
            lot_id=self.new_id(LOT_PREFIX),
            customer_id=self.customer_id,
            origin_entry_id=origin_entry_id,
            points=points,
            remaining=0,  # filled by the crediting entry's movement
            reversed=0,
            available_at=available_at,
            expires_at=expires_at,
            created_at=now,
        )
        self.lots[lot.lot_id] = lot
        self.new_lots.append(lot)
        return lot

    def _take(self, points: int, lots: Iterable[Lot]) -> tuple[list[Movement], int]:
        """Take up to ``points`` from ``lots`` in the given order; returns movements and shortfall."""
        moves: list[Movement] = []
        left = points
        for lot in lots:
            if left == 0:
                break
            part = min(left, lot.remaining)
            if part:
                moves.append(Movement(lot.lot_id, -part))
                left -= part
        return moves, left

    def _open_lots(self, now: datetime, *, available: bool, exclude: str | None = None) -> list[Lot]:
        found = [
            lot
            for lot in self.lots.values()
            if lot.remaining > 0 and lot.is_available(now) == available and lot.lot_id != exclude
        ]
        return sorted(found, key=Lot.spend_order)

    def _settle_debt(self, lots: Iterable[Lot], now: datetime, reason: str | None) -> Entry | None:
        if self.debt == 0:
            return None
        moves, _ = self._take(self.debt, lots)
        paid = -sum(m.points for m in moves)
        if paid == 0:
            return None
        return self._record("debt_settle", 0, now, movements=moves, debt_change=-paid, reason=reason)

    # ---- operations ------------------------------------------------------------------------

    def expire_due(self, now: datetime, *, cutoff: datetime | None = None) -> list[Entry]:
        """Book an ``expire`` entry (at ``now``) for every lot expired by ``cutoff`` (default now)."""
        limit = now if cutoff is None else cutoff
        due = [
            lot
            for lot in self.lots.values()
            if lot.remaining and lot.expires_at is not None and lot.expires_at <= limit
        ]
        if not due:
            return []
        due.sort(key=Lot.spend_order)
        return [
            self._record(
                "expire",
                -lot.remaining,
                now,
                movements=[Movement(lot.lot_id, -lot.remaining)],
                reason="expired",
            )
            for lot in due
        ]

    def earn(
        self,
        points: int,
        now: datetime,
        policy: LoyaltyPolicy,
        *,
        reason: str | None,
        source_ref: str | None = None,
        earned_at: datetime | None = None,
        kind: Literal["earn", "adjust"] = "earn",
    ) -> tuple[Entry, Lot | None]:
        """Credit ``points`` in a new lot. ``earned_at`` (e.g. the sale time, never after ``now``)
        starts the pending and expiry periods. Debt is settled from the new lot first."""
        if points < 0:
            raise ValidationFailed("points must be >= 0", [{"path": "points", "message": ">= 0"}])
        self.expire_due(now)
        base = min(earned_at or now, now)
        entry_id = self.new_id(ENTRY_PREFIX)
        if points == 0:
            return self._record(kind, 0, now, reason=reason, source_ref=source_ref, entry_id=entry_id), None
        pending = timedelta(days=policy.pending_days) if kind == "earn" else timedelta(0)
        expires = base + timedelta(days=policy.expiry_days) if policy.expiry_days is not None else None
        lot = self._new_lot(entry_id, points, base + pending, expires, now)
        entry = self._record(
            kind,
            points,
            now,
            movements=[Movement(lot.lot_id, points)],
            reason=reason,
            source_ref=source_ref,
            entry_id=entry_id,
        )
        self._settle_debt([lot], now, reason)
        if lot.is_expired(now):
            self.expire_due(now)
        return entry, lot

    def redeem(
        self,
        points: int,
        now: datetime,
        policy: LoyaltyPolicy | None,
        *,
        reason: str | None,
        source_ref: str | None = None,
        force: bool = False,
        as_of: datetime | None = None,
    ) -> tuple[Entry, Redemption]:
        """Spend ``points`` from available lots, soonest-expiring first.

        ``force`` (a loyalty tender of a recorded sale: the points were already spent at the
        till) also takes pending lots and books any shortfall as debt instead of refusing.
        ``as_of`` (that sale's time, when earlier than ``now``) picks and expires lots as they
        stood when the points were spent, so a sale that reaches the CRM late (consumer lag, a
        retry, a replay) takes the same lots it would have taken on time; the entry is booked
        at ``now``.
        """
        at = min(as_of, now) if as_of is not None else now
        if points <= 0:
            raise ValidationFailed("points must be > 0", [{"path": "points", "message": "> 0"}])
        if policy is not None and not force and points < policy.min_redeem_points:
            raise ValidationFailed(
                f"redemption below the policy minimum of {policy.min_redeem_points} points",
                [{"path": "points", "message": f"must be >= {policy.min_redeem_points}"}],
            )
        self.expire_due(at)
        order = self._open_lots(at, available=True)
        if force:
            order += self._open_lots(at, available=False)
        moves, shortfall = self._take(points, order)
        if shortfall and not force:
            raise InsufficientBalance(
                f"redeeming {points} points exceeds the available {points - shortfall}",
                available=points - shortfall,
            )
        entry = self._record(
            "redeem",
            -points,
            now,
            movements=moves,
            debt_change=shortfall,
            reason=reason,
            source_ref=source_ref,
        )
        redemption = Redemption(
            redemption_id=entry.entry_id,
            customer_id=self.customer_id,
            points=points,
            allocations=[Allocation(m.lot_id, -m.points) for m in moves],
            debt_points=shortfall,
            source_ref=source_ref,
            new=True,
        )
        return entry, redemption

    def restore(
        self,
        redemption: Redemption,
        points: int | None,
        now: datetime,
        policy: LoyaltyPolicy,
        *,
        reason: str | None,
        source_ref: str | None = None,
    ) -> list[Entry]:
        """Give back ``points`` (default: all not yet restored) of ``redemption`` to its lots."""
        left = redemption.restorable
        if left == 0:
            raise InvalidState(
                f"redemption {redemption.redemption_id} is fully restored",
                state="restored",
                required="restorable points",
            )
        wanted = left if points is None else points
        if wanted <= 0:
            raise ValidationFailed("points must be > 0", [{"path": "points", "message": "> 0"}])
        if wanted > left:
            raise ValidationFailed(
                f"only {left} points of redemption {redemption.redemption_id} can be restored",
                [{"path": "points", "message": f"must be <= {left} (redeemed and not yet restored)"}],
            )
        self.expire_due(now)
        redemption.dirty = True
        out: list[Entry] = []
        todo = wanted
        debt_part = min(todo, redemption.debt_points - redemption.debt_restored)
        debt_change = -min(debt_part, self.debt)
        fresh = debt_part + debt_change  # debt meanwhile paid by earns: credit a fresh lot
        redemption.debt_restored += debt_part
        todo -= debt_part
        moves: list[Movement] = []
        for alloc in reversed(redemption.allocations):
            if todo == 0:
                break
            part = min(todo, alloc.points - alloc.restored)
            if part:
                alloc.restored += part
                moves.append(Movement(alloc.lot_id, part))
                todo -= part
        entry_id = self.new_id(ENTRY_PREFIX)
        if fresh:
            expires = now + timedelta(days=policy.expiry_days) if policy.expiry_days is not None else None
            lot = self._new_lot(entry_id, fresh, now, expires, now)
            moves.append(Movement(lot.lot_id, fresh))
        out.append(
            self._record(
                "restore",
                wanted,
                now,
                movements=moves,
                debt_change=debt_change,
                reason=reason,
                source_ref=source_ref,
                ref_entry_id=redemption.redemption_id,
                entry_id=entry_id,
            )
        )
        credited = [self.lots[m.lot_id] for m in moves]
        settle = self._settle_debt(sorted(credited, key=Lot.spend_order), now, reason)
        if settle is not None:
            out.append(settle)
        out.extend(self.expire_due(now))
        return out

    def reverse(
        self,
        lot: Lot,
        points: int | None,
        now: datetime,
        *,
        reason: str | None,
        source_ref: str | None = None,
    ) -> Entry:
        """Take back ``points`` (default: all not yet reversed) of the earn that made ``lot``."""
        earn_entry_id = lot.origin_entry_id
        left = lot.points - lot.reversed
        wanted = left if points is None else points
        if points is not None and points <= 0:
            raise ValidationFailed("points must be > 0", [{"path": "points", "message": "> 0"}])
        if wanted > left:
            raise ValidationFailed(
                f"only {left} points of earn {earn_entry_id} can be reversed",
                [{"path": "points", "message": f"must be <= {left} (earned and not yet reversed)"}],
            )
        if wanted == 0:
            raise InvalidState(
                f"earn {earn_entry_id} is fully reversed", state="reversed", required="reversible points"
            )
        self.expire_due(now)
        order = [lot, *self._open_lots(now, available=True, exclude=lot.lot_id)]
        order += self._open_lots(now, available=False, exclude=lot.lot_id)
        moves, shortfall = self._take(wanted, order)
        lot.reversed += wanted
        self.changed_lots.add(lot.lot_id)
        return self._record(
            "reverse",
            -wanted,
            now,
            movements=moves,
            debt_change=shortfall,
            reason=reason,
            source_ref=source_ref,
            ref_entry_id=earn_entry_id,
        )

    def adjust(
        self,
        points: int,
        now: datetime,
        policy: LoyaltyPolicy,
        *,
        reason: str | None,
        allow_debt: bool = False,
        source_ref: str | None = None,
    ) -> Entry:
        """Manual correction: a positive adjust is a new (immediately available) lot."""
        if points == 0:
            raise ValidationFailed("points must not be 0", [{"path": "points", "message": "must not be 0"}])
        if points > 0:
            entry, _ = self.earn(points, now, policy, reason=reason, source_ref=source_ref, kind="adjust")
            return entry
        self.expire_due(now)
        wanted = -points
        order = self._open_lots(now, available=True)
        if allow_debt:
            order += self._open_lots(now, available=False)
        moves, shortfall = self._take(wanted, order)
        if shortfall and not allow_debt:
            available = wanted - shortfall
            raise InsufficientBalance(
                f"adjusting by {points} points exceeds the available {available} (allow_debt not set)",
                available=available,
            )
        return self._record(
            "adjust",
            points,
            now,
            movements=moves,
            debt_change=shortfall,
            reason=reason,
            source_ref=source_ref,
        )
