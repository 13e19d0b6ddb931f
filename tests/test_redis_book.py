"""The Redis credit book, against the Redis on this machine (db 2, a key prefix per test): the same
guarantees as the in-process book (tests/test_reservations.py), across many books standing for
many processes."""

import asyncio
import secrets
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alltoken.billing.ledger import LedgerRow
from alltoken.billing.redis_book import RedisCreditBook
from alltoken.billing.reservations import Budget, InsufficientCredits, LimitReached, Settlement
from alltoken.errors import BillingUnavailable
from alltoken.http.errors import shape
from alltoken.store.redis_client import open_redis

REDIS_URL = "redis://127.0.0.1:6379/2"


class Ledger:
    """A stand-in for the ledger table: its rows in id order."""

    def __init__(self, balances: dict[str, int]):
        self.rows = [LedgerRow(number, account, amount) for number, (account, amount) in enumerate(balances.items(), 1)]

    def charge(self, account: str, request_id: str, units: int) -> None:
        self.rows.append(LedgerRow(len(self.rows) + 1, account, -units, request_id))

    def grant(self, account: str, units: int) -> None:
        self.rows.append(LedgerRow(len(self.rows) + 1, account, units))

    async def balance(self, account: str, up_to: int) -> int:
        return sum(row.amount_units for row in self.rows if row.account_id == account and row.id <= up_to)

    async def entries_after(self, cursor: int):
        return [row for row in self.rows if row[0] > cursor]


async def drop_keys(client, prefix: str) -> None:
    async for key in client.scan_iter(match=f"{prefix}*", count=1000):
        await client.delete(key)


@pytest.fixture
async def books():
    """make(ledger) -> a new book (a new 'process') on the test's own prefix; one Redis connection each."""
    prefix = f"test-{secrets.token_hex(6)}:"
    clients = []

    def make(ledger: Ledger, **options) -> RedisCreditBook:
        client = open_redis(REDIS_URL)
        clients.append(client)
        return RedisCreditBook(client, prefix, ledger.balance, ledger.entries_after, **options)

    yield make
    await drop_keys(clients[0], prefix)
    for client in clients:
        await client.aclose()


async def settled(book: RedisCreditBook) -> None:
    await book.close()


async def test_reserve_settle_release(books):
    book = books(Ledger({"a": 1000}))
    first = await book.reserve("r1", "a", 600)
    with pytest.raises(InsufficientCredits) as caught:
        await book.reserve("r2", "a", 500)
    assert caught.value.available_units == 400
    assert await book.settle(first, 250) and not await book.settle(first, 250)
    book.release(first)  # after settlement: no effect
    await settled(book)
    assert await book.available_units("a") == 750
    second = await book.reserve("r2", "a", 700)
    book.release(second)
    book.release(second)
    await settled(book)
    assert await book.available_units("a") == 750 and book.reserved_units("a") == 0


async def test_settlement_is_idempotent_by_request_id_across_processes(books):
    ledger = Ledger({"a": 1000})
    one, other = books(ledger), books(ledger)
    hold = await one.reserve("r1", "a", 300)
    copy = type(hold)(hold.request_id, hold.account_id, hold.scopes, hold.units)  # the same request, elsewhere
    assert await one.settle(hold, 100)
    await settled(one)
    assert await other.settle(copy, 100) is None  # locally open, but Redis already closed r1: nothing changes
    await settled(other)
    assert await other.balance_units("a") == 900 and await other.available_units("a") == 900


async def test_settle_after_release_changes_nothing(books):
    ledger = Ledger({"a": 1000})
    one, other = books(ledger), books(ledger)
    hold = await one.reserve("r1", "a", 300)
    copy = type(hold)(hold.request_id, hold.account_id, hold.scopes, hold.units)
    one.release(hold)
    await settled(one)
    await other.settle(copy, 200)
    await settled(other)
    assert await one.balance_units("a") == 1000 and await one.available_units("a") == 1000


async def test_a_crashed_process_holds_lapse(books):
    ledger = Ledger({"a": 1000})
    crashed = books(ledger, hold_ttl=0.2)
    await crashed.reserve("r1", "a", 800, [Budget(("key", "k"), 900)])  # never settled: its process died
    survivor = books(ledger, hold_ttl=0.2)
    with pytest.raises(InsufficientCredits):
        await survivor.reserve("r2", "a", 800)
    await asyncio.sleep(0.3)
    hold = await survivor.reserve("r2", "a", 800, [Budget(("key", "k"), 900)])  # the key's hold lapsed too
    assert survivor.reserved_units("a") == 800
    survivor.release(hold)


async def test_ledger_rows_move_pending_charges_exactly_once(books):
    ledger = Ledger({"a": 1000, "b": 999})
    one, other = books(ledger), books(ledger)
    hold = await one.reserve("r1", "a", 100)
    await one.settle(hold, 40)
    await settled(one)
    ledger.charge("a", "r1", 40)
    ledger.grant("a", 500)
    await asyncio.gather(one.catch_up(), other.catch_up(), one.catch_up())
    assert await other.balance_units("a") == 1460
    assert await one.balance_units("b") == 999  # loaded after: its rows are counted once, by the load


async def test_a_ledger_row_applied_before_the_settlement_is_not_counted_twice(books):
    ledger = Ledger({"a": 1000})
    book = books(ledger)
    hold = await book.reserve("r1", "a", 100)
    ledger.charge("a", "r1", 60)  # another process wrote the charge and applied it first
    await book.catch_up()
    await book.settle(hold, 60)
    await settled(book)
    assert await book.balance_units("a") == 940 and await book.available_units("a") == 940


async def test_key_limit_counts_spend_and_holds_across_processes(books):
    ledger = Ledger({"a": 10**6})
    one, other = books(ledger), books(ledger)
    key = Budget(("key", "k"), 100, spent_at_load=30)
    hold = await one.reserve("r1", "a", 60, [key])
    with pytest.raises(LimitReached) as caught:
        await other.reserve("r2", "a", 20, [key])
    assert caught.value.remaining_units == 10 and caught.value.budget == key
    await one.settle(hold, 50)
    await settled(one)
    assert one.spent_in_period(("key", "k"), None) == 80
    await other.reserve("r3", "a", 20, [key])
    with pytest.raises(LimitReached):
        await one.reserve("r4", "a", 1, [key])


async def test_a_new_budget_period_starts_from_its_own_spend(books):
    book = books(Ledger({"a": 10**6}))
    april, may = datetime(2026, 4, 1, tzinfo=timezone.utc), datetime(2026, 5, 1, tzinfo=timezone.utc)
    hold = await book.reserve("r1", "a", 90, [Budget(("key", "k"), 100, 0, april)])
    await book.settle(hold, 90)
    await settled(book)
    with pytest.raises(LimitReached):
        await book.reserve("r2", "a", 20, [Budget(("key", "k"), 100, 0, april)])
    await book.reserve("r3", "a", 20, [Budget(("key", "k"), 100, 0, may)])


async def test_member_and_key_limits_hold_together(books):
    book = books(Ledger({"a": 10**6}))
    key = Budget(("key", "k"), 1000)
    member = Budget(("member", "a", "u"), 50)
    with pytest.raises(LimitReached) as caught:
        await book.reserve("r1", "a", 60, [key, member])
    assert caught.value.budget == member
    await book.reserve("r2", "a", 40, [key, member])
    assert book.reserved_units("a") == 40


async def test_a_credit_line_lets_a_postpaid_account_go_below_zero(books):
    book = books(Ledger({"a": 0}))
    hold = await book.reserve("r1", "a", 500, credit_line_units=1000)
    with pytest.raises(InsufficientCredits):
        await book.reserve("r2", "a", 600, credit_line_units=1000)
    await book.settle(hold, 500)
    await settled(book)
    assert await book.balance_units("a") == -500


async def test_a_charge_beyond_the_hold_is_capped_in_redis_whichever_process_settles(books):
    ledger = Ledger({"a": 1000})
    one, other = books(ledger), books(ledger)
    elsewhere = await other.reserve("r1", "a", 300)        # another process's hold is not taken from
    hold = await one.reserve("r2", "a", 100)
    assert await one.settle(hold, 5000) == Settlement(700, 4300, "balance")
    assert await other.balance_units("a") == 300 and await other.available_units("a") == 0
    assert await other.settle(elsewhere, 300) == Settlement(300)
    assert await one.balance_units("a") == 0


async def test_redis_caps_at_the_credit_line_and_at_each_limit(books):
    book = books(Ledger({"a": 100}))
    key, member = Budget(("key", "k"), 500, spent_at_load=100), Budget(("member", "a", "u"), 450)
    hold = await book.reserve("r1", "a", 50, [key, member], credit_line_units=1000)
    assert await book.settle(hold, 10**6) == Settlement(400, 10**6 - 400, "key")
    hold = await book.reserve("r2", "a", 0, [Budget(member.scope, 450)], credit_line_units=1000)
    assert await book.settle(hold, 10**6) == Settlement(50, 10**6 - 50, "member")
    hold = await book.reserve("r3", "a", 10, credit_line_units=1000)
    assert await book.settle(hold, 10**6) == Settlement(650, 10**6 - 650, "balance")
    assert await book.balance_units("a") == -1000
    with pytest.raises(LimitReached):
        await book.reserve("r4", "a", 1, [key], credit_line_units=2000)   # the key spent exactly its limit


async def test_many_connections_reserving_at_once_never_overspend(books):
    ledger = Ledger({"a": 10_000})
    processes = [books(ledger) for _ in range(4)]
    connections = [asyncio.Semaphore(8) for _ in processes]  # 8 connections a process: 32 scripts at once

    async def one(number: int) -> int:
        book = processes[number % len(processes)]
        try:
            async with connections[number % len(processes)]:
                hold = await book.reserve(f"r{number}", "a", 300, [Budget(("key", "k"), 9_000)])
        except (InsufficientCredits, LimitReached):
            return 0
        await asyncio.sleep(0)
        await book.settle(hold, 300)
        return 300

    charged = await asyncio.gather(*(one(number) for number in range(120)))
    for book in processes:
        await settled(book)
    assert sum(charged) == 9_000  # the key's limit binds first; exactly as many as fit
    assert await processes[0].balance_units("a") == 10_000 - 9_000
    assert processes[0].reserved_units("a") == 0


@settings(max_examples=25, deadline=None)
@given(balance=st.integers(0, 10_000), asks=st.lists(st.tuples(st.integers(1, 3_000), st.integers(0, 3_000)),
                                                      max_size=40))
def test_concurrent_holds_never_exceed_the_balance(balance, asks):
    async def scenario():
        prefix = f"test-{secrets.token_hex(6)}:"
        ledger = Ledger({"a": balance})
        clients = [open_redis(REDIS_URL) for _ in range(3)]
        processes = [RedisCreditBook(client, prefix, ledger.balance, ledger.entries_after) for client in clients]

        async def one(number, units, cost):
            book = processes[number % 3]
            try:
                hold = await book.reserve(f"r{number}", "a", units)
            except InsufficientCredits:
                return 0
            await asyncio.sleep(0)
            charged = min(cost, units)
            await book.settle(hold, charged)
            if number % 2:  # half the charges reach the ledger (and are applied) before the end
                await book.close()
                ledger.charge("a", f"r{number}", charged)
                await book.catch_up()
            return charged

        try:
            charged = await asyncio.gather(*(one(i, u, c) for i, (u, c) in enumerate(asks)))
            for book in processes:
                await book.close()
            assert sum(charged) <= balance
            assert await processes[0].balance_units("a") == balance - sum(charged)
            assert processes[0].reserved_units("a") == 0
        finally:
            await drop_keys(clients[0], prefix)
            for client in clients:
                await client.aclose()

    asyncio.run(scenario())


async def test_unreachable_redis_fails_closed_and_recovers(books):
    ledger = Ledger({"a": 1000})
    down = RedisCreditBook(open_redis("redis://127.0.0.1:1/2"), "test-down:", ledger.balance, ledger.entries_after)
    with pytest.raises(BillingUnavailable) as caught:
        await down.reserve("r1", "a", 100)
    assert shape(caught.value).status == 503 and caught.value.code == "billing_unavailable"
    book = books(ledger)
    await book._redis.connection_pool.disconnect()  # a dropped connection is reopened by the next command
    assert (await book.reserve("r2", "a", 100)).units == 100


def test_the_shared_book_and_usage_stream_are_chosen_with_redis(tmp_path):
    from alltoken.analytics.recorder import UsageRecorder
    from alltoken.analytics.usage_stream import DurableUsage
    from alltoken.billing.reservations import LocalCreditBook
    from alltoken.config import load_settings
    from alltoken.runtime.gateway import Gateway

    database = {"ALLTOKEN_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    alone = Gateway.build(load_settings(env=database))
    assert isinstance(alone.book, LocalCreditBook) and isinstance(alone.recorder, UsageRecorder)
    shared = Gateway.build(load_settings(env={**database, "ALLTOKEN_REDIS_URL": REDIS_URL,
                                                   "ALLTOKEN_REDIS_PREFIX": "here:"}))
    assert isinstance(shared.book, RedisCreditBook) and shared.book._prefix == "here:credits:"
    assert isinstance(shared.recorder, DurableUsage) and shared.recorder._stream == "here:usage"
    assert shared.book._redis is shared.redis is shared.recorder._redis   # one client per process
    for state in (alone, shared):
        asyncio.run(state.engine.dispose())
