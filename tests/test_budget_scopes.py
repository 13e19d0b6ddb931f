"""The credit book's budget scopes: one hold counts against the key's limit and its team member's,
each with its own spend, holds and period."""

import asyncio
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alltoken.billing.reservations import Budget, LimitReached
from alltoken.periods import member_period_start, next_reset, period_start

from .test_reservations import book_with

KEY_A, KEY_B, MEMBER = ("key", "ka"), ("key", "kb"), ("member", "team", "alice")


async def test_the_budget_with_the_least_left_refuses_and_is_named():
    book = book_with({"team": 10**6})
    with pytest.raises(LimitReached) as caught:
        await book.reserve("r1", "team", 60, [Budget(KEY_A, 100), Budget(MEMBER, 50)])
    assert caught.value.budget.scope == MEMBER and caught.value.remaining_units == 50
    with pytest.raises(LimitReached) as caught:
        await book.reserve("r2", "team", 60, [Budget(KEY_A, 30), Budget(MEMBER, 50)])
    assert caught.value.budget.scope == KEY_A and caught.value.remaining_units == 30
    assert book.reserved_units("team") == 0  # a refused hold holds nothing anywhere
    hold = await book.reserve("r3", "team", 50, [Budget(KEY_A, 100), Budget(MEMBER, 50)])
    assert hold.scopes == (KEY_A, MEMBER)


async def test_two_keys_of_one_member_share_the_member_limit_and_settle_exactly():
    book = book_with({"team": 10**6})
    a = await book.reserve("r1", "team", 40, [Budget(KEY_A), Budget(MEMBER, 100, spent_at_load=10)])
    b = await book.reserve("r2", "team", 40, [Budget(KEY_B), Budget(MEMBER, 100)])
    with pytest.raises(LimitReached) as caught:  # 100 - 10 spent - 80 held
        await book.reserve("r3", "team", 11, [Budget(KEY_A), Budget(MEMBER, 100)])
    assert caught.value.remaining_units == 10
    assert await book.settle(a, 25) and not await book.settle(a, 25)
    book.release(b)
    book.release(b)
    assert book.spent_in_period(MEMBER, None) == 35
    assert book.spent_in_period(KEY_A, None) == 25 and book.spent_in_period(KEY_B, None) == 0
    await book.reserve("r4", "team", 65, [Budget(KEY_B), Budget(MEMBER, 100)])  # exactly what is left
    assert await book.balance_units("team") == 10**6 - 25


async def test_a_new_member_period_starts_afresh_and_keeps_open_holds():
    book = book_with({"team": 10**6})
    now = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    today, tomorrow = period_start("daily", now), next_reset("daily", now)
    spent = await book.reserve("r1", "team", 80, [Budget(MEMBER, 100, 0, today)])
    await book.settle(spent, 80)
    late = await book.reserve("r2", "team", 15, [Budget(MEMBER, 100, 0, today)])
    with pytest.raises(LimitReached):
        await book.reserve("r3", "team", 10, [Budget(MEMBER, 100, 0, today)])
    # midnight: yesterday's 80 no longer counts; the hold made before midnight still does
    with pytest.raises(LimitReached) as caught:
        await book.reserve("r4", "team", 90, [Budget(MEMBER, 100, 0, tomorrow)])
    assert caught.value.remaining_units == 85
    await book.settle(late, 15)
    assert book.spent_in_period(MEMBER, tomorrow) == 15 and book.spent_in_period(MEMBER, today) is None


@pytest.mark.parametrize("reset,joined,expected", [
    ("daily", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)),
    ("daily", datetime(2026, 12, 31, 9, tzinfo=UTC), datetime(2026, 12, 31, 9, tzinfo=UTC)),
    ("weekly", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 28, tzinfo=UTC)),
    ("monthly", datetime(2026, 12, 5, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC)),
    (None, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
])
def test_member_spend_counts_from_the_period_start_or_joining_whichever_is_later(reset, joined, expected):
    assert member_period_start(reset, joined, datetime(2026, 12, 31, 15, 30, tzinfo=UTC)) == expected


@settings(max_examples=50, deadline=None)
@given(member_limit=st.integers(0, 5_000), key_limits=st.tuples(st.integers(1, 4_000), st.integers(1, 4_000)),
       asks=st.lists(st.tuples(st.booleans(), st.integers(1, 800), st.integers(0, 800)), max_size=60))
def test_concurrent_holds_never_pass_the_member_or_key_limits(member_limit, key_limits, asks):
    """Requests on two keys of one member, racing: every limit holds, and the spends add up exactly."""
    async def scenario():
        book = book_with({"team": 10**9})
        charged = {KEY_A: 0, KEY_B: 0}

        async def one(number, on_b, units, cost):
            key = KEY_B if on_b else KEY_A
            budgets = [Budget(key, key_limits[on_b]), Budget(MEMBER, member_limit)]
            try:
                hold = await book.reserve(f"r{number}", "team", units, budgets)
            except LimitReached:
                return
            await asyncio.sleep(0)
            charged[key] += min(cost, units)
            await book.settle(hold, min(cost, units))

        await asyncio.gather(*(one(i, *ask) for i, ask in enumerate(asks)))
        assert charged[KEY_A] <= key_limits[0] and charged[KEY_B] <= key_limits[1]
        assert charged[KEY_A] + charged[KEY_B] <= member_limit
        assert (book.spent_in_period(MEMBER, None) or 0) == charged[KEY_A] + charged[KEY_B]
        assert await book.balance_units("team") == 10**9 - sum(charged.values())
        assert book.reserved_units("team") == 0

    asyncio.run(scenario())

