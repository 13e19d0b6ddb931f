"""The credit book shared by every gateway process through Redis (selected when redis_url is set).

The same rules as LocalCreditBook, enforced by atomic Lua scripts (billing/redis_book_scripts.py):
a reservation checks the balance (plus any credit line) and every budget and holds all of them or
none; settling caps the charge at what they can all still take, in the same step; settling or
releasing is idempotent by request id; a hold lapses after `hold_ttl` seconds, so the holds of a
process that crashed free themselves. The ledger in the database stays the source
of truth: Redis keeps each account's ledger sum up to one shared cursor, and whichever process
applies a ledger row moves its charge from `pending` to `committed`, exactly once.

When Redis cannot be reached a reservation raises BillingUnavailable (the request gets a 503) and
the next request tries again: billing fails closed and recovers without a restart.
"""

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

import anyio
import redis.asyncio as redis
from redis.exceptions import RedisError

from alltoken.billing import redis_book_scripts as scripts
from alltoken.billing.reservations import (
    BalanceLoader,
    Budget,
    EntryFeed,
    ExpiringLoader,
    Hold,
    InsufficientCredits,
    LimitReached,
    Settlement,
    WriteOff,
    no_expiring,
    no_write_off,
)
from alltoken.errors import BillingUnavailable
from alltoken.ids import utcnow
from alltoken.store.redis_batch import RedisBatcher

log = logging.getLogger("alltoken.credits")

_APPLY_BATCH = 500      # ledger rows per script call
_LOAD_TRIES = 20        # the shared cursor can move between reading it and loading an account
# How long a request's settled/released mark (and an early ledger row's mark) is kept: longer than
# settlement's background retries, short enough that Redis holds only minutes of request ids.
_MARKER_TTL_MS = 300_000


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _scope_key(scope: tuple[str, ...]) -> str:
    return ":".join(scope)


def _period_key(period) -> str:
    return "" if period is None else period.isoformat()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _now_ms() -> int:
    return _ms(utcnow())


class RedisCreditBook:
    def __init__(self, client: redis.Redis, prefix: str, load_balance: BalanceLoader, new_entries: EntryFeed, *,
                 load_expiring: ExpiringLoader = no_expiring, write_off: WriteOff = no_write_off,
                 hold_ttl: float = 900.0, pending_ttl: float = 3600.0, batcher: RedisBatcher | None = None):
        self._redis = client
        self._prefix = f"{prefix}credits:"
        self._load_balance = load_balance
        self._new_entries = new_entries
        self._load_expiring = load_expiring
        self._write_off = write_off
        self._hold_ttl_ms = int(hold_ttl * 1000)
        self._pending_ttl_ms = int(pending_ttl * 1000)
        batcher = batcher or RedisBatcher(client)   # the per-request scripts share round trips
        self._reserve = batcher.script(scripts.RESERVE)
        self._settle = batcher.script(scripts.SETTLE)
        self._read = batcher.script(scripts.READ)
        self._apply = client.register_script(scripts.APPLY)
        self._load_script = client.register_script(scripts.LOAD)
        self._snapshot = client.register_script(scripts.SNAPSHOT)
        self._untrack = client.register_script(scripts.UNTRACK)
        self.cursor = 0            # the ledger id to start the shared cursor from, if Redis has none yet
        self._reserved: dict[str, int] = {}                             # last seen, for reserved_units()
        self._spent: dict[tuple[str, ...], tuple[object, int]] = {}    # scope -> (period, last seen spend)
        self._closing: set[asyncio.Task] = set()
        self._catch_up_lock = asyncio.Lock()

    async def reserve(self, request_id: str, account_id: str, units: int, budgets: Sequence[Budget] = (),
                      credit_line_units: int = 0) -> Hold:
        args = [self._prefix, account_id, request_id, units, credit_line_units, self._hold_ttl_ms, _now_ms(), "1",
                len(budgets)]
        for budget in budgets:
            limit = "" if budget.limit_units is None else budget.limit_units
            args += [_scope_key(budget.scope), limit, budget.spent_at_load, _period_key(budget.period)]
        try:
            result = await self._reserve(args=args)
            if _text(result[0]) == "load":
                await self._load(account_id)
                result = await self._reserve(args=args)
            if _text(result[0]) == "expire":
                await self.write_off_expired(account_id)
                args[7] = "0"   # a grant it could not write off counts as spent
                result = await self._reserve(args=args)
        except RedisError as exc:
            raise BillingUnavailable() from exc
        outcome = _text(result[0])
        if outcome == "credits":
            raise InsufficientCredits(int(result[1]), units)
        if outcome == "limit":
            raise LimitReached(budgets[int(result[1]) - 1], int(result[2]), units)
        if outcome != "ok":
            raise BillingUnavailable()  # the account vanished from Redis between load and reserve
        self._reserved[account_id] = int(result[1])
        for budget, spent in zip(budgets, result[2:]):
            self._spent[budget.scope] = (budget.period, int(spent))
        return Hold(request_id, account_id, tuple(budget.scope for budget in budgets), units,
                    limits=tuple(budget.limit_units for budget in budgets), credit_line_units=credit_line_units)

    async def settle(self, hold: Hold, cost_units: int) -> Settlement | None:
        """Capped in Redis, in one step with every other process's reservations and settlements. If Redis
        cannot be reached, the charge is what the hold covers (at most the cost), and it is sent on in the
        background."""
        if not hold.open:
            return None
        hold.open = False
        args = self._close_args(hold, str(cost_units))
        try:
            with anyio.CancelScope(shield=True):   # a client leaving mid-stream must not cut the charge short
                result = await self._settle(args=args)
        except RedisError as exc:
            log.warning("could not settle %s yet: %s", hold.request_id, type(exc).__name__)
            charged = min(cost_units, hold.units)
            settlement = Settlement(charged, cost_units - charged, "balance" if charged < cost_units else None)
            self._close_in_background(hold, str(settlement.charged_units))
            self._count_spent(hold, settlement.charged_units)
            return settlement
        if not int(result[0]):
            return None
        charged, capped = int(result[1]), int(result[2])
        capped_by = None if capped < 0 else "balance" if capped == 0 else hold.scopes[capped - 1][0]
        self._count_spent(hold, charged)
        return Settlement(charged, cost_units - charged, capped_by)

    def _count_spent(self, hold: Hold, charged: int) -> None:
        for scope in hold.scopes:
            period, spent = self._spent.get(scope, (None, None))
            if spent is not None:
                self._spent[scope] = (period, spent + charged)

    def release(self, hold: Hold) -> None:
        if hold.open:
            hold.open = False
            self._close_in_background(hold, "")

    def _close_in_background(self, hold: Hold, cost: str) -> None:
        """Release is called from synchronous code; the script runs right after. Until it has, the hold
        still covers the request, so nothing can overspend meanwhile."""
        task = asyncio.get_running_loop().create_task(self._close(hold, cost))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _close_args(self, hold: Hold, cost: str) -> list:
        args = [self._prefix, hold.account_id, hold.request_id, cost, _MARKER_TTL_MS, self._pending_ttl_ms,
                hold.credit_line_units, _now_ms()]
        for scope, limit in zip(hold.scopes, hold.limits or (None,) * len(hold.scopes)):
            args += [_scope_key(scope), "" if limit is None else limit]
        return args

    async def _close(self, hold: Hold, cost: str) -> None:
        args = self._close_args(hold, cost)
        delay = 0.05
        for _ in range(12):  # ~3 minutes; past that the hold lapses on its own and the ledger row still lands
            try:
                await self._settle(args=args)
                return
            except RedisError as exc:
                log.warning("could not %s %s yet: %s", "settle" if cost else "release", hold.request_id,
                            type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        log.error("gave up closing hold %s; it lapses after the hold ttl", hold.request_id)

    async def catch_up(self) -> None:
        """Apply the ledger rows after the shared cursor (any process may: a row applies once)."""
        async with self._catch_up_lock:
            cursor = await self._shared_cursor()
            while True:
                entries = await self._new_entries(cursor)
                if not entries:
                    return
                for start in range(0, len(entries), _APPLY_BATCH):
                    args: list[str | int] = [self._prefix, _MARKER_TTL_MS]
                    for entry_id, account_id, amount, request_id, expires in entries[start:start + _APPLY_BATCH]:
                        args += [entry_id, account_id, amount, request_id or "", _ms(expires) if expires else ""]
                    cursor = int(await self._apply(args=args))
                if len(entries) < _APPLY_BATCH:
                    return

    async def _shared_cursor(self) -> int:
        key = self._prefix + "cursor"
        await self._redis.set(key, self.cursor, nx=True)
        stored = await self._redis.get(key)
        return self.cursor if stored is None else int(stored)   # None only if the key was deleted in between

    async def _load(self, account_id: str) -> None:
        for _ in range(_LOAD_TRIES):
            await self.catch_up()  # a grant made a moment ago is in the sum
            cursor = await self._shared_cursor()
            total = await self._load_balance(account_id, cursor)
            args: list[str | int] = [self._prefix, account_id, cursor, total]
            for grant_id, (expires, amount) in (await self._load_expiring(account_id, cursor)).items():
                args += [grant_id, _ms(expires), amount]
            if await self._load_script(args=args):
                return
        raise BillingUnavailable()

    async def write_off_expired(self, account_id: str) -> None:
        """Write off the account's grants past their expiry, knowing the charges settled (by any process)
        that the ledger does not have yet: they spend promotional credit first."""
        try:
            await self.catch_up()
            now = utcnow()
            snapshot = await self._snapshot(args=[self._prefix, account_id, _ms(now)])
            if snapshot and len(snapshot) == 2:
                return  # nothing past its expiry
            cursor, pending = (int(snapshot[0]), int(snapshot[1])) if snapshot else (await self._shared_cursor(), 0)
            resolved = await self._write_off(account_id, cursor, pending, now)
            await self.catch_up()
            if resolved:
                await self._untrack(args=[self._prefix, account_id, *resolved])
        except Exception as exc:  # Redis or the database away: the grants count as spent meanwhile
            log.warning("could not write off expired promotional credit of %s yet: %s", account_id,
                        type(exc).__name__)

    async def _funds(self, account_id: str) -> tuple[int, int, int, int]:
        """(committed, pending, reserved, due), loading the account first if Redis does not have it, and
        writing off its grants past their expiry if it has any (due: what is left of those it could not)."""
        try:
            values = await self._read_funds(account_id)
            if not values:
                await self._load(account_id)
                values = await self._read_funds(account_id)
            if int(values[3] or 0):
                await self.write_off_expired(account_id)
                values = await self._read_funds(account_id)
        except RedisError as exc:
            raise BillingUnavailable() from exc
        committed, pending, reserved, due = (int(value or 0) for value in values)
        self._reserved[account_id] = reserved
        return committed, pending, reserved, due

    async def _read_funds(self, account_id: str) -> list:
        return await self._read(args=[self._prefix, account_id, _now_ms()])

    async def available_units(self, account_id: str) -> int:
        committed, pending, reserved, due = await self._funds(account_id)
        return committed - pending - reserved - due

    async def balance_units(self, account_id: str) -> int:
        committed, pending, _, due = await self._funds(account_id)
        return committed - pending - due

    def reserved_units(self, account_id: str) -> int:
        """As of this process's last look at the account (balance_units refreshes it)."""
        return self._reserved.get(account_id, 0)

    def spent_in_period(self, scope: tuple[str, ...], period) -> int | None:
        """The spend Redis reported at this process's last reservation in that period: only a starting
        value for a budget Redis does not hold yet (Redis keeps the real one), so it saves a query."""
        known_period, spent = self._spent.get(scope, (None, None))
        return spent if spent is not None and known_period == period else None

    async def close(self) -> None:
        """Let the settlements under way reach Redis."""
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=10.0)
