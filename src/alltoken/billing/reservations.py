"""Credit reservations: reserve the worst case before calling upstream, settle the actual cost,
release on failure. Concurrent requests can never spend more than the balance, or than a budget
(a key's limit, a team member's limit) allows; the only overdraft is a provider returning more
tokens than the request's own limit allowed.

`CreditBook` is the interface; `LocalCreditBook` keeps the state in this process (the embedded
default). A Redis implementation holds the same state across processes.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..gateway.errors import ApiError


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


class BillingUnavailable(ApiError):
    """The shared credit book (Redis) cannot be reached: nothing is reserved or read, the request fails
    closed with a 503 and the next one tries again."""

    def __init__(self):
        super().__init__(503, "billing is unavailable right now (the shared credit store cannot be reached); "
                         "nothing was charged, retry shortly", type="server_error", code="billing_unavailable",
                         headers={"retry-after": "1"})


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


class CreditBook(Protocol):
    async def reserve(self, request_id: str, account_id: str, units: int, budgets: Sequence[Budget] = (),
                      credit_line_units: int = 0) -> Hold:
        """Hold `units` against the account balance and every budget, or raise InsufficientCredits /
        LimitReached (naming the budget with the least left)."""

    def settle(self, hold: Hold, cost_units: int) -> bool:
        """Turn the hold into a charge of cost_units; False if it was already settled or released."""

    def release(self, hold: Hold) -> None: ...

    async def catch_up(self) -> None:
        """Take in ledger changes made elsewhere (grants, other processes' charges)."""

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

    @property
    def available(self) -> int:
        return self.committed - self.pending - self.reserved


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
    _budgets: dict[tuple[str, ...], _BudgetFunds] = field(default_factory=dict)
    _pending_charges: dict[str, int] = field(default_factory=dict)

    async def reserve(self, request_id: str, account_id: str, units: int, budgets: Sequence[Budget] = (),
                      credit_line_units: int = 0) -> Hold:
        funds = self._accounts.get(account_id) or await self._load(account_id)
        # From here to the return nothing awaits: the checks and the holds they allow are one step.
        if funds.available + credit_line_units < units:  # a postpaid account may go down to -credit_line
            raise InsufficientCredits(funds.available + credit_line_units, units)
        scoped = [(budget, self._budget_funds(budget)) for budget in budgets]
        _check_limits(scoped, units)
        for _, budget_funds in scoped:
            budget_funds.reserved += units
        funds.reserved += units
        return Hold(request_id, account_id, tuple(budget.scope for budget in budgets), units)

    def _budget_funds(self, budget: Budget) -> _BudgetFunds:
        funds = self._budgets.get(budget.scope)
        if funds is None or funds.period != budget.period:  # first use, or a new budget period
            reserved = funds.reserved if funds else 0       # holds still open count in the new period too
            funds = self._budgets[budget.scope] = _BudgetFunds(budget.spent_at_load, reserved, budget.period)
        return funds

    def settle(self, hold: Hold, cost_units: int) -> bool:
        if not self._close(hold):
            return False
        self._accounts[hold.account_id].pending += cost_units
        self._pending_charges[hold.request_id] = cost_units
        for scope in hold.scopes:
            self._budgets[scope].spent += cost_units
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

    def spent_in_period(self, scope: tuple[str, ...], period) -> int | None:
        funds = self._budgets.get(scope)
        return funds.spent if funds is not None and funds.period == period else None

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

    async def close(self) -> None:
        pass

    def _close(self, hold: Hold) -> bool:
        if not hold.open:
            return False
        hold.open = False
        self._accounts[hold.account_id].reserved -= hold.units
        for scope in hold.scopes:
            self._budgets[scope].reserved -= hold.units
        return True

    async def _load(self, account_id: str) -> _AccountFunds:
        async with self.lock:
            if account_id not in self._accounts:
                # Catch up first, so a grant made a moment ago is already in the balance.
                self.apply_ledger_entries(await self.new_entries(self.cursor))
                self._accounts[account_id] = _AccountFunds(committed=await self.load_balance(account_id, self.cursor))
            return self._accounts[account_id]
