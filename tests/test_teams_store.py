"""Teams in the database, on SQLite and PostgreSQL: members, roles, limits, keys, spend and migrations."""

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command

from alltoken.accounts.cache import AuthCache
from alltoken.accounts.invitations import invite
from alltoken.accounts.keys import hash_key
from alltoken.accounts.service import create_account, create_key
from alltoken.accounts.teams import (
    NotAllowed,
    add_member,
    create_team,
    member_spent_since,
    members,
    remove_member,
    update_member,
)
from alltoken.accounts.users import create_user
from alltoken.analytics.recorder import UsageRecorder
from alltoken.billing.reservations import LocalCreditBook
from alltoken.errors import Conflict, NotFound
from alltoken.runtime.loaders import Loaders
from alltoken.runtime.sync import CacheSync
from alltoken.store.changes import changes_after, latest_change
from alltoken.store.db import session_factory
from alltoken.store.migrate import alembic_config
from alltoken.store.models import Account, ApiKey, TeamMember, UsageRecord, User

from .test_storage import _event


async def _team(sessions) -> tuple[str, dict[str, str]]:
    """A team owned by alice, with bob (developer, 5 USD a day) and carol (admin); and dave, no member."""
    async with sessions.begin() as session:
        users = {name: (await create_user(session, f"{name}@example.com")).user
                 for name in ("alice", "bob", "carol", "dave")}
        team, _ = await create_team(session, "Acme", "Alice@Example.com")
        await add_member(session, team.id, "bob@example.com", "developer", "5", "daily")
        await add_member(session, team.id, "carol@example.com", "admin")
    return team.id, {name: user.id for name, user in users.items()}


async def test_a_team_has_members_with_roles_and_limits(engine):
    sessions = session_factory(engine)
    team_id, ids = await _team(sessions)
    async with sessions() as session:
        team = await session.get(Account, team_id)
        listed = [(user.email, row.role, row.limit_units, row.limit_reset)
                  for row, user in await members(session, team_id)]
        alice = await session.get(User, ids["alice"])
        personal = await session.get(Account, alice.account_id)
    assert team.kind == "team" and team.name == "Acme" and team.email.startswith("alice+team-")
    assert personal.kind == "personal" and personal.email == "alice@example.com"
    assert listed == [("alice@example.com", "owner", None, None),
                      ("bob@example.com", "developer", 5 * 10**12, "daily"),
                      ("carol@example.com", "admin", None, None)]


async def test_bad_member_changes_are_refused_and_change_nothing(engine):
    sessions = session_factory(engine)
    team_id, ids = await _team(sessions)
    cases = [
        (add_member, (team_id, "nobody@example.com", "developer"), {}, NotFound, "no user with email"),
        (add_member, (team_id, "bob@example.com", "viewer"), {}, Conflict, "already a member"),
        (add_member, (team_id, "dave@example.com", "boss"), {}, ValueError, "unknown role 'boss'"),
        (add_member, (team_id, "dave@example.com", "viewer", "-1"), {}, ValueError, "positive USD amount"),
        (add_member, (team_id, "dave@example.com", "viewer", None, "daily"), {}, ValueError, "needs a limit"),
        (invite, (team_id, "dave@example.com", "owner", None, None), {"invited_by": "user:x", "acting_role": "admin"},
         NotAllowed, "owner"),
        (update_member, (team_id, ids["dave"], {"role": "viewer"}), {}, NotFound, "not a member"),
        (update_member, (team_id, ids["alice"], {"role": "admin"}), {}, Conflict, "a team needs an owner"),
        (update_member, (team_id, ids["alice"], {"limit_usd": "1"}), {"acting_role": "admin"}, NotAllowed, "owner"),
        (update_member, (team_id, ids["bob"], {"limit_usd": "0.1234567890123"}), {}, ValueError, "12 decimal"),
        (remove_member, (team_id, ids["alice"]), {}, Conflict, "a team needs an owner"),
        (remove_member, (team_id, ids["alice"]), {"acting_role": "admin"}, NotAllowed, "owner"),
    ]
    for action, args, kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            async with sessions.begin() as session:
                await action(session, *args, **kwargs)
    async with sessions() as session:
        personal = (await session.get(User, ids["dave"])).account_id
        with pytest.raises(NotFound, match="personal account, not a team"):
            await add_member(session, personal, "bob@example.com", "viewer")
        assert len(await members(session, team_id)) == 3


async def test_member_changes_reach_every_process_through_the_member_keys(engine):
    sessions = session_factory(engine)
    team_id, ids = await _team(sessions)
    async with sessions.begin() as session:
        bob_key = await create_key(session, team_id, user_id=ids["bob"])
        old_key = await create_key(session, team_id, user_id=ids["bob"])
        team_key = await create_key(session, team_id)
        with pytest.raises(NotFound, match="not a member"):
            await create_key(session, team_id, user_id=ids["dave"])
    async with sessions.begin() as session:
        (await session.get(ApiKey, old_key.row.id)).revoked_at = datetime.now(UTC)
    loaders = Loaders(sessions)
    auth = AuthCache(loaders.key, loaders.account)
    sync = CacheSync(sessions, LocalCreditBook(loaders.balance, loaders.ledger_entries), auth, interval=60)
    await sync.start()
    key, _ = await auth.lookup(hash_key(bob_key.secret))
    assert (key.member.user_id, key.member.role, key.member.limit_units, key.member.limit_reset) == \
        (ids["bob"], "developer", 5 * 10**12, "daily")
    assert (await auth.lookup(hash_key(team_key.secret)))[0].member is None

    async with sessions() as session:
        before = await latest_change(session)
    async with sessions.begin() as session:  # what another process (the CLI, the management API) does
        await update_member(session, team_id, ids["bob"], {"limit_usd": "2", "role": "viewer"})
    async with sessions() as session:
        assert await changes_after(session, before) == [(before + 1, "key", bob_key.row.id)]  # live keys only
    await sync.poll()
    key, _ = await auth.lookup(hash_key(bob_key.secret))
    assert (key.member.role, key.member.limit_units, key.member.limit_reset) == ("viewer", 2 * 10**12, "daily")

    async with sessions.begin() as session:
        assert await remove_member(session, team_id, ids["bob"], acting_role="admin") == [bob_key.row.id]
    await sync.poll()
    assert (await auth.lookup(hash_key(bob_key.secret)))[0].revoked
    await sync.close()


async def test_a_key_whose_membership_is_gone_loads_as_revoked(engine):
    sessions = session_factory(engine)
    team_id, ids = await _team(sessions)
    async with sessions.begin() as session:
        new = await create_key(session, team_id, user_id=ids["carol"])
    async with sessions.begin() as session:  # a membership row deleted by hand, keys left alone
        await session.delete(await session.get(TeamMember, (team_id, ids["carol"])))
    key, _ = await Loaders(sessions).key(hash_key(new.secret))
    assert key.revoked and key.member is None


async def test_member_spend_counts_the_member_keys_in_that_team_since_a_time(engine):
    sessions = session_factory(engine)
    team_id, ids = await _team(sessions)
    async with sessions.begin() as session:
        other = await create_account(session, "other@example.com")
    now = datetime.now(UTC)
    recorder = UsageRecorder(sessions, interval=60)
    for number, (account, user, cost, age) in enumerate([
            (team_id, ids["bob"], 100, timedelta(0)),           # counts
            (team_id, ids["bob"], 20, timedelta(minutes=5)),    # counts
            (team_id, ids["bob"], 7000, timedelta(days=1)),     # before `since`
            (team_id, ids["carol"], 300, timedelta(0)),         # another member
            (other.id, ids["bob"], 4000, timedelta(0)),         # another account
            (team_id, None, 50000, timedelta(0))]):             # the team's own key
        event = _event(f"gen-m{number}", account, None, cost)
        event.user_id, event.created_at = user, now - age
        recorder.record(event)
    assert await recorder.flush()
    async with sessions() as session:
        assert await member_spent_since(session, team_id, ids["bob"], now - timedelta(hours=1)) == 120
        assert await member_spent_since(session, team_id, ids["bob"], now - timedelta(days=2)) == 7120
        assert (await session.get(UsageRecord, "gen-m0")).user_id == ids["bob"]


async def test_the_teams_migration_downgrades_and_upgrades_again(engine):
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: _alembic(c, command.downgrade, "0008"))
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: _alembic(c, command.upgrade, "head"))
    sessions = session_factory(engine)
    team_id, _ = await _team(sessions)
    async with sessions() as session:
        assert (await session.get(Account, team_id)).kind == "team"


def _alembic(connection, action, target):
    config = alembic_config()
    config.attributes["connection"] = connection
    action(config, target)
