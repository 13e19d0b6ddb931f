"""The in-process credit book: holds never overspend, settlement happens once."""

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alltoken.billing.ledger import LedgerRow
from alltoken.billing.reservations import Budget, InsufficientCredits, LimitReached, LocalCreditBook, Settlement


def book_with(balances: dict[str, int]) -> LocalCreditBook:
    async def load(account_id, up_to_id):
        return balances[account_id]

    async def no_entries(after_id):
        return []

    return LocalCreditBook(load_balance=load, new_entries=no_entries)


async def test_reserve_settle_release():
    book = book_with({"a": 1000})
    first = await book.reserve("r1", "a", 600)
    with pytest.raises(InsufficientCredits) as caught:
        await book.reserve("r2", "a", 500)
    assert caught.value.available_units == 400
    assert await book.settle(first, 250) and not await book.settle(first, 250)
    book.release(first)  # after settlement: no effect
    assert await book.available_units("a") == 750
    second = await book.reserve("r2", "a", 700)
    book.release(second)
    book.release(second)
    assert await book.available_units("a") == 750 and book.reserved_units("a") == 0


async def test_key_limit_counts_spend_and_holds():
    book = book_with({"a": 10**6})
    key = Budget(("key", "k"), 100, spent_at_load=30)
    hold = await book.reserve("r1", "a", 60, [key])
    with pytest.raises(LimitReached) as caught:
        await book.reserve("r2", "a", 20, [key])
    assert caught.value.remaining_units == 10 and caught.value.budget == key
    await book.settle(hold, 50)
    assert book.spent_in_period(("key", "k"), None) == 80
    await book.reserve("r3", "a", 20, [key])


@settings(max_examples=50, deadline=None)
@given(balance=st.integers(0, 10_000), asks=st.lists(st.tuples(st.integers(1, 3_000), st.integers(0, 3_000)),
                                                      max_size=60))
def test_concurrent_holds_never_exceed_the_balance(balance, asks):
    async def scenario():
        book = book_with({"a": balance})

        async def one(number, units, cost):
            try:
                hold = await book.reserve(f"r{number}", "a", units)
            except InsufficientCredits:
                return 0
            await asyncio.sleep(0)
            charged = min(cost, units)
            await book.settle(hold, charged)
            return charged

        charged = await asyncio.gather(*(one(i, u, c) for i, (u, c) in enumerate(asks)))
        assert sum(charged) <= balance
        assert await book.balance_units("a") == balance - sum(charged)
        assert book.reserved_units("a") == 0

    asyncio.run(scenario())


async def test_ledger_feed_moves_pending_charges_exactly_once():
    book = book_with({"a": 1000, "b": 999})  # the loader's sum for b already includes its row 7
    hold = await book.reserve("r1", "a", 100)
    await book.settle(hold, 40)
    async with book.lock:
        book.apply_ledger_entries([LedgerRow(5, "a", -40, "r1"), LedgerRow(6, "a", 500), LedgerRow(7, "b", 999)])
    assert await book.balance_units("a") == 1460
    assert book.cursor == 7
    assert await book.balance_units("b") == 999  # row 7 is counted once, by b's load, not again on top


async def test_a_charge_beyond_the_hold_takes_at_most_what_is_left_and_reports_the_rest():
    book = book_with({"a": 1000})
    other = await book.reserve("r1", "a", 300)            # another request's hold is not taken from
    hold = await book.reserve("r2", "a", 100)
    assert await book.settle(hold, 5000) == Settlement(700, 4300, "balance")
    assert await book.balance_units("a") == 300 and await book.available_units("a") == 0
    assert await book.settle(other, 300) == Settlement(300)
    assert await book.balance_units("a") == 0             # never below zero


async def test_a_credit_line_is_the_floor_and_limits_cap_a_charge_too():
    book = book_with({"a": 100})
    key, member = Budget(("key", "k"), 500, spent_at_load=100), Budget(("member", "a", "u"), 450)
    hold = await book.reserve("r1", "a", 50, [key, member], credit_line_units=1000)
    assert await book.settle(hold, 10**6) == Settlement(400, 10**6 - 400, "key")    # the key had 400 left
    assert book.spent_in_period(("key", "k"), None) == 500 and book.spent_in_period(member.scope, None) == 400
    hold = await book.reserve("r2", "a", 0, [Budget(member.scope, 450)], credit_line_units=1000)
    assert await book.settle(hold, 10**6) == Settlement(50, 10**6 - 50, "member")
    hold = await book.reserve("r3", "a", 10, credit_line_units=1000)
    assert await book.settle(hold, 10**6) == Settlement(650, 10**6 - 650, "balance")
    assert await book.balance_units("a") == -1000          # down to the credit line, not below


@settings(max_examples=50, deadline=None)
@given(balance=st.integers(0, 10_000), line=st.integers(0, 3_000), limit=st.integers(0, 8_000),
       asks=st.lists(st.tuples(st.integers(0, 3_000), st.integers(0, 30_000)), max_size=40))
def test_no_settlement_takes_a_balance_or_limit_past_its_floor(balance, line, limit, asks):
    async def scenario():
        book = book_with({"a": balance})
        key = Budget(("key", "k"), limit)

        async def one(number, units, cost):
            try:
                hold = await book.reserve(f"r{number}", "a", units, [key], credit_line_units=line)
            except (InsufficientCredits, LimitReached):
                return 0
            await asyncio.sleep(0)
            settled = await book.settle(hold, cost)
            assert settled.charged_units + settled.uncollected_units == cost
            return settled.charged_units

        charged = sum(await asyncio.gather(*(one(i, u, c) for i, (u, c) in enumerate(asks))))
        assert await book.balance_units("a") == balance - charged >= -line
        assert book.spent_in_period(key.scope, None) in (None, charged) and charged <= limit
        assert book.reserved_units("a") == 0

    asyncio.run(scenario())
