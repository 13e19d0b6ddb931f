"""Anyone could add any existing user to their team (the platform's administrator too, even as owner), and
the 201/404 difference told whether an email had an account (issue 14, defect 6). Now people join a team
through the API only by accepting an invitation, and inviting answers the same whether or not the address
has an account; the operator's CLI still adds members directly."""

import sqlite3
import time
from urllib.parse import parse_qs, urlparse

import pytest

from .session_helpers import Console, console_team, member_key

VOLATILE = {"id", "email", "created_at", "expires_at", "accept_url"}   # differ between any two invitations


@pytest.fixture
def team(demo_gateway):
    team_id, people = console_team(demo_gateway, admin="admin")
    return team_id, people, member_key(demo_gateway, team_id, people["owner"])["key"]


def admin_email(gateway) -> str:
    with sqlite3.connect(gateway.db_path) as db:
        return db.execute("SELECT email FROM users WHERE is_admin").fetchone()[0]


def member_ids(gateway, key: str) -> set[str]:
    return {member["email"] for member in gateway.api("GET", "/team", key).json()["members"]}


@pytest.mark.parametrize("path", ["/team/members", "/team/invitations"])
def test_adding_someone_invites_them_and_says_nothing_about_whether_they_have_an_account(demo_gateway, team, path):
    team_id, people, key = team
    registered, unknown = admin_email(demo_gateway), f"nobody-{time.monotonic_ns()}@example.com"
    answers = [demo_gateway.api("POST", path, key, json={"email": email, "role": "viewer"})
               for email in (registered, unknown)]
    assert [answer.status_code for answer in answers] == [202 if path == "/team/members" else 201] * 2
    first, second = (answer.json() for answer in answers)
    assert {k: v for k, v in first.items() if k not in VOLATILE} == {k: v for k, v in second.items()
                                                                      if k not in VOLATILE}
    assert first.keys() == second.keys() and "user_id" not in first
    assert registered not in member_ids(demo_gateway, key)          # invited, not added


def test_an_invited_user_joins_only_by_accepting(demo_gateway, team):
    team_id, people, key = team
    invitee = Console(demo_gateway)
    sent = demo_gateway.api("POST", "/team/members", key, json={"email": invitee.email, "role": "developer"}).json()
    assert invitee.email not in member_ids(demo_gateway, key)
    assert invitee.send("POST", "/auth/switch-account", {"account_id": team_id}).status_code == 404
    token = parse_qs(urlparse(sent["accept_url"]).query)["token"][0]
    joined = invitee.send("POST", "/invitations/accept", {"token": token})
    assert joined.status_code == 200 and joined.json()["role"] == "developer"
    assert invitee.email in member_ids(demo_gateway, key)


def test_the_operator_still_adds_members_directly(demo_gateway, team):
    team_id, people, key = team
    person = Console(demo_gateway)
    added = demo_gateway.cli("teams", "add-member", "--team", team_id, "--email", person.email, "--role", "viewer")
    assert added["role"] == "viewer" and person.email in member_ids(demo_gateway, key)


def test_no_one_is_made_an_owner_without_their_consent(demo_gateway, team):
    team_id, people, key = team
    administrator = admin_email(demo_gateway)
    refused = demo_gateway.api("POST", "/team/members", key, json={"email": administrator, "role": "owner"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "session_required"
    invited = people["owner"].reauthenticate().send("POST", "/team/members", {"email": administrator, "role": "owner"})
    assert invited.status_code == 202 and invited.json()["role"] == "owner"
    assert administrator not in member_ids(demo_gateway, key)
