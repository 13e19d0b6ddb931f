"""A team admin could rotate the owner's key through the management API, receive the new secret and act as
the owner (issue 14, defect 4). Now a key's secret is its holder's (or an owner's, for members below them),
no one acts on a member above them, and who the owners are changes only by an owner's console session with a
freshly confirmed password (accounts/roles.py)."""

import httpx
import pytest

from .session_helpers import code_of, console_team, member_key


@pytest.fixture
def team(demo_gateway):
    """A team with an owner, an admin and a developer, each signed in and with a key of their own."""
    team_id, people = console_team(demo_gateway, admin="admin", dev="developer")
    keys = {name: member_key(demo_gateway, team_id, person) for name, person in people.items()}
    return team_id, people, keys


def key_works(gateway, secret: str) -> bool:
    return httpx.get(gateway.url + "/v1/key", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_an_admin_cannot_rotate_or_revoke_the_owners_key_and_so_cannot_become_the_owner(demo_gateway, team):
    team_id, people, keys = team
    owners = keys["owner"]["id"]
    for path in (f"/account/keys/{owners}/rotate", f"/account/keys/{owners}/revoke"):
        by_key = demo_gateway.api("POST", path, keys["admin"]["key"], json={"grace_seconds": 0})
        by_session = people["admin"].send("POST", path, {"grace_seconds": 0})
        assert (by_key.status_code, code_of(by_key)) == (403, "not_key_holder"), by_key.text
        assert (by_session.status_code, code_of(by_session)) == (403, "not_key_holder"), by_session.text
    everything = demo_gateway.api("POST", "/account/keys/revoke-all", keys["admin"]["key"])
    assert (everything.status_code, code_of(everything)) == (403, "role_forbidden")
    assert key_works(demo_gateway, keys["owner"]["key"])
    shown = demo_gateway.api("GET", f"/account/keys/{owners}", keys["owner"]["key"]).json()
    assert shown["rotated_at"] is None and shown["revoked_at"] is None


def test_a_secret_is_its_holders_and_an_owners_for_members_below_them(demo_gateway, team):
    team_id, people, keys = team
    devs = keys["dev"]["id"]
    refused = demo_gateway.api("POST", f"/account/keys/{devs}/rotate", keys["admin"]["key"], json={"grace_seconds": 0})
    assert (refused.status_code, code_of(refused)) == (403, "not_key_holder")       # an admin: no secrets of others
    own = demo_gateway.api("POST", f"/account/keys/{devs}/rotate", keys["dev"]["key"], json={"grace_seconds": 0})
    assert own.status_code == 200 and key_works(demo_gateway, own.json()["key"])
    by_owner = people["owner"].send("POST", f"/account/keys/{keys['admin']['id']}/rotate", {"grace_seconds": 0})
    assert by_owner.status_code == 200 and key_works(demo_gateway, by_owner.json()["key"])
    second_owner = member_key(demo_gateway, team_id, people["admin"])
    demo_gateway.cli("teams", "set-role", "--team", team_id, "--email", people["admin"].email, "--role", "owner")
    refused = people["owner"].send("POST", f"/account/keys/{second_owner['id']}/rotate", {"grace_seconds": 0})
    assert (refused.status_code, code_of(refused)) == (403, "not_key_holder")       # another owner's is theirs
    revoked = demo_gateway.api("POST", f"/account/keys/{devs}/revoke", keys["owner"]["key"])
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]              # revoking grants nothing


def test_no_one_acts_on_an_owner_but_an_owner(demo_gateway, team):
    team_id, people, keys = team
    admin, owner_id, dev_id = people["admin"], people["owner"].user_id, people["dev"].user_id
    for method, path, body in (("PATCH", f"/team/members/{owner_id}", {"role": "admin"}),
                               ("PATCH", f"/team/members/{owner_id}", {"limit_usd": "0.01"}),
                               ("DELETE", f"/team/members/{owner_id}", None),
                               ("PATCH", f"/team/members/{dev_id}", {"role": "owner"}),
                               ("POST", "/team/invitations", {"email": "boss@example.com", "role": "owner"})):
        with_key = demo_gateway.api(method, path, keys["admin"]["key"], json=body)
        for response in (admin.send(method, path, body), with_key):
            assert (response.status_code, code_of(response)) == (403, "owner_only"), (method, path, response.text)
    members = {m["user_id"]: m["role"] for m in admin.get("/team").json()["members"]}
    assert members[owner_id] == "owner" and members[dev_id] == "developer"


def test_owners_change_only_from_an_owners_session_with_the_password_just_confirmed(demo_gateway, team):
    team_id, people, keys = team
    owner, dev_id = people["owner"], people["dev"].user_id
    promote = ("PATCH", f"/team/members/{dev_id}", {"role": "owner"})
    with_key = demo_gateway.api(*promote[:2], keys["owner"]["key"], json=promote[2])
    assert (with_key.status_code, code_of(with_key)) == (403, "session_required")   # a key never makes an owner
    invite = demo_gateway.api("POST", "/team/invitations", keys["owner"]["key"],
                              json={"email": "boss@example.com", "role": "owner"})
    assert (invite.status_code, code_of(invite)) == (403, "session_required")
    unconfirmed = owner.send(*promote)
    assert (unconfirmed.status_code, code_of(unconfirmed)) == (403, "reauthentication_required")
    assert owner.reauthenticate().send(*promote).json()["role"] == "owner"
    assert owner.send("PATCH", f"/team/members/{dev_id}", {"role": "developer"}).json()["role"] == "developer"
    limit = demo_gateway.api("PATCH", f"/team/members/{dev_id}", keys["owner"]["key"], json={"limit_usd": "0.5"})
    assert limit.status_code == 200 and limit.json()["limit_usd"] == "0.500000"     # the rest: keys too
