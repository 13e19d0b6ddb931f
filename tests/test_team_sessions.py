"""Teams in the console: a session acts in one of its user's accounts (switched explicitly), with the
user's role there; roles decide what a session may change; one team never reaches another; people
join by an emailed, single-use, expiring invitation link."""

import re
import sqlite3
import time
from decimal import Decimal
from email import message_from_bytes, policy

import httpx
import openai
import pytest

from .fakes.smtp_inbox import SENDER, running_inbox
from .harness import Gateway, wait_for

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def inbox():
    with running_inbox() as mail:
        yield mail


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, inbox):
    _, port = inbox
    config = {"smtp": {"host": "127.0.0.1", "port": port, "security": "none", "from": SENDER}}
    started = Gateway(tmp_path_factory.mktemp("team-sessions"), config).start()
    yield started
    started.stop()


class Person:
    """A signed-in browser: a cookie-keeping client that sends the CSRF token on changes."""

    def __init__(self, gateway: Gateway, email: str | None = None):
        self.client = httpx.Client(base_url=gateway.url + "/api", timeout=15)
        self.email = email or f"person-{time.monotonic_ns()}@example.com"
        me = self.client.post("/auth/signup", json={"email": self.email, "password": PASSWORD})
        assert me.status_code == 201, me.text
        me = me.json()
        self.user_id, self.own_account, self.csrf = me["user_id"], me["account_id"], me["csrf_token"]

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def send(self, method: str, path: str, body=None) -> httpx.Response:
        return self.client.request(method, path, json=body, headers={"x-csrf-token": self.csrf})

    def switch(self, account_id: str) -> httpx.Response:
        return self.send("POST", "/auth/switch-account", {"account_id": account_id})


def new_team(gateway: Gateway, owner: Person, usd: str = "5", **members: tuple[Person, str]) -> str:
    """A team created by `owner` from the console, with members added by the operator (the API only invites)
    and switched into it."""
    made = owner.send("POST", "/teams", {"name": f"Team {time.monotonic_ns()}"})
    assert made.status_code == 201, made.text
    team = made.json()["account_id"]
    for person, role in members.values():
        gateway.cli("teams", "add-member", "--team", team, "--email", person.email, "--role", role)
        assert person.switch(team).status_code == 200
    gateway.cli("credits", "grant", "--account", team, "--usd", usd)
    return team


def test_a_user_lists_their_accounts_and_switches_between_them_only(gateway):
    owner, stranger = Person(gateway), Person(gateway)
    made = owner.send("POST", "/teams", {"name": "Acme"})
    assert made.status_code == 201 and made.json()["role"] == "owner" and made.json()["active"]
    team = made.json()["account_id"]
    assert owner.get("/auth/me").json()["account_id"] == team          # creating a team switches to it
    listed = owner.get("/account/memberships").json()
    assert [(m["account_id"], m["kind"], m["role"], m["active"]) for m in listed] == [
        (owner.own_account, "personal", "owner", False), (team, "team", "owner", True)]
    assert owner.get("/team").json()["id"] == team

    assert owner.switch(owner.own_account).json()["active"] is True
    assert owner.get("/auth/me").json()["account_id"] == owner.own_account
    assert owner.get("/team").status_code == 404                          # a personal account has no team

    for foreign in (stranger.own_account, "acct_nope"):
        refused = owner.switch(foreign)
        assert refused.status_code == 404 and foreign in refused.json()["error"]["message"]
    refused = stranger.switch(team)
    assert refused.status_code == 404
    assert stranger.get("/auth/me").json()["account_id"] == stranger.own_account
    assert owner.client.post("/auth/switch-account", json={"account_id": team}).status_code == 403   # no CSRF token
    assert httpx.post(gateway.url + "/api/auth/switch-account", json={"account_id": team}).status_code == 401
    actions = [e["action"] for e in gateway.cli("audit-log", "--target", team)]
    assert "teams.create" in actions and "auth.switch_account" in actions


ROLES = ("owner", "admin", "developer", "billing", "viewer")


@pytest.fixture(scope="module")
def staffed(gateway):
    """A team with one session per role, each acting in the team, and a key of the owner's."""
    people = {role: Person(gateway) for role in ROLES}
    team = new_team(gateway, people["owner"], **{role: (people[role], role) for role in ROLES[1:]})
    owners_key = people["owner"].send("POST", "/account/keys", {"name": "owner's"}).json()
    return team, people, owners_key


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_team_account(staffed, role):
    team, people, _ = staffed
    person = people[role]
    for path in ("/team", "/account/keys", "/billing/balance", "/billing/transactions", "/usage/summary",
                 "/billing/alerts", "/account/notices"):
        response = person.get(path)
        assert response.status_code == 200, (path, response.text)
    assert person.get("/team").json()["id"] == team
    assert {m["role"] for m in person.get("/account/memberships").json() if m["active"]} == {role}


# What each role may change: (method, path, body, allowed roles, refusal code).
CHANGES = [
    ("PUT", "/billing/alerts", {"low_balance_usd": "1"}, {"owner", "admin", "billing"}, "role_forbidden"),
    ("POST", "/account/keys", {"name": "mine"}, {"owner", "admin", "developer"}, "role_forbidden"),
    ("POST", "/team/members", {"email": "EMAIL", "role": "viewer"}, {"owner", "admin"}, "team_admin_only"),
    ("POST", "/team/invitations", {"email": "EMAIL", "role": "viewer"}, {"owner", "admin"}, "team_admin_only"),
]


@pytest.mark.parametrize("role", ROLES)
def test_roles_decide_what_a_session_may_change(gateway, staffed, role):
    team, people, _ = staffed
    person = people[role]
    for method, path, body, allowed, code in CHANGES:
        if body and body.get("email") == "EMAIL":
            body = {**body, "email": Person(gateway).email}
        response = person.send(method, path, body)
        if role in allowed:
            assert response.status_code in (200, 201, 202), (path, response.text)
        else:
            error = response.json()["error"]
            assert response.status_code == 403 and error["code"] == code, (path, response.text)
            assert f"({role})" in error["message"] and "needs the role" in error["message"], error


def test_a_developer_makes_team_keys_of_their_own_and_touches_no_one_elses(gateway, staffed):
    team, people, owners_key = staffed
    dev = people["developer"]
    made = dev.send("POST", "/account/keys", {"name": "dev's"})
    assert made.status_code == 201
    key = made.json()
    assert (key["account_id"], key["user_id"]) == (team, dev.user_id)      # the team's key, tagged with its member
    assert owners_key["user_id"] == people["owner"].user_id
    spent = gateway.sdk(key["key"]).chat.completions.create(model="alltoken/demo",
                                                            messages=[{"role": "user", "content": "hi"}])
    assert spent.choices[0].message.content
    assert wait_for(lambda: gateway.balance(team) < 5, timeout=10)   # the team's balance pays (charges land async)
    assert gateway.balance(dev.own_account) == 0

    for path, code in ((f"/account/keys/{owners_key['id']}/revoke", "not_key_holder"),
                       (f"/account/keys/{owners_key['id']}/rotate", "not_key_holder"),
                       ("/account/keys/revoke-all", "role_forbidden")):
        refused = dev.send("POST", path)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == code, path
    assert dev.send("POST", f"/account/keys/{key['id']}/revoke").json()["revoked_at"]
    assert people["admin"].send("POST", f"/account/keys/{key['id']}/rotate", {"grace_seconds": 0}).json()["error"][
        "code"] == "not_key_holder"                        # a key's new secret is its holder's (or an owner's)
    assert people["owner"].send("POST", f"/account/keys/{key['id']}/rotate", {"grace_seconds": 0}).status_code == 409


def test_a_members_limit_applies_to_keys_made_in_their_session(gateway):
    owner, dev = Person(gateway), Person(gateway)
    team = new_team(gateway, owner, dev=(dev, "developer"))
    assert owner.send("PATCH", f"/team/members/{dev.user_id}", {"limit_usd": "0.000001"}).status_code == 200
    key = dev.send("POST", "/account/keys", {}).json()["key"]
    info = httpx.get(gateway.url + "/v1/key", headers={"Authorization": f"Bearer {key}"}).json()["data"]
    assert info["member"]["user_id"] == dev.user_id and Decimal(info["member"]["limit_usd"]) == Decimal("0.000001")
    with pytest.raises(openai.APIStatusError, match="team member's spending limit is reached") as refused:
        gateway.sdk(key).with_options(max_retries=0).chat.completions.create(
            model="alltoken/demo", messages=[{"role": "user", "content": "hi"}])
    assert refused.value.status_code == 402
    assert gateway.balance(team) == 5


def test_a_removed_member_s_session_reaches_the_team_no_more(gateway):
    owner, dev = Person(gateway), Person(gateway)
    team = new_team(gateway, owner, dev=(dev, "developer"))
    assert dev.get("/team").status_code == 200
    assert owner.send("DELETE", f"/team/members/{dev.user_id}").status_code == 200
    for path in ("/team", "/account/keys", "/billing/balance"):
        refused = dev.get(path)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_a_member", path
    assert team not in str(dev.get("/account/memberships").json())
    assert dev.switch(team).status_code == 404
    assert dev.switch(dev.own_account).status_code == 200 and dev.get("/account/keys").status_code == 200
    gateway.cli("teams", "add-member", "--team", team, "--email", dev.email, "--role", "viewer")
    assert dev.switch(team).status_code == 200
    assert owner.send("DELETE", f"/team/members/{dev.user_id}").status_code == 200
    assert dev.send("POST", "/auth/logout").status_code == 204             # signing out needs no membership
    assert dev.get("/auth/me").status_code == 401


def test_a_member_of_one_team_never_reaches_another_even_by_id(gateway):
    a_owner, b_owner, b_dev = Person(gateway), Person(gateway), Person(gateway)
    team_a = new_team(gateway, a_owner)
    team_b = new_team(gateway, b_owner, dev=(b_dev, "developer"))
    b_key = b_dev.send("POST", "/account/keys", {"name": "b"}).json()
    gateway.sdk(b_key["key"]).chat.completions.create(model="alltoken/demo",
                                                      messages=[{"role": "user", "content": "x"}])
    b_invite = b_owner.send("POST", "/team/invitations", {"email": Person(gateway).email, "role": "viewer"}).json()
    assert wait_for(lambda: b_owner.get("/usage/generations").json()["data"], timeout=10)

    assert a_owner.get("/team").json()["id"] == team_a
    assert a_owner.switch(team_b).status_code == 404
    for method, path, body in (("GET", f"/account/keys/{b_key['id']}", None),
                               ("POST", f"/account/keys/{b_key['id']}/revoke", None),
                               ("POST", f"/account/keys/{b_key['id']}/rotate", None),
                               ("PATCH", f"/team/members/{b_dev.user_id}", {"role": "viewer"}),
                               ("DELETE", f"/team/members/{b_dev.user_id}", None),
                               ("DELETE", f"/team/invitations/{b_invite['id']}", None)):
        response = a_owner.send(method, path, body)
        assert response.status_code == 404, (method, path, response.text)
    seen = " ".join(a_owner.get(path).text for path in (
        "/account/keys", "/team", "/team/invitations", "/usage/generations", "/usage/summary?group=key",
        "/billing/transactions", "/billing/balance", "/account/memberships"))
    for foreign in (team_b, b_key["id"], b_dev.user_id, b_invite["id"]):
        assert foreign not in seen
    assert b_dev.get(f"/account/keys/{b_key['id']}").json()["revoked_at"] is None
    assert b_owner.get("/team/invitations").json()[0]["id"] == b_invite["id"]
    assert {m["role"] for m in b_owner.get("/team").json()["members"]} == {"owner", "developer"}


def _link(inbox, address: str) -> str:
    mail, _ = inbox
    assert wait_for(lambda: any(address in recipients for _, recipients, _ in mail.messages), timeout=10)
    raw = next(raw for _, recipients, raw in reversed(mail.messages) if address in recipients)
    text = message_from_bytes(raw, policy=policy.default).get_content()
    return re.search(r"https?://\S+/invitation\?token=(\S+)", text).group(1)


def test_an_invitation_is_emailed_and_accepted_once_by_the_invited_address_only(gateway, inbox):
    owner, viewer = Person(gateway), Person(gateway)
    team = new_team(gateway, owner, viewer=(viewer, "viewer"))
    address = f"Colleague-{time.monotonic_ns()}@Example.com"
    sent = owner.send("POST", "/team/invitations", {"email": address, "role": "developer", "limit_usd": "2",
                                                    "limit_reset": "monthly"})
    assert sent.status_code == 201, sent.text
    invitation = sent.json()
    assert invitation["emailed"] is True and invitation["accept_url"] is None
    assert (invitation["email"], invitation["role"], invitation["limit_usd"]) == \
        (address.lower(), "developer", "2.000000")
    token = _link(inbox, address.lower())
    assert token not in str(owner.get("/team/invitations").json())
    with sqlite3.connect(gateway.db_path) as db:
        (stored,) = db.execute("SELECT token_hash FROM team_invitations WHERE id = ?", (invitation["id"],)).fetchone()
    assert token not in stored and len(stored) == 64

    preview = httpx.post(gateway.url + "/api/invitations/preview", json={"token": token}).json()
    assert (preview["email"], preview["role"]) == (address.lower(), "developer")
    assert viewer.get("/team/invitations").status_code == 403

    wrong = viewer.send("POST", "/invitations/accept", {"token": token})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_invitee"
    refusals = gateway.cli("audit-log", "--target", viewer.user_id)
    assert [(e["action"], e["details"]) for e in refusals] == [("team.invite_refused", {"code": "wrong_invitee"})]
    colleague = Person(gateway, email=address.upper())                   # signs up after the invitation
    accepted = colleague.send("POST", "/invitations/accept", {"token": token})
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["account_id"], accepted.json()["role"], accepted.json()["active"]) == \
        (team, "developer", True)
    member = next(m for m in owner.get("/team").json()["members"] if m["user_id"] == colleague.user_id)
    assert (member["role"], member["limit_usd"], member["limit_reset"]) == ("developer", "2.000000", "monthly")
    again = colleague.send("POST", "/invitations/accept", {"token": token})
    assert again.status_code == 410 and "already used" in again.json()["error"]["message"]
    assert owner.get("/team/invitations").json() == []
    actions = [e["action"] for e in gateway.cli("audit-log", "--target", team)]
    assert {"team.invite", "team.invite_email", "team.invite_accept"} <= set(actions)


def test_cancelled_expired_and_unknown_invitations_are_refused(gateway, inbox):
    owner = Person(gateway)
    team = new_team(gateway, owner)
    cancelled_to, expired_to = Person(gateway), Person(gateway)
    cancelled = owner.send("POST", "/team/invitations", {"email": cancelled_to.email, "role": "viewer"}).json()
    expired = owner.send("POST", "/team/invitations", {"email": expired_to.email, "role": "viewer"}).json()
    assert [i["id"] for i in owner.get("/team/invitations").json()] == [cancelled["id"], expired["id"]]
    assert owner.send("DELETE", f"/team/invitations/{cancelled['id']}").status_code == 200
    assert owner.send("DELETE", f"/team/invitations/{cancelled['id']}").status_code == 404
    with sqlite3.connect(gateway.db_path) as db:
        db.execute("UPDATE team_invitations SET expires_at = '2001-01-01 00:00:00.000000' WHERE id = ?",
                   (expired["id"],))
    assert owner.get("/team/invitations").json() == []
    for person, fragment in ((cancelled_to, "cancelled"), (expired_to, "expired")):
        refused = person.send("POST", "/invitations/accept", {"token": _link(inbox, person.email)})
        assert refused.status_code == 410 and fragment in refused.json()["error"]["message"]
    unknown = cancelled_to.send("POST", "/invitations/accept", {"token": "not-a-real-token"})
    assert unknown.status_code == 404
    assert team not in str(cancelled_to.get("/account/memberships").json())
    assert "team.invite_cancel" in [e["action"] for e in gateway.cli("audit-log", "--target", team)]


def test_an_admin_cannot_invite_an_owner_and_bad_invitations_get_a_clear_400(gateway):
    owner, admin = Person(gateway), Person(gateway)
    new_team(gateway, owner, admin=(admin, "admin"))
    refused = admin.send("POST", "/team/invitations", {"email": Person(gateway).email, "role": "owner"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "owner_only"
    for body, param in (({"email": "not-an-email", "role": "viewer"}, "email"),
                        ({"email": "x@example.com", "role": "boss"}, "role"),
                        ({"email": "x@example.com", "role": "viewer", "limit_usd": "-1"}, "positive")):
        bad = owner.send("POST", "/team/invitations", body)
        assert bad.status_code == 400 and param in bad.text, bad.text
    already = owner.send("POST", "/team/invitations", {"email": admin.email, "role": "viewer"})
    assert already.status_code == 409
