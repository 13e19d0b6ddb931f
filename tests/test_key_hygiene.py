"""Key hygiene: rotation with a grace period, revoke-all, IP allow-lists, last use (time and address),
and the account's own key endpoints, which never reach another account's keys."""

import time
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from alltoken.accounts.key_hygiene import describe_key, get_key, revoke_all_keys, rotate_key
from alltoken.accounts.key_use import KeyUseLog
from alltoken.accounts.keys import hash_key
from alltoken.accounts.networks import allows, parse_networks
from alltoken.accounts.service import create_account, create_key, revoke_key
from alltoken.analytics.recorder import UsageRecorder
from alltoken.errors import Conflict, NotFound
from alltoken.runtime.loaders import Loaders
from alltoken.store.db import session_factory
from alltoken.store.models import ApiKey

from .harness import CliError, everywhere, gateway_pair, wait_for
from .test_storage import FlakySessions

CHAT = {"model": "alltoken/demo", "messages": [{"role": "user", "content": "hi"}]}


def test_ip_allow_lists_match_ipv4_and_ipv6_networks():
    networks = tuple(parse_networks(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]))
    assert allows(networks, "10.1.2.3") and allows(networks, "192.0.2.7") and allows(networks, "2001:db8::1")
    assert allows(networks, "::ffff:10.9.9.9")   # an IPv4 client seen through an IPv6 socket
    assert not allows(networks, "127.0.0.1") and not allows(networks, "192.0.2.8")
    assert not allows(networks, "2001:db9::1") and not allows(networks, None) and not allows(networks, "testclient")
    for bad in (["10.0.0.1/8"], ["not-an-ip"], ["10.0.0.0/33"], []):
        with pytest.raises(ValueError):
            parse_networks(bad)


async def test_rotation_keeps_the_key_and_accepts_the_old_secret_until_the_grace_ends(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "rotate@example.com")
        new = await create_key(session, account.id, name="ci", models=["a/b"], allowed_ips=["10.0.0.0/8"])
    async with sessions.begin() as session:
        rotated = await rotate_key(session, await get_key(session, new.row.id), 60)
    assert rotated.secret != new.secret and rotated.row.id == new.row.id
    loaders = Loaders(sessions)
    by_new, _ = await loaders.key(hash_key(rotated.secret))
    by_old, _ = await loaders.key(hash_key(new.secret))
    assert by_new == by_old and by_new.retired_hash == hash_key(new.secret)
    assert (by_new.retired_until - rotated.row.rotated_at).total_seconds() == 60
    assert by_new.models == {"a/b"} and [str(n) for n in by_new.networks] == ["10.0.0.0/8"]
    async with sessions.begin() as session:   # a second rotation retires the first new secret, and the old one
        again = await rotate_key(session, await get_key(session, new.row.id), 0)
    assert await loaders.key(hash_key(new.secret)) is None
    assert (await loaders.key(hash_key(rotated.secret)))[0].retired_hash == hash_key(rotated.secret)
    shown = describe_key(again.row)
    assert shown["allowed_ips"] == ["10.0.0.0/8"] and shown["rotated_at"] and shown["previous_secret_valid_until"]
    assert again.secret not in str(shown) and hash_key(again.secret) not in str(shown)
    async with sessions.begin() as session:
        await revoke_key(session, new.row.id)
        with pytest.raises(Conflict, match="revoked"):
            await rotate_key(session, await get_key(session, new.row.id), 60)
        with pytest.raises(NotFound):
            await get_key(session, new.row.id, account_id="acct_someone_else")


async def test_revoke_all_revokes_every_live_key_of_one_account_only(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "leaked@example.com")
        other = await create_account(session, "bystander@example.com")
        ids = [(await create_key(session, account.id)).row.id for _ in range(3)]
        bystander = (await create_key(session, other.id)).row.id
    async with sessions.begin() as session:
        assert await revoke_all_keys(session, account.id, keep=ids[0]) == sorted(ids[1:])
    async with sessions.begin() as session:
        assert await revoke_all_keys(session, account.id) == [ids[0]]
        assert await revoke_all_keys(session, account.id) == []
    async with sessions() as session:
        revoked = dict((await session.execute(select(ApiKey.id, ApiKey.revoked_at))).all())
    assert all(revoked[i] for i in ids) and revoked[bystander] is None


async def test_last_use_is_written_with_the_usage_batch_once_per_key_and_kept_on_failure(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "used@example.com")
        key = (await create_key(session, account.id)).row
    uses = KeyUseLog()
    recorder = UsageRecorder(FlakySessions(sessions), interval=60, key_uses=uses)
    uses.note(key.id, "10.0.0.1")
    uses.note(key.id, "2001:db8::5")   # the last use wins
    assert uses.waiting == 1
    assert not await recorder.flush()
    assert uses.waiting == 1           # the failed write kept it
    assert await recorder.flush() and uses.waiting == 0
    async with sessions() as session:
        row = await session.get(ApiKey, key.id)
    assert row.last_used_address == "2001:db8::5" and row.last_used_at.tzinfo is not None


# End to end, with two server processes on one database.

@pytest.fixture(scope="module")
def gateways(tmp_path_factory):
    with gateway_pair(tmp_path_factory.mktemp("keys")) as pair:
        yield pair


def status(gateway, secret) -> int:
    return httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                      json=CHAT, timeout=10).status_code


def error(gateway, secret) -> dict:
    return httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                      json=CHAT, timeout=10).json()["error"]




def new_account(gateway, **key_options) -> tuple[str, str, str]:
    """An account with credit and a key: (account id, key id, secret)."""
    account, _ = gateway.new_key()
    extra = [part for name, value in key_options.items() for part in (f"--{name.replace('_', '-')}", value)]
    created = gateway.cli("keys", "create", "--account", account, *extra)
    return account, created["id"], created["key"]


def test_a_rotated_key_keeps_its_old_secret_for_the_grace_period_then_refuses_it(gateways):
    first, second = gateways
    account, key_id, old = new_account(first)
    assert status(first, old) == 200 and status(second, old) == 200   # cached in both processes
    rotated = first.cli("keys", "rotate", key_id, "--grace-seconds", "5")
    new, until = rotated["key"], datetime.fromisoformat(rotated["previous_secret_valid_until"])
    assert rotated["id"] == key_id and new != old
    assert everywhere(gateways, lambda g: status(g, new) == 200)
    assert datetime.now(UTC) < until and status(first, old) == 200 and status(second, old) == 200
    time.sleep(max((until - datetime.now(UTC)).total_seconds(), 0) + 0.05)
    for gateway in gateways:
        refused = httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {old}"},
                             json=CHAT)
        assert refused.status_code == 401
        assert "was rotated" in refused.json()["error"]["message"] and "use the new secret" in \
            refused.json()["error"]["message"]
        assert status(gateway, new) == 200
    shown = first.cli("keys", "show", key_id)
    assert shown["rotated_at"] and shown["previous_secret_valid_until"] == rotated["previous_secret_valid_until"]
    rotation = [e for e in first.cli("audit-log", "--target", key_id) if e["action"] == "keys.rotate"]
    assert len(rotation) == 1 and rotation[0]["details"] == {"key_id": key_id, "grace_seconds": 5}
    assert new not in str(first.cli("audit-log", "--target", key_id))


def test_the_default_grace_comes_from_the_configuration(gateways):
    first, _ = gateways
    _, key_id, _ = new_account(first)
    rotated = first.cli("keys", "rotate", key_id)
    valid = datetime.fromisoformat(rotated["previous_secret_valid_until"]) - datetime.now(UTC)
    assert 86000 < valid.total_seconds() <= 86400
    with pytest.raises(CliError, match="no key key_missing"):
        first.cli("keys", "rotate", "key_missing")


def test_revoke_all_refuses_every_key_of_the_account_in_every_process(gateways):
    first, second = gateways
    account, _, one = new_account(first)
    two = first.cli("keys", "create", "--account", account)["key"]
    _, _, bystander = new_account(first)
    assert all(status(g, s) == 200 for g in gateways for s in (one, two, bystander))
    result = first.cli("keys", "revoke-all", "--account", account)
    assert len(result["revoked"]) == 3   # the one new_key made, and these two
    assert everywhere(gateways, lambda g: status(g, one) == 401 and status(g, two) == 401)
    assert "revoked" in error(second, two)["message"] and status(second, bystander) == 200
    entries = first.cli("audit-log", "--target", account)
    assert entries[-1]["action"] == "keys.revoke-all" and entries[-1]["actor"].startswith("cli:")


def test_an_ip_allow_list_admits_its_networks_only(gateways):
    first, _ = gateways
    _, _, local = new_account(first, ips="127.0.0.1/32")
    _, _, remote = new_account(first, ips="10.0.0.0/8,2001:db8::/32")
    _, _, ipv6 = new_account(first, ips="::1")
    assert status(first, local) == 200
    for secret in (remote, ipv6):
        refused = error(first, secret)
        assert refused["code"] == "ip_not_allowed" and "may not be used from 127.0.0.1" in refused["message"]
        assert first.api("GET", "/account/keys", secret).status_code == 403   # the management API too
    with pytest.raises(CliError, match="not an IP network in CIDR notation: '10.0.0.1/8'"):
        first.cli("keys", "create", "--account", new_account(first)[0], "--ips", "10.0.0.1/8")


def test_last_use_time_and_address_are_recorded(gateways):
    first, second = gateways
    _, key_id, secret = new_account(first)
    shown = first.cli("keys", "show", key_id)
    assert shown["last_used_at"] is None and shown["last_used_address"] is None
    before = datetime.now(UTC)
    assert status(second, secret) == 200
    used = wait_for(lambda: first.cli("keys", "show", key_id)["last_used_at"])
    assert used and datetime.fromisoformat(used) >= before
    assert first.cli("keys", "show", key_id)["last_used_address"] == "127.0.0.1"
    assert secret not in str(first.cli("keys", "show", key_id))


def test_an_account_manages_its_own_keys_and_never_another_accounts(gateways):
    first, second = gateways
    account, key_id, secret = new_account(first)
    other_account, other_id, other_secret = new_account(first)

    created = first.api("POST", "/account/keys", secret, json={"name": "deploy", "models": ["alltoken/demo"],
                                                                "allowed_ips": ["127.0.0.0/8"]})
    assert created.status_code == 201, created.text
    made = created.json()
    assert made["account_id"] == account and made["allowed_ips"] == ["127.0.0.0/8"]
    assert status(second, made["key"]) == 200
    listing = first.api("GET", "/account/keys", secret).json()
    assert {k["account_id"] for k in listing} == {account} and made["id"] in {k["id"] for k in listing}
    assert all("key" not in k for k in listing) and made["key"] not in str(listing)
    assert other_id not in str(listing)

    for method, path in (("GET", f"/account/keys/{other_id}"), ("POST", f"/account/keys/{other_id}/rotate"),
                         ("POST", f"/account/keys/{other_id}/revoke")):
        response = first.api(method, path, secret)
        assert response.status_code == 404 and other_id in response.json()["error"]["message"]
    revoked_all = first.api("POST", "/account/keys/revoke-all", secret, json={"keep_current": True}).json()
    assert key_id not in revoked_all["revoked"] and made["id"] in revoked_all["revoked"]
    assert status(first, other_secret) == 200 and status(first, secret) == 200
    assert everywhere(gateways, lambda g: status(g, made["key"]) == 401)

    restricted = first.api("POST", "/account/keys", secret, json={"limit_usd": "1"}).json()["key"]
    refused = first.api("POST", "/account/keys", restricted, json={})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "key_management_not_allowed"
    assert first.api("POST", f"/account/keys/{key_id}/revoke", restricted).status_code == 403
    restricted_id = next(k["id"] for k in first.api("GET", "/account/keys", secret).json()
                         if k["limit_usd"] and not k["revoked_at"])
    itself = first.api("POST", f"/account/keys/{restricted_id}/rotate", restricted, json={"grace_seconds": 0})
    assert itself.status_code == 200 and itself.json()["limit_usd"] == "1.000000"   # a key may rotate itself
    assert "was rotated" in error(first, restricted)["message"]
    assert status(first, itself.json()["key"]) == 200

    revoked = first.api("POST", f"/account/keys/{key_id}/revoke", secret)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert status(first, secret) == 401   # at once, in the process that revoked it
    actions = {e["action"] for e in first.cli("audit-log") if e["actor"] in (f"key:{key_id}", f"key:{restricted_id}")}
    assert actions == {"keys.create", "keys.revoke-all", "keys.rotate", "keys.revoke"}
    theirs = first.api("GET", "/account/keys", other_secret).json()
    assert other_id in {k["id"] for k in theirs} and {k["account_id"] for k in theirs} == {other_account}
    assert not any(k["revoked_at"] for k in theirs)


def test_admins_manage_any_accounts_keys(gateways, admin_key):
    first, second = gateways
    account, key_id, secret = new_account(first)
    listing = first.api("GET", f"/admin/accounts/{account}/keys", admin_key).json()
    assert {k["id"] for k in listing} >= {key_id}
    assert first.api("GET", f"/admin/keys/{key_id}", admin_key).json()["account_id"] == account
    created = first.api("POST", f"/admin/accounts/{account}/keys", admin_key,
                  json={"expires_at": "2099-01-01T00:00:00Z"}).json()
    assert created["expires_at"].startswith("2099-01-01") and status(second, created["key"]) == 200
    naive = first.api("POST", f"/admin/accounts/{account}/keys", admin_key, json={"expires_at": "2099-01-01T00:00"})
    assert naive.status_code == 400
    rotated = first.api("POST", f"/admin/keys/{key_id}/rotate", admin_key, json={"grace_seconds": 0}).json()
    assert everywhere(gateways, lambda g: status(g, secret) == 401 and status(g, rotated["key"]) == 200)
    assert first.api("POST", f"/admin/keys/{created['id']}/revoke", admin_key).json()["revoked_at"]
    revoked = first.api("POST", f"/admin/accounts/{account}/keys/revoke-all", admin_key).json()
    assert set(revoked["revoked"]) >= {key_id}
    assert everywhere(gateways, lambda g: status(g, rotated["key"]) == 401)
    assert first.api("GET", "/admin/keys/key_missing", admin_key).status_code == 404
    assert first.api("GET", f"/admin/accounts/{account}/keys", secret).status_code == 401
    _, _, user = new_account(first)
    assert first.api("GET", f"/admin/accounts/{account}/keys", user).json()["error"]["code"] == "admin_only"
    audited = [e["action"] for e in first.cli("audit-log") if e["address"] and e["target"] in
               (account, key_id, created["id"])]
    assert audited == ["keys.create", "keys.rotate", "keys.revoke", "keys.revoke-all"]
