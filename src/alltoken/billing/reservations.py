"""Credit reservations: reserve the worst case before calling upstream, settle the actual cost,
release on failure. Concurrent requests can never spend more than the balance; the only
overdraft is a provider returning more tokens than the request's own limit allowed.

`CreditBook` is the interface; `LocalCreditBook` keeps the state in this process (the embedded
default). A Redis implementation holds the same state across processes.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol


class InsufficientCredits(Exception):
    def __init__(self, available_units: int, needed_units: int):
        super().__init__("insufficient credits")
        self.available_units = available_units
        self.needed_units = needed_units


class KeyLimitReached(Exception):
    def __init__(self, remaining_units: int, needed_units: int):
        super().__init__("key limit reached")
        self.remaining_units = remaining_units
        self.needed_units = needed_units


@dataclass(slots=True)
class Hold:
    request_id: str
    account_id: str
    key_id: str | None
    units: int
    open: bool = True


class CreditBook(Protocol):
    async def reserve(self, request_id: str, account_id: str, key_id: str | None, key_limit_units: int | None,
                      units: int, key_spent_at_load: int = 0, key_period=None, credit_line_units: int = 0) -> Hold:
        """Hold `units` against the account balance and the key's limit, or raise
        InsufficientCredits / KeyLimitReached."""

    def settle(self, hold: Hold, cost_units: int) -> bool:
        """Turn the hold into a charge of cost_units; False if it was already settled or released."""

    def release(self, hold: Hold) -> None: ...

    async def catch_up(self) -> None:
        """Take in ledger changes made elsewhere (grants, other processes' charges)."""

    async def available_units(self, account_id: str) -> int: ...

    async def balance_units(self, account_id: str) -> int: ...

    def reserved_units(self, account_id: str) -> int: ...

    def key_spent_units(self, key_id: str) -> int | None:
        """The key's spend in the period `key_period` names; None if this book has not seen the key."""

    def key_period(self, key_id: str): ...


@dataclass(slots=True)
class _AccountFunds:
    committed: int              # sum of ledger entries this process has seen
    pending: int = 0            # charges settled here, not yet seen back from the ledger
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.committed - self.pending - self.reserved


@dataclass(slots=True)
class _KeyFunds:
    spent: int                  # in the current budget period (all time for a limit that never resets)
    reserved: int = 0
    period: object = None       # start of that period, None for no reset


# (account_id, up_to_ledger_id) -> sum of that account's ledger entries with id <= up_to_ledger_id
BalanceLoader = Callable[[str, int], Awaitable[int]]
# after_ledger_id -> rows (id, account_id, amount_units, request_id) with a greater id, in id order
EntryFeed = Callable[[int], Awaitable[list[tuple[int, str, int, str | None]]]]


@dataclass
class LocalCreditBook:
    """In-process book. The ledger is the source of truth: `catch_up` applies every new ledger row
    in id order (gateway/sync.py calls it on a timer, and a first use of an account calls it too),
    so grants made by the CLI show up here and our own charges move from `pending` to `committed`
    exactly once. `lock` orders account loads against that feed."""

    load_balance: BalanceLoader
    new_entries: EntryFeed
    cursor: int = 0             # id of the last ledger row applied
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _accounts: dict[str, _AccountFunds] = field(default_factory=dict)
    _keys: dict[str, _KeyFunds] = field(default_factory=dict)
    _pending_charges: dict[str, int] = field(default_factory=dict)

    def key_period(self, key_id: str):
        """The budget period this book counts the key's spend for (None: not loaded, or no reset)."""
        funds = self._keys.get(key_id)
        return funds.period if funds else None

    async def reserve(self, request_id, account_id, key_id, key_limit_units, units, key_spent_at_load: int = 0,
                      key_period=None, credit_line_units: int = 0):
        funds = self._accounts.get(account_id) or await self._load(account_id)
        if funds.available + credit_line_units < units:  # a postpaid account may go down to -credit_line
            raise InsufficientCredits(funds.available + credit_line_units, units)
        key_funds = None
        if key_id is not None:
            key_funds = self._keys.get(key_id)
            if key_funds is None or key_funds.period != key_period:  # first use, or a new budget period
                reserved = key_funds.reserved if key_funds else 0
                key_funds = self._keys[key_id] = _KeyFunds(key_spent_at_load, reserved, key_period)
            if key_limit_units is not None:
                remaining = key_limit_units - key_funds.spent - key_funds.reserved
                if remaining < units:
                    raise KeyLimitReached(remaining, units)
            key_funds.reserved += units
        funds.reserved += units
        return Hold(request_id, account_id, key_id, units)

    def settle(self, hold: Hold, cost_units: int) -> bool:
        if not self._close(hold):
            return False
        self._accounts[hold.account_id].pending += cost_units
        self._pending_charges[hold.request_id] = cost_units
        if hold.key_id is not None:
            self._keys[hold.key_id].spent += cost_units
        return True

    def release(self, hold: Hold) -> None:
        self._close(hold)

    async def available_units(self, account_id: str) -> int:
        funds = self._accounts.get(account_id) or await self._load(account_id)
        return funds.available

    async def balance_units(self, account_id: str) -> int:
        """Balance after every settled charge, not counting open reservations."""
        funds = self._accounts.get(account_id) or await self._load(account_id)
        return funds.committed - funds.pending

    def reserved_units(self, account_id: str) -> int:
        funds = self._accounts.get(account_id)
        return funds.reserved if funds else 0

    def key_spent_units(self, key_id: str) -> int | None:
        funds = self._keys.get(key_id)
        return funds.spent if funds else None

    async def catch_up(self) -> None:
        async with self.lock:
            self.apply_ledger_entries(await self.new_entries(self.cursor))

    def apply_ledger_entries(self, entries: list[tuple[int, str, int, str | None]]) -> None:
        """Rows (id, account_id, amount_units, request_id) newer than `cursor`; call with `lock` held."""
        for entry_id, account_id, amount_units, request_id in entries:
            pending = self._pending_charges.pop(request_id, None) if request_id else None
            funds = self._accounts.get(account_id)
            if funds is not None:  # an account not loaded here reads the sum, this row included, on load
                if pending is not None:
                    funds.pending -= pending
                funds.committed += amount_units
            self.cursor = entry_id

    def _close(self, hold: Hold) -> bool:
        if not hold.open:
            return False
        hold.open = False
        self._accounts[hold.account_id].reserved -= hold.units
        if hold.key_id is not None:
            self._keys[hold.key_id].reserved -= hold.units
        return True

    async def _load(self, account_id: str) -> _AccountFunds:
        async with self.lock:
            if account_id not in self._accounts:
                # Catch up first, so a grant made a moment ago is already in the balance.
                self.apply_ledger_entries(await self.new_entries(self.cursor))
                self._accounts[account_id] = _AccountFunds(committed=await self.load_balance(account_id, self.cursor))
            return self._accounts[account_id]
