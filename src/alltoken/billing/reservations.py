"""Credit reservations: reserve the worst case before calling upstream, settle the actual cost,
release on failure. Concurrent requests can never spend more than the balance, or than a budget
(a key's limit, a team member's limit) allows, and neither can a settlement: a cost beyond what the
balance (down to -credit line) and every budget can take is charged only up to that, and the rest
is reported as uncollected (docs/billing.md, "Uncollected cost").

Promotional credit past its expiry is never available: a book knows when each loaded account's
grants expire, counts a grant past its expiry as spent whole, and writes it off (an `expiry` ledger
entry for what is left, less the charges it settled that the ledger does not have yet) before it
answers a read or a reservation for the account.

`CreditBook` is the interface; `LocalCreditBook` keeps the state in this process (the embedded
default). A Redis implementation holds the same state across processes.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from alltoken.billing.buckets import written_off_grant
from alltoken.billing.ledger import LedgerRow
from alltoken.ids import utcnow

log = logging.getLogger("alltoken.credits")


class InsufficientCredits(Exception):
    def __init__(self, available_units: int, needed_units: int):
        super().__init__("insufficient credits")
        self.available_units = available_units
        self.needed_units = needed_units


class LimitReached(Exception):
    """A spending limit (the key's, or its team member's) cannot cover the request; `budget` says which."""

    def __init__(self, budget: "Budget", remaining_units: int, needed_units: int):
        super().__init__(f"{budget.scope[0]} limit reached")
        self.budget = budget
        self.remaining_units = remaining_units
        self.needed_units = needed_units


@dataclass(frozen=True, slots=True)
class Budget:
    """One spending limit a request counts against. Requests with the same `scope` share its spend
    and holds: ("key", key_id) for a key, ("member", account_id, user_id) for a team member."""

    scope: tuple[str, ...]
    limit_units: int | None = None  # None: spend is counted, nothing is refused
    spent_at_load: int = 0          # spend in `period` as the database knows it, taken when the book starts the period
    period: object = None           # start of the budget period (None: the limit never resets)


@dataclass(slots=True)
class Hold:
    request_id: str
    account_id: str
    scopes: tuple[tuple[str, ...], ...]     # the budgets it counts against
    units: int
    open: bool = True
    limits: tuple[int | None, ...] = ()     # each budget's limit, in the order of `scopes`
    credit_line_units: int = 0


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a settled request was charged, and what it cost beyond what could be collected."""

    charged_units: int
    uncollected_units: int = 0
    capped_by: str | None = None    # balance | key | member: the one with too little room for the whole cost


@dataclass(slots=True)
class ShortfallTally:
    """Settlements that could not collect their whole cost, since this process started, by what capped
    them (balance, key or member): for the operator's metrics (analytics/metrics.py)."""

    settlements: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)

    def count(self, settlement: Settlement) -> None:
        which = settlement.capped_by or "balance"
        self.settlements[which] = self.settlements.get(which, 0) + 1
        self.units[which] = self.units.get(which, 0) + settlement.uncollected_units


def capped(cost_units: int, rooms: Iterable[tuple[str, int]]) -> Settlement:
    """The charge for `cost_units` that fits every (name, room left) and never goes below zero."""
    charged, capped_by = cost_units, None
    for name, room in rooms:
        if room < charged:
            charged, capped_by = max(room, 0), name
    return Settlement(charged, cost_units - charged, capped_by)


# grant id -> (when it expires, its amount): an account's promotional grants not written off yet
Expiring = dict[int, tuple[datetime, int]]


class CreditBook(Protocol):
    cursor: int      # id of the last ledger row taken in (runtime/sync.py starts it at the newest)

    async def reserve(self, request_id: str, account_id: str, units: int, budgets: Sequence[Budget] = (),
                      credit_line_units: int = 0) -> Hold:
        """Hold `units` against the account balance and every budget, or raise InsufficientCredits /
        LimitReached (naming the budget with the least left)."""

    async def settle(self, hold: Hold, cost_units: int) -> Settlement | None:
        """Turn the hold into a charge of at most cost_units (capped at what the balance and the budgets
        can take); None if it was already settled or released."""

    def release(self, hold: Hold) -> None: ...

    async def catch_up(self) -> None:
        """Take in ledger changes made elsewhere (grants, other processes' charges)."""

    async def write_off_expired(self, account_id: str) -> None:
        """Write off the account's promotional grants past their expiry (what is left of them)."""

    async def available_units(self, account_id: str) -> int: ...

    async def balance_units(self, account_id: str) -> int: ...

    def reserved_units(self, account_id: str) -> int: ...

    def spent_in_period(self, scope: tuple[str, ...], period) -> int | None:
        """The scope's spend in the budget period starting at `period`; None if this book has not
        counted it for that period."""

    async def close(self) -> None:
        """Let work under way (settlements sent in the background) finish."""


@dataclass(slots=True)
class _AccountFunds:
    committed: int              # sum of ledger entries this process has seen
    pending: int = 0            # charges settled here, not yet seen back from the ledger
    reserved: int = 0
    expiring: Expiring = field(default_factory=dict)

    @property
    def available(self) -> int:
        return self.committed - self.pending - self.reserved

    def due_units(self, now: datetime) -> int:
        """Grants past their expiry and not written off yet count as spent, whole (at most what is left)."""
        return sum(amount for expires, amount in self.expiring.values() if expires <= now) if self.expiring else 0


@dataclass(slots=True)
class _BudgetFunds:
    spent: int                  # in the current budget period (all time for a limit that never resets)
    reserved: int = 0
    period: object = None       # start of that period, None for no reset


def _check_limits(scoped: list[tuple[Budget, _BudgetFunds]], units: int) -> None:
    """Raise LimitReached, naming the budget with the least left, unless every limit covers `units`."""
    left = [(budget.limit_units - funds.spent - funds.reserved, budget) for budget, funds in scoped
            if budget.limit_units is not None]
    if left:
        remaining, budget = min(left, key=lambda pair: pair[0])
        if remaining < units:
            raise LimitReached(budget, remaining, units)


# (account_id, up_to_ledger_id) -> sum of that account's ledger entries with id <= up_to_ledger_id
BalanceLoader = Callable[[str, int], Awaitable[int]]
# after_ledger_id -> the rows with a greater id, in id order
EntryFeed = Callable[[int], Awaitable[list[LedgerRow]]]
# (account_id, up_to_ledger_id) -> its promotional grants with an expiry, not written off up to that row
ExpiringLoader = Callable[[str, int], Awaitable[Expiring]]
# (account_id, up_to_ledger_id, in_flight_units, now): write off what is left of its grants past their
# expiry as of that row, less `in_flight_units` (charges settled, not in the ledger up to that row);
# returns the ids of the grants past their expiry (each now written off, or spent before it expired)
WriteOff = Callable[[str, int, int, datetime], Awaitable[list[int]]]


async def no_expiring(account_id: str, up_to: int) -> Expiring:
    return {}


async def no_write_off(account_id: str, up_to: int, in_flight_units: int, now: datetime) -> list[int]:
    return []


@dataclass
class LocalCreditBook:
    """In-process book. The ledger is the source of truth: `catch_up` applies every new ledger row
    in id order (runtime/sync.py calls it on a timer, and a first use of an account calls it too),
    so grants made by the CLI show up here and our own charges move from `pending` to `committed`
    exactly once. `lock` orders account loads and write-offs against that feed."""

    load_balance: BalanceLoader
    new_entries: EntryFeed
    load_expiring: ExpiringLoader = no_expiring
    write_off: WriteOff = no_write_off
    cursor: int = 0             # id of the last ledger row applied
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _accounts: dict[str, _AccountFunds] = field(default_factory=dict)
    _budgets: dict[tuple[str, ...], _BudgetFunds] = field(default_factory=dict)
    _pending_charges: dict[str, int] = field(default_factory=dict)

    async def reserve(self, request_id: str, account_id: str, units: int, budgets: Sequence[Budget] = (),
                      credit_line_units: int = 0) -> Hold:
        funds = await self._funds(account_id)
        # From here to the return nothing awaits: the checks and the holds they allow are one step.
        available = self._spendable(funds) + credit_line_units  # a postpaid account may go down to -credit_line
        if available < units:
            raise InsufficientCredits(available, units)
        scoped = [(budget, self._budget_funds(budget)) for budget in budgets]
        _check_limits(scoped, units)
        for _, budget_funds in scoped:
            budget_funds.reserved += units
        funds.reserved += units
        return Hold(request_id, account_id, tuple(budget.scope for budget in budgets), units,
                    limits=tuple(budget.limit_units for budget in budgets), credit_line_units=credit_line_units)

    def _budget_funds(self, budget: Budget) -> _BudgetFunds:
        funds = self._budgets.get(budget.scope)
        if funds is None or funds.period != budget.period:  # first use, or a new budget period
            reserved = funds.reserved if funds else 0       # holds still open count in the new period too
            funds = self._budgets[budget.scope] = _BudgetFunds(budget.spent_at_load, reserved, budget.period)
        return funds

    async def settle(self, hold: Hold, cost_units: int) -> Settlement | None:
        if not self._close(hold):
            return None
        funds = self._accounts[hold.account_id]
        rooms = [("balance", self._spendable(funds) + hold.credit_line_units)]
        for scope, limit in zip(hold.scopes, hold.limits):
            if limit is not None:
                budget = self._budgets[scope]
                rooms.append((scope[0], limit - budget.spent - budget.reserved))
        settlement = capped(cost_units, rooms)
        charged = settlement.charged_units
        if charged:
            funds.pending += charged
            self._pending_charges[hold.request_id] = charged
        for scope in hold.scopes:
            self._budgets[scope].spent += charged
        return settlement

    def release(self, hold: Hold) -> None:
        self._close(hold)

    async def available_units(self, account_id: str) -> int:
        return self._spendable(await self._funds(account_id))

    async def balance_units(self, account_id: str) -> int:
        """Balance after every settled charge, not counting open reservations."""
        funds = await self._funds(account_id)
        return funds.committed - funds.pending - funds.due_units(utcnow())

    def reserved_units(self, account_id: str) -> int:
        funds = self._accounts.get(account_id)
        return funds.reserved if funds else 0

    def spent_in_period(self, scope: tuple[str, ...], period) -> int | None:
        funds = self._budgets.get(scope)
        return funds.spent if funds is not None and funds.period == period else None

    async def catch_up(self) -> None:
        async with self.lock:
            self.apply_ledger_entries(await self.new_entries(self.cursor))

    def apply_ledger_entries(self, entries: list[LedgerRow]) -> None:
        """Rows newer than `cursor`; call with `lock` held."""
        for entry_id, account_id, amount_units, request_id, promo_expires_at in entries:
            pending = self._pending_charges.pop(request_id, None) if request_id else None
            funds = self._accounts.get(account_id)
            if funds is not None:  # an account not loaded here reads the sum, this row included, on load
                if pending is not None:
                    funds.pending -= pending
                funds.committed += amount_units
                if promo_expires_at is not None:
                    funds.expiring[entry_id] = (promo_expires_at, amount_units)
                elif request_id and funds.expiring and (grant_id := written_off_grant(request_id)) is not None:
                    funds.expiring.pop(grant_id, None)
            self.cursor = entry_id

    async def write_off_expired(self, account_id: str) -> None:
        """Write off the account's grants past their expiry, knowing the charges this process settled
        that the ledger does not have yet (they spend promotional credit first)."""
        async with self.lock:
            self.apply_ledger_entries(await self.new_entries(self.cursor))
            funds, now = self._accounts.get(account_id), utcnow()
            if funds is not None and not funds.due_units(now):
                return
            try:
                resolved = await self.write_off(account_id, self.cursor, funds.pending if funds else 0, now)
                self.apply_ledger_entries(await self.new_entries(self.cursor))
            except Exception as exc:  # the database may be away: the grants stay counted as spent meanwhile
                log.warning("could not write off expired promotional credit of %s yet: %s", account_id,
                            type(exc).__name__)
                return
            if funds is not None:   # grants spent in full have no write-off entry to drop them
                for grant_id in resolved:
                    funds.expiring.pop(grant_id, None)

    async def close(self) -> None:
        pass

    def _spendable(self, funds: _AccountFunds) -> int:
        return funds.available - funds.due_units(utcnow()) if funds.expiring else funds.available

    def _close(self, hold: Hold) -> bool:
        if not hold.open:
            return False
        hold.open = False
        self._accounts[hold.account_id].reserved -= hold.units
        for scope in hold.scopes:
            self._budgets[scope].reserved -= hold.units
        return True

    async def _funds(self, account_id: str) -> _AccountFunds:
        """The account's funds, loaded on first use, its expired promotional credit written off."""
        funds = self._accounts.get(account_id) or await self._load(account_id)
        if funds.expiring and funds.due_units(utcnow()):
            await self.write_off_expired(account_id)
        return funds

    async def _load(self, account_id: str) -> _AccountFunds:
        async with self.lock:
            if account_id not in self._accounts:
                # Catch up first, so a grant made a moment ago is already in the balance.
                self.apply_ledger_entries(await self.new_entries(self.cursor))
                committed = await self.load_balance(account_id, self.cursor)
                expiring = await self.load_expiring(account_id, self.cursor)
                self._accounts[account_id] = _AccountFunds(committed=committed, expiring=expiring)
            return self._accounts[account_id]
