"""The team management API: members read, owners and admins change, nobody else reaches the team."""

import sqlite3
import time
from decimal import Decimal

import httpx
import pytest

from .harness import wait_for
from .team_helpers import key_info, member_key, new_team
from .test_team_budgets import COST, post, within_bounds


@pytest.fixture
def team(openai_gateway):
    return new_team(openai_gateway, usd="2", admin="admin", dev="developer", viewer="viewer", billing="billing")


@pytest.fixture
def keys(openai_gateway, team):
    return {name: member_key(openai_gateway, team, name) for name in ("owner", "admin", "dev", "viewer", "billing")}


@pytest.fixture(scope="module")
def small_team(openai_gateway):
    """An owner and a developer, and their keys; for tests that change nothing."""
    team = new_team(openai_gateway, usd="0", dev="developer")
    return team, {name: member_key(openai_gateway, team, name) for name in ("owner", "dev")}


def newcomer(gateway, name: str = "new") -> dict:
    return gateway.cli("users", "create", "--email", f"{name}-{time.monotonic_ns()}@example.com")


def test_every_member_reads_the_team_with_roles_limits_and_spend(openai_gateway, upstream, team, keys):
    openai_gateway.cli("teams", "set-limit", "--team", team.id, "--email", team.emails["dev"],
                       "--limit-usd", "0.5", "--limit-reset", "daily")
    within_bounds(upstream, 1)
    assert post(openai_gateway, keys["dev"]).status_code == 200
    for name in ("viewer", "billing", "dev"):
        response = openai_gateway.api("GET", "/team", keys[name])
        assert response.status_code == 200, response.text
    view = response.json()
    assert view["id"] == team.id and Decimal(view["balance_usd"]) == 2 - COST
    by_name = {name: next(m for m in view["members"] if m["user_id"] == user_id)
               for name, user_id in team.user_ids.items()}
    assert {name: m["role"] for name, m in by_name.items()} == {
        "owner": "owner", "admin": "admin", "dev": "developer", "viewer": "viewer", "billing": "billing"}
    dev = by_name["dev"]
    assert (dev["email"], dev["limit_usd"], dev["limit_reset"]) == (team.emails["dev"], "0.500000", "daily")
    assert Decimal(dev["spent_usd"]) == COST and Decimal(dev["remaining_usd"]) == Decimal("0.5") - COST
    assert dev["limit_resets_at"] and by_name["owner"]["limit_usd"] is None
    assert "/team/members/{user_id}" in httpx.get(openai_gateway.url + "/api/openapi.json").json()["paths"]


def test_only_owners_and_admins_change_members_and_only_owners_touch_owners(openai_gateway, team, keys):
    user = newcomer(openai_gateway)
    body = {"email": user["email"], "role": "developer", "limit_usd": "0.25", "limit_reset": "weekly"}
    for name in ("dev", "viewer", "billing"):
        refused = openai_gateway.api("POST", "/team/members", keys[name], json=body)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "team_admin_only"
        assert openai_gateway.api("PATCH", f"/team/members/{team.user_ids['dev']}", keys[name],
                   json={"role": "admin"}).status_code == 403
        assert openai_gateway.api("DELETE", f"/team/members/{team.user_ids['dev']}", keys[name]).status_code == 403
    invited = openai_gateway.api("POST", "/team/members", keys["admin"], json=body)
    assert invited.status_code == 202, invited.text          # an invitation: people join by accepting one
    assert (invited.json()["email"], invited.json()["limit_usd"], invited.json()["limit_reset"]) == \
        (user["email"], "0.250000", "weekly")
    openai_gateway.cli("teams", "add-member", "--team", team.id, "--email", user["email"], "--role", "developer")
    owner_id = team.user_ids["owner"]
    for method, path, payload in (("POST", "/team/members", {"email": newcomer(openai_gateway)["email"],
                                                             "role": "owner"}),
                                  ("PATCH", f"/team/members/{owner_id}", {"limit_usd": "1"}),
                                  ("PATCH", f"/team/members/{user['id']}", {"role": "owner"}),
                                  ("DELETE", f"/team/members/{owner_id}", None)):
        refused = openai_gateway.api(method, path, keys["admin"], json=payload)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "owner_only", (method, path)
    changed = openai_gateway.api("PATCH", f"/team/members/{user['id']}", keys["owner"],
                  json={"role": "admin", "limit_usd": None})
    assert (changed.json()["role"], changed.json()["limit_usd"], changed.json()["limit_reset"]) == ("admin", None, None)
    openai_gateway.cli("teams", "set-role", "--team", team.id, "--email", team.emails["admin"], "--role", "owner")
    # a role read afresh: the new owner may now manage the first one
    assert openai_gateway.api("PATCH", f"/team/members/{owner_id}", keys["admin"],
               json={"limit_usd": "3"}).json()["limit_usd"] == "3.000000"


@pytest.mark.parametrize("method,path,body,status,fragment", [
    ("POST", "/team/members", {"email": "EMAIL", "role": "boss"}, 400, "role"),
    ("POST", "/team/members", {"email": "EMAIL", "role": "developer", "limit_usd": "-1"}, 400, "positive USD"),
    ("POST", "/team/members", {"email": "EMAIL", "role": "developer", "limit_usd": 1.5}, 400, "limit_usd"),
    ("POST", "/team/members", {"email": "EMAIL", "role": "developer", "limit_usd": "abc"}, 400, "not a decimal"),
    ("POST", "/team/members", {"email": "EMAIL", "role": "developer", "limit_reset": "daily"}, 400, "needs a limit"),
    ("POST", "/team/members", {"email": "EMAIL", "role": "developer", "limit_usd": "1", "limit_reset": "hourly"},
     400, "limit_reset"),
    ("POST", "/team/members", {"role": "developer"}, 400, "email"),
    ("POST", "/team/members", {"email": "MEMBER", "role": "viewer"}, 409, "already a member"),
    ("PATCH", "/team/members/user_nope", {"role": "viewer"}, 404, "not a member"),
    ("PATCH", "/team/members/DEV", {}, 400, "nothing to change"),
    ("PATCH", "/team/members/DEV", {"role": None}, 400, "role"),
    ("PATCH", "/team/members/DEV", {"limit_usd": "0"}, 400, "positive USD"),
    ("PATCH", "/team/members/OWNER", {"role": "admin"}, 403, "an API key cannot do it"),
    ("DELETE", "/team/members/OWNER", None, 403, "an API key cannot do it"),
    ("DELETE", "/team/members/user_nope", None, 404, "not a member"),
])
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(openai_gateway, small_team, method, path, body, status,
                                                        fragment):
    team, keys = small_team
    before = openai_gateway.api("GET", "/team", keys["owner"]).json()
    fill = {"EMAIL": newcomer(openai_gateway)["email"], "MEMBER": team.emails["dev"]}
    if isinstance(body, dict) and body.get("email") in fill:
        body = {**body, "email": fill[body["email"]]}
    path = path.replace("DEV", team.user_ids["dev"]).replace("OWNER", team.user_ids["owner"])
    response = openai_gateway.api(method, path, keys["owner"], json=body)
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]["message"]
    assert openai_gateway.api("GET", "/team", keys["owner"]).json()["members"] == before["members"]


def test_another_accounts_key_never_reads_or_changes_the_team(openai_gateway, team, keys):
    other = new_team(openai_gateway, usd="0")
    other_owner = member_key(openai_gateway, other, "owner")
    _, personal_key = openai_gateway.new_key()
    seen = openai_gateway.api("GET", "/team", other_owner).json()
    assert seen["id"] == other.id and team.user_ids["dev"] not in {m["user_id"] for m in seen["members"]}
    dev = team.user_ids["dev"]
    for key in (other_owner, personal_key):
        assert openai_gateway.api("PATCH", f"/team/members/{dev}", key, json={"role": "owner"}).status_code == 404
        assert openai_gateway.api("DELETE", f"/team/members/{dev}", key).status_code == 404
    personal = openai_gateway.api("GET", "/team", personal_key)
    assert personal.status_code == 404 and "personal account, not a team" in personal.json()["error"]["message"]
    assert httpx.get(openai_gateway.url + "/api/team").status_code == 401
    mine = openai_gateway.api("GET", "/team", keys["owner"]).json()
    assert next(m for m in mine["members"] if m["user_id"] == dev)["role"] == "developer"


def test_the_team_account_key_manages_and_a_removal_revokes_the_member_keys(openai_gateway, team, keys):
    account_key = openai_gateway.cli("keys", "create", "--account", team.id)["key"]
    dev = team.user_ids["dev"]
    changed = openai_gateway.api("PATCH", f"/team/members/{dev}", account_key, json={"limit_usd": "0.000001"})
    assert changed.status_code == 200 and changed.json()["limit_usd"] == "0.000001"
    assert wait_for(lambda: (key_info(openai_gateway, keys["dev"])["member"] or {}).get("limit_usd") == "0.000001",
                    timeout=1.5)
    assert post(openai_gateway, keys["dev"]).json()["error"]["code"] == "member_limit_reached"
    removed = openai_gateway.api("DELETE", f"/team/members/{dev}", account_key)
    assert removed.status_code == 200
    assert removed.json()["revoked_keys"] == key_ids_of(openai_gateway, dev)
    assert wait_for(lambda: post(openai_gateway, keys["dev"]).status_code == 401, timeout=1.5)
    left = openai_gateway.api("GET", "/team", keys["owner"]).json()["members"]
    assert dev not in {m["user_id"] for m in left}


def key_ids_of(gateway, user_id: str) -> list[str]:
    with sqlite3.connect(gateway.db_path) as db:
        return [row[0] for row in db.execute("SELECT id FROM api_keys WHERE user_id = ?", (user_id,))]
