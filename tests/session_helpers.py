"""Console users for API tests: a user made with the CLI (no sign-up, so no sign-up throttle), signed in
through POST /api/auth/login, sending the CSRF token on every change, and confirming their password again
when a test needs a session that may do CONFIRMED things (accounts/roles.py)."""

import sqlite3
import time

import httpx

from alltoken.accounts.passwords import hash_password
from alltoken.ids import utcnow

from .harness import Gateway

OWNER_PASSWORD = "the owner's long password"


class Console:
    """A signed-in browser: a cookie-keeping client of /api. A new user made with the CLI; or, given their
    email and password, another session of an existing user (acting in their own account)."""

    def __init__(self, gateway: Gateway, email: str | None = None, password: str | None = None):
        if email is None:
            email = f"person-{time.monotonic_ns()}@example.com"
            password = gateway.cli("users", "create", "--email", email)["password"]
        self.gateway, self.email, self.password = gateway, email, password
        self.client = httpx.Client(base_url=gateway.url + "/api", timeout=15)
        signed_in = self.client.post("/auth/login", json={"email": email, "password": password})
        assert signed_in.status_code == 200, signed_in.text
        me = signed_in.json()
        self.user_id, self.own_account, self.csrf = me["user_id"], me["account_id"], me["csrf_token"]

    def another_session(self) -> "Console":
        return Console(self.gateway, self.email, self.password)

    @property
    def headers(self) -> dict[str, str]:
        """What a request of this session carries (for clients other than `client`)."""
        return {"cookie": f"atk_session={self.client.cookies['atk_session']}", "x-csrf-token": self.csrf}

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def send(self, method: str, path: str, body=None) -> httpx.Response:
        return self.client.request(method, path, json=body, headers={"x-csrf-token": self.csrf})

    def switch(self, account_id: str) -> "Console":
        switched = self.send("POST", "/auth/switch-account", {"account_id": account_id})
        assert switched.status_code == 200, switched.text
        return self

    def reauthenticate(self) -> "Console":
        """Confirm the password: CONFIRMED actions are open to this session for the next minutes."""
        confirmed = self.send("POST", "/auth/reauthenticate", {"password": self.password})
        assert confirmed.status_code == 200, confirmed.text
        return self


def add_owner(gateway: Gateway, account: str, email: str) -> Console:
    """A user for an account made with `alltoken accounts create` (which makes none), signed in."""
    user_id = f"user_{time.monotonic_ns()}"
    with sqlite3.connect(gateway.db_path) as db:
        db.execute("INSERT INTO users (id, account_id, email, password_hash, is_admin, created_at) "
                   "VALUES (?, ?, ?, ?, 0, ?)", (user_id, account, email, hash_password(OWNER_PASSWORD),
                                                 utcnow().replace(tzinfo=None).isoformat(sep=" ")))
    return Console(gateway, email, OWNER_PASSWORD)


def code_of(response: httpx.Response) -> str | None:
    return response.json()["error"]["code"] if response.status_code >= 400 else None


def console_team(gateway: Gateway, usd: str = "1", **roles: str) -> tuple[str, dict[str, Console]]:
    """A team made with the CLI, owned by `owner`, with the members given as name=role; each person is a
    signed-in console acting in the team. Returns the team's id and the people by name."""
    people = {"owner": Console(gateway)}
    team = gateway.cli("teams", "create", "--name", f"Team {time.monotonic_ns()}",
                       "--owner-email", people["owner"].email)["id"]
    for name, role in roles.items():
        people[name] = Console(gateway)
        gateway.cli("teams", "add-member", "--team", team, "--email", people[name].email, "--role", role)
    for person in people.values():
        person.switch(team)
    if usd != "0":
        gateway.cli("credits", "grant", "--account", team, "--usd", usd)
    return team, people


def member_key(gateway: Gateway, team: str, person: Console, *options: str) -> dict:
    """A new key of `person` in the team, made with the CLI: {"id", "key", ...}."""
    return gateway.cli("keys", "create", "--account", team, "--member", person.user_id, *options)
