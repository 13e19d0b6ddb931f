"""The management API's authorization matrix: every operation of /api/openapi.json, called as every kind of
caller on one running server, answers as docs/authorization.md says. The page's two tables are read here
(what each caller gets under each policy; each operation's policy), so the page and the code cannot drift:
an operation without a row fails, and so does a row for an operation that does not exist.

Allowed means the answer is not 401 or 403 (bodies are chosen so that nothing is changed for good: a bad
field, a wrong confirmation); refused means 401 or 403 with the documented code. Path parameters are real
ids of the caller's account, and of another account (never reachable: 401, 403 or 404)."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from .harness import Gateway
from .session_helpers import Console, console_team, member_key

DOC = Path(__file__).resolve().parents[1] / "docs" / "authorization.md"
ALLOWED = "✓"
ADMIN_EMAIL, ADMIN_PASSWORD = "root@example.com", "the administrator's long password"

# Bodies that change nothing for good when allowed; the rest get {} (a change) or none (a read).
BODIES = {
    ("POST", "/api/auth/password"): {"current_password": "not the password", "new_password": "a new long password"},
    ("POST", "/api/account/keys"): {"expires_at": "not a time"},
    ("POST", "/api/account/keys/revoke-all"): {"keep_current": []},
    ("POST", "/api/account/keys/{key_id}/rotate"): {"grace_seconds": -1},
    ("POST", "/api/account/delete"): {"confirm": "acct_not_this_one"},
    ("PUT", "/api/account/routing"): {"allow_providers": 5},
    ("POST", "/api/studio/key"): {"accept_terms": "maybe"},
    ("PATCH", "/api/team/members/{user_id}"): {"role": "boss"},
    ("POST", "/api/admin/accounts/{account_id}/keys"): {"expires_at": "not a time"},
    ("POST", "/api/admin/keys/{key_id}/rotate"): {"grace_seconds": -1},
}
# Signing out ends the session that calls: these are called last, from a fresh session of the same user.
ENDS_SESSIONS = [("POST", "/api/auth/logout"), ("POST", "/api/auth/logout-everywhere")]


# The page's tables.

def table_after(heading: str) -> list[list[str]]:
    """The rows of the first Markdown table under `heading` (header first, the --- row left out)."""
    lines = DOC.read_text().splitlines()
    start = lines.index(heading)
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r"-+", cell) for cell in cells):
                rows.append(cells)
        elif rows:
            break
    return rows


def documented_policies() -> dict[str, dict[str, str]]:
    """caller kind -> policy -> ✓ or the refusal's code."""
    header, *rows = table_after("## Who gets what")
    return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in rows}


def documented_operations() -> dict[tuple[str, str], str]:
    """(method, path) -> policy."""
    _, *rows = table_after("## Operations")
    found = {}
    for operation, policy, _notes in rows:
        method, path = operation.strip("`").split(" ")
        assert (method, path) not in found, f"two rows for {operation}"
        found[method, path] = policy
    return found


# The callers, made once for the module.

@dataclass(frozen=True)
class Place:
    """Ids of one account that fill an operation's path."""
    key_id: str              # another key of the account (in a team: its developer's)
    developer_id: str        # a member to change (PATCH)
    victim_id: str           # a member to remove (DELETE)
    invitation_id: str


@dataclass(frozen=True)
class Caller:
    kind: str                # as the page's first table names it
    headers: dict
    place: Place | None      # None: anonymous
    console: Console | None = None   # a session's user, to sign in again


@dataclass
class World:
    gateway: Gateway
    callers: list[Caller]
    outside: Place           # another team: never reachable
    outside_key: str         # its owner's key
    victim_account: str      # what the administrators' endpoints act on
    victim_key: str


def key_headers(secret: str) -> dict:
    return {"authorization": f"Bearer {secret}"}


def personal_callers(gateway: Gateway) -> list[Caller]:
    person = Console(gateway)
    account = person.own_account
    gateway.cli("credits", "grant", "--account", account, "--usd", "1")
    make = lambda *options: gateway.cli("keys", "create", "--account", account, *options)  # noqa: E731
    place = Place(make()["id"], person.user_id, person.user_id, "inv_none")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    restricted = [make("--models", "alltoken/demo"), make("--limit-usd", "1"), make("--ips", "127.0.0.1/32"),
                  make("--expires", tomorrow)]
    confirmed = person.another_session().reauthenticate()
    return [Caller("key", key_headers(make()["key"]), place),
            *[Caller("restricted key", key_headers(key["key"]), place) for key in restricted],
            Caller("session", person.headers, place, person),
            Caller("session, confirmed", confirmed.headers, place, confirmed)]


def team_callers(gateway: Gateway) -> list[Caller]:
    team, people = console_team(gateway, admin="admin", developer="developer", billing="billing",
                                viewer="viewer", victim="viewer")
    place = team_place(gateway, team, people)
    callers = [Caller(f"team {role} session", people[role].headers, place, people[role])
               for role in ("owner", "admin", "developer", "billing", "viewer")]
    for role in ("owner", "admin"):
        confirmed = people[role].another_session().switch(team).reauthenticate()
        callers.append(Caller(f"team {role} session, confirmed", confirmed.headers, place, confirmed))
    return callers + [Caller(f"team {role} key", key_headers(member_key(gateway, team, people[role])["key"]), place)
                      for role in ("owner", "admin", "developer", "billing", "viewer")]


def team_place(gateway: Gateway, team: str, people: dict[str, Console]) -> Place:
    invited = people["owner"].send("POST", "/team/invitations", {"email": f"pending-{team}@example.com",
                                                                 "role": "viewer"})
    assert invited.status_code == 201, invited.text
    victim = people.get("victim", people["developer"])
    return Place(member_key(gateway, team, people["developer"])["id"], people["developer"].user_id,
                 victim.user_id, invited.json()["id"])


def admin_callers(gateway: Gateway) -> list[Caller]:
    admin = Console(gateway, ADMIN_EMAIL, ADMIN_PASSWORD)
    make = lambda: gateway.cli("keys", "create", "--account", admin.own_account)  # noqa: E731
    place = Place(make()["id"], admin.user_id, admin.user_id, "inv_none")
    return [Caller("platform admin session", admin.headers, place, admin),
            Caller("platform admin key", key_headers(make()["key"]), place)]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    gateway = Gateway(tmp_path_factory.mktemp("authz-matrix"),
                      env={"ALLTOKEN_ADMIN_EMAIL": ADMIN_EMAIL, "ALLTOKEN_ADMIN_PASSWORD": ADMIN_PASSWORD}).start()
    try:
        callers = [Caller("anonymous", {}, None), *personal_callers(gateway), *team_callers(gateway),
                   *admin_callers(gateway)]
        outsider_team, outsiders = console_team(gateway, usd="0", developer="developer")
        outside_key = member_key(gateway, outsider_team, outsiders["owner"])["key"]
        victim_account, victim_key = gateway.new_key(usd="0")
        victim_key_id = gateway.api("GET", "/account/keys", victim_key).json()[0]["id"]
        yield World(gateway, callers, team_place(gateway, outsider_team, outsiders), outside_key, victim_account,
                    victim_key_id)
    finally:
        gateway.stop()


# Calling an operation.

def fill(path: str, method: str, place: Place, world: World) -> str:
    """The path with real ids: the caller's account's, or for the administrators' endpoints, another's."""
    admin = path.startswith("/api/admin/")
    values = {"key_id": world.victim_key if admin else place.key_id, "account_id": world.victim_account,
              "user_id": place.victim_id if method == "DELETE" else place.developer_id,
              "invitation_id": place.invitation_id, "month": "2026-01", "model_id": "alltoken/demo"}
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], path)


_clients = threading.local()


def _client() -> httpx.Client:
    """This thread's client."""
    if not hasattr(_clients, "client"):
        _clients.client = httpx.Client(timeout=30)
    return _clients.client


def call(world: World, caller: Caller, method: str, path: str, place: Place | None = None) -> httpx.Response:
    """One request, with only the caller's own credentials (each thread's client keeps no cookies between
    calls; a client per request would spend more time making TLS contexts than the server answering)."""
    client = _client()
    body = BODIES.get((method, path), None if method in ("GET", "DELETE") else {})
    place = place or caller.place or world.outside
    try:
        return client.request(method, world.gateway.url + fill(path, method, place, world), headers=caller.headers,
                              json=body)
    finally:
        client.cookies.clear()


def verdict(response: httpx.Response, expected: str) -> str | None:
    """What is wrong with `response` for a caller who gets `expected`, or None."""
    if response.status_code == 500:
        return f"{response.status_code}: {response.text[:200]}"
    if expected == ALLOWED:
        return None if response.status_code not in (401, 403) else f"refused: {response.text[:200]}"
    status = 401 if expected == "not_signed_in" else 403
    code = response.json().get("error", {}).get("code") if response.status_code in (401, 403) else None
    return None if (response.status_code, code) == (status, expected) else \
        f"expected {status} {expected}, got {response.status_code}: {response.text[:200]}"


def run_all(jobs: list) -> list:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda job: job(), jobs))


# The tests, in this order: the last one signs every caller out.

def test_every_operation_has_exactly_one_documented_policy(world):
    served = {(method.upper(), "/api" + path)
              for path, item in httpx.get(world.gateway.url + "/api/openapi.json", timeout=30).json()["paths"].items()
              for method in item}
    documented = documented_operations()
    assert served - documented.keys() == set(), "operations without a row in docs/authorization.md"
    assert documented.keys() - served == set(), "rows in docs/authorization.md for operations that do not exist"
    policies = documented_policies()
    assert {kind for kind in policies} == {caller.kind for caller in world.callers}
    for kind, columns in policies.items():
        assert set(documented.values()) <= columns.keys(), f"{kind}: a policy without a column"


def test_another_accounts_ids_are_never_reached(world):
    scoped = [op for op in documented_operations() if re.search(r"\{(key_id|user_id|invitation_id)\}", op[1])
              and not op[1].startswith("/api/admin/")]
    assert len(scoped) >= 6
    jobs = [(op, caller) for op in scoped for caller in world.callers if caller.place is not None]
    answers = run_all([lambda op=op, caller=caller: call(world, caller, *op, place=world.outside)
                       for op, caller in jobs])
    reached = [f"{' '.join(op)} as {caller.kind}: {response.status_code} {response.text[:120]}"
               for (op, caller), response in zip(jobs, answers, strict=True)
               if response.status_code not in (401, 403, 404)]
    assert reached == []
    team = world.gateway.api("GET", "/team", world.outside_key).json()
    assert world.outside.victim_id in {member["user_id"] for member in team["members"]}
    assert world.gateway.api("GET", f"/account/keys/{world.outside.key_id}", world.outside_key).json()["revoked_at"] \
        is None


def test_no_session_changes_anything_without_its_csrf_token(world):
    session = next(caller for caller in world.callers if caller.kind == "team owner session, confirmed")
    forged = Caller(session.kind, {"cookie": session.headers["cookie"]}, session.place)
    changes = [op for op, policy in documented_operations().items()
               if op[0] != "GET" and policy != "public" and op not in ENDS_SESSIONS]
    answers = run_all([lambda op=op: call(world, forged, *op) for op in changes])
    wrong = [f"{' '.join(op)}: {response.status_code} {response.text[:120]}"
             for op, response in zip(changes, answers, strict=True)
             if (response.status_code, response.json().get("error", {}).get("code")) != (403, "csrf_failed")]
    assert wrong == []


def test_every_caller_gets_what_the_page_says(world):
    policies, operations = documented_policies(), documented_operations()
    problems = []
    # Everything at once; then each way of signing out, one caller at a time (signing out everywhere ends the
    # sessions of a user whom two callers share).
    for batch in ([op for op in operations if op not in ENDS_SESSIONS], *([op] for op in ENDS_SESSIONS)):
        jobs = [(op, caller) for op in batch for caller in world.callers]
        calls = [lambda op=op, caller=caller: call(world, fresh(caller, op), *op) for op, caller in jobs]
        answers = run_all(calls) if len(batch) > 1 else [each() for each in calls]
        for (op, caller), response in zip(jobs, answers, strict=True):
            expected = policies[caller.kind][operations[op]]
            if (wrong := verdict(response, expected)) is not None:
                problems.append(f"{' '.join(op)} as {caller.kind} ({operations[op]}): {wrong}")
    assert problems == []


def fresh(caller: Caller, op: tuple[str, str]) -> Caller:
    """For an operation that signs out: a new session of the caller's user (keys are used as they are)."""
    if op not in ENDS_SESSIONS or caller.console is None:
        return caller
    return Caller(caller.kind, caller.console.another_session().headers, caller.place)
