"""Storage against both SQLite and PostgreSQL, so nothing SQLite-only creeps in."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select

from alltoken.accounts.cache import AuthCache
from alltoken.accounts.service import create_account, create_key, revoke_key
from alltoken.analytics.events import UsageEvent
from alltoken.analytics.recorder import UsageRecorder
from alltoken.billing import ledger
from alltoken.billing.ledger import Charge
from alltoken.billing.reservations import LocalCreditBook
from alltoken.errors import Conflict, NotFound
from alltoken.runtime.loaders import Loaders
from alltoken.runtime.sync import CacheSync
from alltoken.store.db import session_factory
from alltoken.store.migrate import upgrade_to_head
from alltoken.store.models import ApiKey, LedgerEntry, UsageRecord


@pytest.mark.empty_database
async def test_migrations_create_every_table_and_are_idempotent(engine):
    await upgrade_to_head(engine)  # a second run changes nothing
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"accounts", "users", "api_keys", "ledger_entries", "usage_records", "terms_acceptances",
            "change_events", "alembic_version"} <= tables


async def test_accounts_keys_and_balances(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "Owner@Example.com", "Owner")
    async with sessions.begin() as session:
        with pytest.raises(Conflict):
            await create_account(session, "owner@example.com")
    expiry = datetime.now(UTC) + timedelta(days=3)
    async with sessions.begin() as session:
        new = await create_key(session, account.id, name="ci", limit_usd="2.5", models=["a/b"], expires_at=expiry)
        await ledger.grant(session, account.id, "10", kind="topup", actor="test")
        await ledger.grant(session, account.id, "1.25", kind="promo", expires_at=expiry)
    async with sessions() as session:
        row = await session.get(ApiKey, new.row.id)
        assert row.secret_hash != new.secret and new.secret not in row.hint
        assert row.limit_units == 2_500_000_000_000 and row.models == ["a/b"]
        assert row.expires_at == expiry and row.expires_at.tzinfo is not None
        assert await ledger.balance_units(session, account.id) == 11_250_000_000_000
    async with sessions.begin() as session:
        with pytest.raises(NotFound):
            await create_key(session, "acct_missing")
        with pytest.raises(ValueError):
            await ledger.grant(session, account.id, "-1", kind="topup")
        revoked = await revoke_key(session, new.row.id)
        assert revoked.revoked_at is not None


async def test_charges_are_idempotent_by_request_id(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "idem@example.com")
        await ledger.grant(session, account.id, "1")
    for _ in range(3):
        async with sessions.begin() as session:
            await ledger.write_charges(session, [Charge(account.id, "gen-1", 400), Charge(account.id, "gen-2", 100)])
    async with sessions() as session:
        assert await ledger.balance_units(session, account.id) == 10**12 - 500


async def test_recorder_writes_usage_charges_and_key_spend_in_one_batch(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "rec@example.com")
        key = (await create_key(session, account.id)).row
    recorder = UsageRecorder(sessions, interval=60)
    for number in range(5):
        event = _event(f"gen-r{number}", account.id, key.id, cost=1000 + number)
        recorder.record(event, Charge(account.id, event.id, event.cost_units))
    assert recorder.pending("gen-r3").cost_units == 1003
    assert await recorder.flush()
    assert recorder.pending("gen-r3") is None
    async with sessions() as session:
        records = (await session.execute(select(UsageRecord).order_by(UsageRecord.id))).scalars().all()
        charges = (await session.execute(select(LedgerEntry.amount_units).where(LedgerEntry.kind == "usage"))).all()
        spent = (await session.get(ApiKey, key.id)).spent_units
    assert [r.cost_units for r in records] == [1000, 1001, 1002, 1003, 1004]
    assert sorted(c[0] for c in charges) == [-1004, -1003, -1002, -1001, -1000]
    assert spent == 5010 and records[0].created_at.tzinfo is not None


class FlakySessions:
    """A session factory whose first transaction fails, as a locked or unreachable database would."""

    def __init__(self, sessions):
        self._sessions = sessions
        self.failures_left = 1

    def begin(self):
        if self.failures_left:
            self.failures_left -= 1
            raise ConnectionError("database unreachable")
        return self._sessions.begin()


async def test_recorder_keeps_a_failed_batch_and_close_writes_the_rest(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "keep@example.com")
    recorder = UsageRecorder(FlakySessions(sessions), interval=60)
    recorder.record(_event("gen-k1", account.id, None, cost=7), Charge(account.id, "gen-k1", 7))
    assert not await recorder.flush()
    assert recorder.pending("gen-k1") is not None
    recorder.record(_event("gen-k2", account.id, None, cost=0))
    recorder.start()
    await recorder.close()
    async with sessions() as session:
        ids = (await session.execute(select(UsageRecord.id))).scalars().all()
        balance = await ledger.balance_units(session, account.id)
    assert sorted(ids) == ["gen-k1", "gen-k2"] and balance == -7


async def test_cache_sync_brings_grants_and_revocations_from_other_processes(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "sync@example.com")
        new = await create_key(session, account.id)
        await ledger.grant(session, account.id, "1")
    loaders = Loaders(sessions)
    book = LocalCreditBook(load_balance=loaders.balance, new_entries=loaders.ledger_entries)
    auth = AuthCache(loaders.key, loaders.account)
    sync = CacheSync(sessions, book, auth, interval=60)
    await sync.start()
    from alltoken.accounts.keys import hash_key

    assert (await auth.lookup(hash_key(new.secret)))[0].revoked is False
    assert await book.available_units(account.id) == 10**12
    hold = await book.reserve("gen-s1", account.id, 300)
    await book.settle(hold, 200)
    async with sessions.begin() as session:  # what the CLI does, and what our recorder writes
        await ledger.grant(session, account.id, "2")
        await ledger.write_charges(session, [Charge(account.id, "gen-s1", 200)])
        await revoke_key(session, new.row.id)
    assert await book.available_units(account.id) == 10**12 - 200
    await sync.poll()
    assert await book.available_units(account.id) == 3 * 10**12 - 200
    assert (await auth.lookup(hash_key(new.secret)))[0].revoked is True
    await sync.close()


def _event(rid, account_id, key_id, cost):
    return UsageEvent(id=rid, account_id=account_id, key_id=key_id, model="openai/gpt-4o-mini", provider="openai",
                      upstream_model="gpt-4o-mini", endpoint="chat", streamed=False, prompt_tokens=10,
                      completion_tokens=5, cached_tokens=0, cache_write_tokens=0, reasoning_tokens=0,
                      cost_units=cost, latency_ms=12, ttft_ms=None, status="ok", http_status=200, error_code=None,
                      finish_reason="stop", attempts=[{"route": "openai/gpt-4o-mini", "status": "ok"}],
                      created_at=datetime.now(UTC))


async def test_a_first_use_right_after_a_grant_sees_the_grant(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "fresh@example.com")
    loaders = Loaders(sessions)
    book = LocalCreditBook(load_balance=loaders.balance, new_entries=loaders.ledger_entries)
    sync = CacheSync(sessions, book, AuthCache(loaders.key, loaders.account), interval=60)
    await sync.start()
    async with sessions.begin() as session:
        await ledger.grant(session, account.id, "3")
    assert await book.available_units(account.id) == 3 * 10**12  # no poll has run yet
    await sync.poll()
    assert await book.available_units(account.id) == 3 * 10**12  # and the poll does not count it twice
    await sync.close()
