"""Which limits apply: tiers from the config file, overrides from the database (SQLite and
PostgreSQL), reduced limits for a rate-limited account; and the formats a client reads."""

import pytest
from sqlalchemy import select

from alltoken.accounts.keys import hash_key
from alltoken.accounts.service import create_account, create_key
from alltoken.config import ConfigError, load_settings
from alltoken.config.rate_limits import Limits, RateLimitSettings
from alltoken.errors import NotFound
from alltoken.limits import overrides
from alltoken.limits.policy import Overrides, resolve
from alltoken.runtime.loaders import Loaders
from alltoken.runtime.rate_limit_errors import duration
from alltoken.store.db import session_factory
from alltoken.store.models import ChangeEvent, RateLimitSetting

SETTINGS = RateLimitSettings.parse({
    "default_tier": "standard",
    "tiers": {
        "standard": {"account": {"rpm": 600, "tpm": 100_000}, "key": {"rpm": 100},
                     "models": {"openai/gpt-4o": {"rpm": 50}}},
        "free": {"account": {"rpm": 20, "concurrency": 2}},
    },
    "reduced": {"account": {"rpm": 10}, "key": {"rpm": 5}, "models": {"openai/o1": {"rpm": 1}}},
})


def test_accounts_get_their_tier_or_the_default_one():
    standard = resolve(SETTINGS, None, "active")
    assert standard.tier == "standard" and standard.account == Limits(rpm=600, tpm=100_000)
    assert standard.for_key(Limits()) == Limits(rpm=100) and standard.models == {"openai/gpt-4o": Limits(rpm=50)}
    free = resolve(SETTINGS, Overrides(tier="free"), "active")
    assert free.account == Limits(rpm=20, concurrency=2) and free.for_key(Limits()) == Limits() and not free.models
    assert resolve(SETTINGS, Overrides(tier="gone"), "active").tier == "standard"   # removed from the config


def test_overrides_win_field_by_field_over_the_tier():
    resolved = resolve(SETTINGS, Overrides(limits=Limits(tpm=5), models={"openai/gpt-4o": Limits(tpm=7),
                                                                          "openai/gpt-4o-mini": Limits(rpm=3)}),
                       "warned")
    assert resolved.account == Limits(rpm=600, tpm=5)
    assert resolved.models == {"openai/gpt-4o": Limits(rpm=50, tpm=7), "openai/gpt-4o-mini": Limits(rpm=3)}
    assert resolved.for_key(Limits(rpm=1000, concurrency=4)) == Limits(rpm=1000, concurrency=4)


def test_a_rate_limited_account_never_gets_more_than_the_reduced_limits():
    resolved = resolve(SETTINGS, Overrides(limits=Limits(rpm=9999, concurrency=3)), "rate_limited")
    assert resolved.account == Limits(rpm=10, tpm=100_000, concurrency=3)
    assert resolved.for_key(Limits()) == Limits(rpm=5) and resolved.for_key(Limits(rpm=2)) == Limits(rpm=2)
    assert resolved.models == {"openai/gpt-4o": Limits(rpm=50), "openai/o1": Limits(rpm=1)}


def test_nothing_configured_means_nothing_limited_but_a_rate_limited_account_still_is():
    assert not resolve(RateLimitSettings(), None, "active").any
    reduced = resolve(RateLimitSettings(), None, "rate_limited")
    assert reduced.any and reduced.account == Limits(rpm=10, tpm=20_000, concurrency=2)   # built-in default
    assert not resolve(RateLimitSettings.parse({"reduced": {}}), None, "rate_limited").any


def write(tmp_path, text: str) -> str:
    path = tmp_path / "alltoken.yaml"
    path.write_text(text)
    return str(path)


def test_the_config_file_section(tmp_path):
    settings = load_settings(write(tmp_path, """
rate_limits:
  default_tier: free
  tiers:
    free: {account: {rpm: 20}, models: {acme/x: {tpm: 1000}}}
  reduced: {account: {concurrency: 1}}
"""), env={}).rate_limits
    assert settings.default_tier == "free" and settings.tiers["free"].models["acme/x"] == Limits(tpm=1000)
    assert settings.reduced.account == Limits(concurrency=1)


@pytest.mark.parametrize("section, message", [
    ("{tiers: {free: {account: {rpm: 0}}}}", "rate_limits.tiers.free.account.rpm: a whole number of 1 or more"),
    ("{tiers: {free: {account: {rps: 5}}}}", "rate_limits.tiers.free.account: expected a mapping with any of"),
    ("{tiers: {free: {team: {}}}}", "rate_limits.tiers.free: expected a mapping with any of account, key, models"),
    ("{default_tier: gold, tiers: {free: {}}}", "rate_limits.default_tier: 'gold' is not one of the tiers (free)"),
    ("{tiers: {free: {models: [a]}}}", "rate_limits.tiers.free.models: expected a mapping of model id"),
    ("{window: 60}", "rate_limits: expected a mapping with tiers, default_tier and reduced"),
    ("{reduced: {key: {tpm: 2.5}}}", "rate_limits.reduced.key.tpm: a whole number of 1 or more"),
])
def test_a_bad_section_stops_the_start_with_a_reason(tmp_path, section, message):
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(write(tmp_path, f"rate_limits: {section}\n"), env={})


@pytest.mark.parametrize("seconds, shown", [(0, "0s"), (0.012, "12ms"), (0.9996, "1s"), (17.5, "17.5s"),
                                            (60, "1m0s"), (90.25, "1m30.25s"), (360, "6m0s")])
def test_reset_times_in_openais_format(seconds, shown):
    assert duration(seconds) == shown


async def test_overrides_are_stored_shown_and_announced(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "limits@example.com")
        key = (await create_key(session, account.id)).row
    async with sessions.begin() as session:
        wanted = overrides.changed(Overrides(), tier="free", rpm=30)
        wanted = overrides.changed(wanted, model="openai/gpt-4o", tpm=900)
        shown = await overrides.store(session, SETTINGS, "account", account.id, wanted)
        await overrides.store(session, SETTINGS, "key", key.id, overrides.changed(Overrides(), concurrency=2))
    assert shown["tier"] == "free" and shown["overrides"]["rpm"] == 30
    assert shown["limits"]["account"] == {"rpm": 30, "tpm": None, "concurrency": 2}
    assert shown["limits"]["models"] == {"openai/gpt-4o": {"rpm": None, "tpm": 900, "concurrency": None}}
    async with sessions() as session:
        stored = await overrides.stored_overrides(session, account.id, key.id)
        announced = (await session.scalars(select(ChangeEvent.entity_id))).all()
        key_view = await overrides.view(session, SETTINGS, "key", key.id)
    assert stored[account.id] == Overrides("free", Limits(rpm=30), {"openai/gpt-4o": Limits(tpm=900)})
    assert stored[key.id] == Overrides(limits=Limits(concurrency=2))
    assert {account.id, key.id} <= set(announced)
    assert key_view == {"key_id": key.id, "account_id": account.id,
                        "overrides": {"rpm": None, "tpm": None, "concurrency": 2},
                        "limits": {"rpm": None, "tpm": None, "concurrency": 2}}


async def test_clearing_removes_the_row_and_bad_changes_are_refused(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "clear@example.com")
        key = (await create_key(session, account.id)).row
        await overrides.store(session, SETTINGS, "account", account.id, overrides.changed(Overrides(), rpm=5))
    async with sessions.begin() as session:
        current = await overrides.current(session, "account", account.id)
        assert overrides.changed(current, clear=True, tpm=8) == Overrides(limits=Limits(tpm=8))
        await overrides.store(session, SETTINGS, "account", account.id, overrides.changed(current, clear=True))
        assert not (await session.scalars(select(RateLimitSetting))).all()
        with pytest.raises(ValueError, match="no tier 'gold' in the configuration"):
            await overrides.store(session, SETTINGS, "account", account.id, Overrides(tier="gold"))
        with pytest.raises(ValueError, match="tiers and model limits are an account's"):
            await overrides.store(session, SETTINGS, "key", key.id, Overrides(tier="free"))
        with pytest.raises(NotFound):
            await overrides.store(session, SETTINGS, "account", "acct_nobody", Overrides(limits=Limits(rpm=1)))
        with pytest.raises(NotFound):
            await overrides.view(session, SETTINGS, "key", "key_nobody")


async def test_the_cache_loaders_resolve_limits_once_per_load(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "loaded@example.com")
        new = await create_key(session, account.id)
        await overrides.store(session, SETTINGS, "account", account.id, Overrides(tier="free"))
        await overrides.store(session, SETTINGS, "key", new.row.id, Overrides(limits=Limits(tpm=77)))
    loaders = Loaders(sessions, SETTINGS)
    key, loaded = await loaders.key(hash_key(new.secret))
    assert key.rate_limits == Limits(tpm=77) and loaded.rate_limits.tier == "free"
    assert loaded.rate_limits.for_key(key.rate_limits) == Limits(tpm=77)
    assert (await loaders.account(account.id)).rate_limits.account == Limits(rpm=20, concurrency=2)
