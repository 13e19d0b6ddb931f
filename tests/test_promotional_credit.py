"""Promotional credit: spent before paid credit, earliest expiry first, written off when it expires.
Property tests over random sequences of grants, charges, adjustments, refunds and expiries."""

import asyncio
import secrets
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from alltoken.accounts.service import create_account
from alltoken.billing import ledger
from alltoken.billing.buckets import Buckets, Entry, expiry_request_id, replay
from alltoken.billing.expiry import account_buckets, accounts_with_expired_grants, write_off_expired
from alltoken.billing.ledger import Charge
from alltoken.billing.redis_book import RedisCreditBook
from alltoken.billing.reservations import InsufficientCredits, LocalCreditBook, Settlement
from alltoken.runtime.loaders import Loaders
from alltoken.store.db import session_factory
from alltoken.store.models import LedgerEntry
from alltoken.store.redis_client import open_redis

from .harness import CliError, wait_for
from .test_redis_book import drop_keys

T0 = datetime(2026, 1, 1, tzinfo=UTC)

operations = st.lists(st.one_of(
    st.tuples(st.just("topup"), st.integers(1, 10_000), st.none()),
    st.tuples(st.just("promo"), st.integers(1, 10_000), st.integers(1, 50)),     # expires after N steps
    st.tuples(st.just("usage"), st.integers(1, 8_000), st.none()),
    st.tuples(st.just("adjustment"), st.integers(-3_000, 3_000).filter(bool), st.none()),
    st.tuples(st.just("expire"), st.none(), st.none()),
    st.tuples(st.just("refund"), st.integers(1, 10_000), st.none()),    # capped at unspent paid credit
), max_size=60)


def run(ops) -> tuple[list[Entry], list[tuple[int, int, list]], list[tuple[Buckets, Buckets, int]]]:
    """Apply the operations as the gateway would; returns the ledger, per charge the buckets
    before and after it and its time, and per refund the buckets before and after it and its amount."""
    entries, observations, refunds = [], [], []
    for step, (kind, amount, lifetime) in enumerate(ops):
        at = T0 + timedelta(minutes=step)
        entry_id = len(entries) + 1
        if kind == "promo":
            entries.append(Entry(entry_id, "promo", amount, at, expires_at=at + timedelta(minutes=lifetime)))
        elif kind == "usage":
            before = replay(entries)
            entries.append(Entry(entry_id, "usage", -amount, at))
            observations.append((before, replay(entries), at))
        elif kind == "expire":
            for grant in replay(entries).due_for_expiry(at):
                entries.append(Entry(len(entries) + 1, "expiry", -grant.remaining, at,
                                     request_id=expiry_request_id(grant)))
        elif kind == "refund":  # what billing/corrections.py allows: unspent paid credit at most
            before = replay(entries)
            amount = min(amount, before.refundable)
            if amount:
                entries.append(Entry(entry_id, "refund", -amount, at))
                refunds.append((before, replay(entries), amount))
        else:
            entries.append(Entry(entry_id, kind, amount, at))
    return entries, observations, refunds


@settings(max_examples=300, deadline=None)
@given(operations)
def test_balance_is_the_sum_of_entries_and_promotional_credit_goes_first(ops):
    entries, observations, refunds = run(ops)
    buckets = replay(entries)
    assert buckets.balance == sum(e.amount_units for e in entries)
    assert all(isinstance(e.amount_units, int) for e in entries)
    assert all(g.remaining >= 0 for g in buckets.promos)
    for before, after, at in observations:
        live_promo = sum(g.remaining for g in before.promos
                         if not g.written_off and (g.expires_at is None or g.expires_at > at))
        charged = before.balance - after.balance
        # paid credit is touched only for what live promotional credit could not cover
        assert before.paid - after.paid == max(charged - live_promo, 0)
    for before, after, amount in refunds:
        # a refund takes exactly its amount of paid credit, never leaves paid credit below zero,
        # and leaves every promotional grant as it was
        assert before.paid - after.paid == amount and after.paid >= 0
        assert [(g.entry_id, g.remaining, g.written_off) for g in after.promos] == \
            [(g.entry_id, g.remaining, g.written_off) for g in before.promos]


def test_earliest_expiry_is_spent_first():
    early = Entry(1, "promo", 100, T0, expires_at=T0 + timedelta(days=1))
    late = Entry(2, "promo", 100, T0, expires_at=T0 + timedelta(days=9))
    paid = Entry(3, "topup", 100, T0)
    buckets = replay([late, early, paid, Entry(4, "usage", -150, T0 + timedelta(hours=1))])
    assert [(g.entry_id, g.remaining) for g in buckets.promos] == [(1, 0), (2, 50)] and buckets.paid == 100
    after_expiry = replay([early, late, paid, Entry(4, "usage", -150, T0 + timedelta(days=2))])
    assert [g.remaining for g in after_expiry.promos] == [100, 0]  # the early grant was no longer live
    assert after_expiry.paid == 50


async def test_expired_promotions_are_written_off_once(engine):
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        account = await create_account(session, f"promo-{secrets.token_hex(3)}@example.com")
        await ledger.grant(session, account.id, "10", kind="topup")
        promo = await ledger.grant(session, account.id, "4", kind="promo", expires_at=now + timedelta(days=1))
        await session.flush()
        await ledger.write_charges(session, [Charge(account.id, "gen-p1", 3 * 10**12)])
    async with sessions.begin() as session:  # let time pass: the charge came first, then the grant expired
        await session.execute(update(LedgerEntry).where(LedgerEntry.request_id == "gen-p1")
                              .values(created_at=now - timedelta(seconds=10)))
        await session.execute(update(LedgerEntry).where(LedgerEntry.id == promo.id)
                              .values(expires_at=now - timedelta(seconds=1)))
    for _ in range(2):  # a second run writes nothing
        async with sessions.begin() as session:
            assert await write_off_expired(session, account.id, datetime.now(UTC)) == [promo.id]
    async with sessions() as session:
        buckets = await account_buckets(session, account.id)
        assert await ledger.balance_units(session, account.id) == 10 * 10**12 == buckets.balance
        assert buckets.paid == 10 * 10**12 and buckets.promo_total == 0
        kinds = (await session.execute(select(LedgerEntry.kind).where(LedgerEntry.account_id == account.id))).scalars()
        assert sorted(kinds) == ["expiry", "promo", "topup", "usage"]


USD = 10**12


@pytest.fixture(params=["local", "redis"])
async def book_on(request, engine):
    """book_on() -> a credit book of each kind on the test database, as a gateway builds it."""
    sessions = session_factory(engine)
    loaders = Loaders(sessions)
    prefix, clients = f"test-promo-{secrets.token_hex(4)}:", []

    def make():
        if request.param == "local":
            return LocalCreditBook(loaders.balance, loaders.ledger_entries, load_expiring=loaders.expiring_grants,
                                   write_off=loaders.write_off_expired)
        clients.append(open_redis("redis://127.0.0.1:6379/2"))
        return RedisCreditBook(clients[-1], prefix, loaders.balance, loaders.ledger_entries,
                               load_expiring=loaders.expiring_grants, write_off=loaders.write_off_expired)

    yield sessions, make
    for client in clients:
        await drop_keys(client, prefix)
        await client.aclose()


async def _account_with(sessions, promo_usd: str, expires_at: datetime, topup_usd: str | None = None) -> str:
    async with sessions.begin() as session:
        account = await create_account(session, f"promo-{secrets.token_hex(3)}@example.com")
        if topup_usd:
            await ledger.grant(session, account.id, topup_usd, kind="topup")
        await ledger.grant(session, account.id, promo_usd, kind="promo", expires_at=expires_at)
    return account.id


async def _until(moment: datetime) -> None:
    while datetime.now(UTC) <= moment:   # the clock passing the expiry is the condition waited for
        await asyncio.sleep(0.05)


async def _ledger_sum(sessions, account_id: str) -> int:
    async with sessions() as session:
        return await ledger.balance_units(session, account_id)


async def test_a_book_stops_counting_a_grant_the_moment_it_expires(book_on):
    sessions, make = book_on
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    account = await _account_with(sessions, "4", expires, topup_usd="1")
    book = make()
    assert await book.balance_units(account) == 5 * USD           # loaded while the grant is live
    async with sessions.begin() as session:                        # and one the book learns of from the ledger
        await ledger.grant(session, account, "2", kind="promo", expires_at=expires)
    await book.catch_up()
    assert await book.balance_units(account) == 7 * USD
    await _until(expires)
    assert await book.balance_units(account) == 1 * USD           # at once: no expiry loop, no poll
    assert await book.available_units(account) == 1 * USD
    with pytest.raises(InsufficientCredits):
        await book.reserve("r-after", account, 2 * USD)
    assert await _ledger_sum(sessions, account) == 1 * USD        # written off, so the ledger agrees


async def test_charges_in_flight_at_expiry_spend_the_grant_and_no_balance_goes_below_zero(book_on):
    sessions, make = book_on
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    account = await _account_with(sessions, "4", expires)          # promotional credit only
    book = make()
    hold = await book.reserve("r-inflight", account, 4 * USD)
    assert await book.settle(hold, 4 * USD) == Settlement(4 * USD)   # settled before expiry, not written yet
    await _until(expires)
    assert await book.balance_units(account) == 0                  # the write-off leaves the charge its credit
    async with sessions.begin() as session:
        await ledger.write_charges(session, [Charge(account, "r-inflight", 4 * USD)])
    await book.catch_up()
    assert await book.balance_units(account) == 0 == await _ledger_sum(sessions, account)
    async with sessions() as session:
        buckets = await account_buckets(session, account)
    assert buckets.paid == 0 and buckets.promo_total == 0          # the charge took the grant's rest


async def test_a_grant_already_expired_is_refused(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, f"promo-{secrets.token_hex(3)}@example.com")
        with pytest.raises(ledger.ExpiredGrant, match="has already passed"):
            await ledger.grant(session, account.id, "5", kind="promo", expires_at=datetime.now(UTC))


def test_a_running_server_stops_counting_promotional_credit_the_moment_it_expires(demo_gateway):
    """The issue's shape: with a server running, promotional credit kept counting for up to a minute
    after its expiry. Now every read after the instant excludes it: /v1/credits, the console's balance,
    the CLI, and a reservation (402)."""
    account = demo_gateway.cli("accounts", "create", "--email", f"expiring-{secrets.token_hex(3)}@example.com")["id"]
    key = demo_gateway.cli("keys", "create", "--account", account)["key"]
    expires = datetime.now(UTC) + timedelta(seconds=3)
    demo_gateway.cli("credits", "grant", "--account", account, "--usd", "0.5", "--kind", "promo",
                     "--expires", expires.isoformat())
    headers = {"Authorization": f"Bearer {key}"}
    chat = {"model": "alltoken/demo", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    assert wait_for(lambda: _credits(demo_gateway, key)["balance_usd"] == "0.500000")
    assert httpx.post(demo_gateway.url + "/v1/chat/completions", json=chat, headers=headers).status_code == 200
    while datetime.now(UTC) <= expires:   # the expiry passing is the condition waited for
        time.sleep(0.05)
    assert _credits(demo_gateway, key)["available_usd"] == "0.000000"
    refused = httpx.post(demo_gateway.url + "/v1/chat/completions", json=chat, headers=headers)
    assert refused.status_code == 402
    assert demo_gateway.api("GET", "/billing/balance", key).json()["balance_usd"] == "0.000000"
    assert demo_gateway.cli("credits", "balance", "--account", account)["promo_usd"] == "0.000000"
    assert demo_gateway.balance(account) == 0


def test_the_cli_refuses_a_grant_already_expired(demo_gateway):
    account = demo_gateway.cli("accounts", "create", "--email", f"late-{secrets.token_hex(3)}@example.com")["id"]
    with pytest.raises(CliError) as refused:
        demo_gateway.cli("credits", "grant", "--account", account, "--usd", "5", "--kind", "promo",
                         "--expires", "2020-01-01T00:00:00Z")
    assert refused.value.code == 1 and "has already passed" in refused.value.stderr
    assert demo_gateway.balance(account) == 0


def _credits(gateway, key: str) -> dict:
    return httpx.get(gateway.url + "/v1/credits", headers={"Authorization": f"Bearer {key}"}).json()["data"]


async def test_a_grant_spent_before_it_expired_gets_an_empty_write_off_and_is_not_looked_at_again(engine):
    sessions = session_factory(engine)
    expires = datetime.now(UTC) + timedelta(seconds=1)
    account = await _account_with(sessions, "1", expires)
    async with sessions.begin() as session:
        await ledger.write_charges(session, [Charge(account, f"spent-{account}", 1 * USD)])
    await _until(expires)
    async with sessions.begin() as session:
        assert account in await accounts_with_expired_grants(session, datetime.now(UTC))
        [grant] = await write_off_expired(session, account, datetime.now(UTC))
    async with sessions() as session:
        amounts = (await session.execute(select(LedgerEntry.amount_units)
                                         .where(LedgerEntry.request_id == f"expiry:{grant}"))).scalars().all()
        assert amounts == [0]
        assert account not in await accounts_with_expired_grants(session, datetime.now(UTC))
