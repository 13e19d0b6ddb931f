"""Key limits that reset daily, weekly or monthly: spending stops at the limit, and starts afresh."""

import sqlite3
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from alltoken.billing.reservations import Budget, LimitReached, LocalCreditBook
from alltoken.periods import next_reset, period_start

NOW = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)   # a Thursday


@pytest.mark.parametrize("reset,start,following", [
    ("daily", datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ("weekly", datetime(2026, 12, 28, tzinfo=UTC), datetime(2027, 1, 4, tzinfo=UTC)),
    ("monthly", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
])
def test_periods(reset, start, following):
    assert period_start(reset, NOW) == start and next_reset(reset, NOW) == following
    assert period_start(None, NOW) is None


async def test_a_new_period_starts_the_key_afresh():
    async def balance(account_id, up_to):
        return 10**9

    async def nothing(after):
        return []

    book = LocalCreditBook(load_balance=balance, new_entries=nothing)
    today, tomorrow = period_start("daily", NOW), next_reset("daily", NOW)
    hold = await book.reserve("r1", "a", 80, [Budget(("key", "k"), 100, 0, today)])
    await book.settle(hold, 80)
    with pytest.raises(LimitReached):
        await book.reserve("r2", "a", 30, [Budget(("key", "k"), 100, 0, today)])
    assert (await book.reserve("r3", "a", 30, [Budget(("key", "k"), 100, 0, tomorrow)])).units == 30


def test_a_daily_key_limit_stops_at_the_limit_and_counts_only_today(openai_gateway, upstream):
    account, key = openai_gateway.new_key(usd="1", limit_usd="0.00002", limit_reset="daily")
    key_id = httpx.get(openai_gateway.url + "/v1/key", headers={"Authorization": f"Bearer {key}"}).json()["data"]["id"]
    with sqlite3.connect(openai_gateway.db_path) as db:  # yesterday this key spent far more than its limit
        db.execute("INSERT INTO usage_records (id, account_id, key_id, model, endpoint, streamed, prompt_tokens, "
                   "completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost_units, latency_ms, "
                   "status, http_status, created_at) VALUES ('gen-yesterday', ?, ?, 'm', 'chat', 0, 0, 0, 0, 0, 0, "
                   "?, 1, 'ok', 200, ?)", (account, key_id, 10**12,
                                           (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f")))
    call = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5}
    post = lambda: httpx.post(openai_gateway.url + "/v1/chat/completions",  # noqa: E731
                              headers={"Authorization": f"Bearer {key}"}, json=call)
    # each request holds ~4.4e-6 USD (5 output tokens) and costs 7.35e-6 (the fake reports 21 + 7 tokens):
    # three start under today's 2e-5, the fourth would not fit; yesterday's spend does not count
    responses = [post() for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 402]
    refused = responses[-1]
    assert refused.json()["error"]["code"] == "key_limit_reached"
    message = refused.json()["error"]["message"]
    assert "daily spending limit" in message and next_reset("daily", datetime.now(UTC)).isoformat() in message
    info = httpx.get(openai_gateway.url + "/v1/key", headers={"Authorization": f"Bearer {key}"}).json()["data"]
    # the third charge (7.35e-6) had only 5.3e-6 of the limit left: charged that, the rest uncollected
    assert info["limit_reset"] == "daily" and info["usage_usd"] == "0.000020"
