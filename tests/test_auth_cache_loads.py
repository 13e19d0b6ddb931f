"""The key cache's loads (accounts/cache.py): concurrent misses for one key share one database load,
a caller that goes away does not cancel it for the others, and a failed load fails every waiter."""

import asyncio
from datetime import UTC, datetime

from alltoken.accounts.cache import AccountRecord, AuthCache, KeyRecord

KEY = KeyRecord(id="key_1", account_id="acct_1", name=None, hint="atk_...", models=None, limit_units=None,
                limit_reset=None, spent_units=0, created_at=datetime.now(UTC), expires_at=None, revoked=False)
ACCOUNT = AccountRecord(id="acct_1", status="active", status_reason=None)


class SlowDatabase:
    def __init__(self, fail: bool = False):
        self.key_loads, self.account_loads, self.fail = 0, 0, fail

    async def load_key(self, secret_hash: str):
        self.key_loads += 1
        await asyncio.sleep(0.05)
        if self.fail:
            raise ConnectionError("database away")
        return (KEY, ACCOUNT) if secret_hash == "known" else None

    async def load_account(self, account_id: str):
        self.account_loads += 1
        await asyncio.sleep(0.05)
        return ACCOUNT


async def test_concurrent_misses_for_one_key_share_one_load():
    database = SlowDatabase()
    cache = AuthCache(database.load_key, database.load_account)
    found = await asyncio.gather(*(cache.lookup("known") for _ in range(200)))
    assert found == [(KEY, ACCOUNT)] * 200 and database.key_loads == 1
    missing = await asyncio.gather(*(cache.lookup("unknown") for _ in range(50)))
    assert missing == [None] * 50 and database.key_loads == 2


async def test_concurrent_misses_for_a_dropped_account_share_one_load():
    database = SlowDatabase()
    cache = AuthCache(database.load_key, database.load_account)
    await cache.lookup("known")
    cache.drop_account("acct_1")
    assert await asyncio.gather(*(cache.lookup("known") for _ in range(100))) == [(KEY, ACCOUNT)] * 100
    assert database.account_loads == 1


async def test_a_caller_that_goes_away_leaves_the_load_to_the_others():
    database = SlowDatabase()
    cache = AuthCache(database.load_key, database.load_account)
    leaving = asyncio.create_task(cache.lookup("known"))
    staying = asyncio.create_task(cache.lookup("known"))
    await asyncio.sleep(0.01)
    leaving.cancel()
    assert await staying == (KEY, ACCOUNT) and database.key_loads == 1


async def test_a_failed_load_fails_every_waiter_and_the_next_miss_tries_again():
    database = SlowDatabase(fail=True)
    cache = AuthCache(database.load_key, database.load_account)
    outcomes = await asyncio.gather(*(cache.lookup("known") for _ in range(10)), return_exceptions=True)
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes) and database.key_loads == 1
    database.fail = False
    assert await cache.lookup("known") == (KEY, ACCOUNT) and database.key_loads == 2


