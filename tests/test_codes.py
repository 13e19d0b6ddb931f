"""Redemption codes: made by the CLI, redeemed over the API, each use exactly once even when raced."""

import asyncio
import concurrent.futures
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from alltoken.accounts.service import create_account
from alltoken.billing import ledger
from alltoken.billing.codes import CodeRefused, code_hash, create_codes, redeem
from alltoken.store.db import create_engine, session_factory
from alltoken.store.migrate import upgrade_to_head
from alltoken.store.models import RedemptionCode

from .conftest import fresh_postgres_database


def redeem_over_http(gateway, key, code):
    return httpx.post(gateway.url + "/v1/credits/redeem", headers={"Authorization": f"Bearer {key}"},
                      json={"code": code}, timeout=30)


def test_codes_from_the_cli_redeem_once_per_account(demo_gateway):
    made = demo_gateway.cli("codes", "create", "--usd", "2.5", "--count", "2", "--uses", "3")["codes"]
    assert len(made) == 2 and all(re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", c) for c in made)
    account, key = demo_gateway.new_key(usd="1")
    first = redeem_over_http(demo_gateway, key, made[0].lower().replace("-", " "))  # typed loosely
    assert first.status_code == 200 and first.json()["data"] == {"amount_usd": "2.500000", "balance_usd": "3.500000"}
    again = redeem_over_http(demo_gateway, key, made[0])
    assert again.status_code == 400 and again.json()["error"]["code"] == "already_redeemed"
    assert demo_gateway.balance(account) == 3.5
    wrong = redeem_over_http(demo_gateway, key, "AAAA-BBBB-CCCC-DDDD")
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_code"
    assert redeem_over_http(demo_gateway, key, "").json()["error"]["param"] == "code"


def test_fifty_racing_redemptions_of_a_single_use_code_grant_once(demo_gateway):
    (code,) = demo_gateway.cli("codes", "create", "--usd", "1")["codes"]
    keys = [demo_gateway.new_key(usd="0")[1] for _ in range(50)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda key: redeem_over_http(demo_gateway, key, code), keys))
    assert [r.status_code for r in statuses].count(200) == 1
    assert {r.json()["error"]["code"] for r in statuses if r.status_code != 200} == {"code_used_up"}


@pytest.fixture
async def pg_sessions():
    async with fresh_postgres_database("alltoken_codes") as url:
        engine = create_engine(url)
        await upgrade_to_head(engine)
        yield session_factory(engine)
        await engine.dispose()


async def test_racing_redemptions_on_postgresql_and_expiry(pg_sessions):
    async with pg_sessions.begin() as session:
        accounts = [await create_account(session, f"racer{i}@example.com") for i in range(50)]
        (code,) = await create_codes(session, "3", uses=2)
        (old,) = await create_codes(session, "1", expires_at=datetime.now(UTC) + timedelta(days=1))
    async with pg_sessions.begin() as session:  # age the second code past its expiry
        await session.execute(update(RedemptionCode).where(RedemptionCode.code_hash == code_hash(old))
                              .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    async def attempt(account):
        try:
            async with pg_sessions.begin() as session:
                await redeem(session, code, account.id)
            return "ok"
        except CodeRefused as refused:
            return refused.code

    outcomes = await asyncio.gather(*(attempt(a) for a in accounts))
    assert outcomes.count("ok") == 2 and set(outcomes) == {"ok", "code_used_up"}
    async with pg_sessions() as session:
        balances = [await ledger.balance_units(session, a.id) for a in accounts]
    assert sorted(balances)[-2:] == [3 * 10**12, 3 * 10**12] and sum(balances) == 6 * 10**12
    with pytest.raises(CodeRefused) as caught:
        async with pg_sessions.begin() as session:
            await redeem(session, old, accounts[0].id)
    assert caught.value.code == "code_expired"
