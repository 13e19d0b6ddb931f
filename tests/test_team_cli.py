"""`alltoken users ...`, `alltoken teams ...` and `keys create --member`, against a real database."""

import json
import sqlite3

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from alltoken.cli.main import main as cli_main

from .harness import CliError, Gateway


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """The CLI needs no running server: it acts on the database the configuration names."""
    return Gateway(tmp_path_factory.mktemp("team-cli"))


def test_users_create_generates_a_password_once_or_reads_one_from_stdin(db):
    made = db.cli("users", "create", "--email", "Gen@Example.com", "--name", "Gen")
    assert made["email"] == "gen@example.com" and made["account_id"].startswith("acct_") and made["password"]
    result = CliRunner().invoke(cli_main, ["users", "create", "--email", "chosen@example.com", "--password-stdin",
                                           "--json"], env=db.env, input="correct horse battery\n")
    chosen = json.loads(result.stdout)
    assert result.exit_code == 0 and chosen["password"] is None
    with sqlite3.connect(db.db_path) as connection:
        hashes = dict(connection.execute("SELECT email, password_hash FROM users").fetchall())
    assert PasswordHasher().verify(hashes["chosen@example.com"], "correct horse battery")
    assert PasswordHasher().verify(hashes["gen@example.com"], made["password"])
    short = CliRunner().invoke(cli_main, ["users", "create", "--email", "short@example.com", "--password-stdin"],
                               env=db.env, input="abc\n")
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    with pytest.raises(CliError, match="already exists"):
        db.cli("users", "create", "--email", "gen@example.com")


def test_teams_commands_manage_members_roles_and_limits(db):
    for name in ("ann", "ben"):
        db.cli("users", "create", "--email", f"{name}@example.com")
    team = db.cli("teams", "create", "--name", "Crew", "--owner-email", "ann@example.com",
                  "--email", "billing@crew.example.com")
    assert (team["name"], team["email"], team["balance_usd"]) == ("Crew", "billing@crew.example.com", "0.000000")
    assert [(m["email"], m["role"]) for m in team["members"]] == [("ann@example.com", "owner")]
    added = db.cli("teams", "add-member", "--team", team["id"], "--email", "ben@example.com", "--role", "developer",
                   "--limit-usd", "2.5", "--limit-reset", "weekly")
    assert (added["role"], added["limit_usd"], added["limit_reset"], added["spent_usd"]) == \
        ("developer", "2.500000", "weekly", "0.000000")
    never = db.cli("teams", "set-limit", "--team", team["id"], "--email", "ben@example.com", "--limit-reset", "never")
    assert (never["limit_usd"], never["limit_reset"], never["limit_resets_at"]) == ("2.500000", None, None)
    assert db.cli("teams", "set-limit", "--team", team["id"], "--email", "ben@example.com",
                  "--no-limit")["limit_usd"] is None
    assert db.cli("teams", "set-role", "--team", team["id"], "--email", "ben@example.com",
                  "--role", "billing")["role"] == "billing"
    key = db.cli("keys", "create", "--account", team["id"], "--member", added["user_id"], "--name", "ben-laptop")
    assert key["user_id"] == added["user_id"] and key["account_id"] == team["id"]
    shown = db.cli("teams", "show", team["id"])
    assert [(m["email"], m["role"], m["limit_usd"]) for m in shown["members"]] == [
        ("ann@example.com", "owner", None), ("ben@example.com", "billing", None)]
    human = CliRunner().invoke(cli_main, ["teams", "show", team["id"]], env=db.env).output
    assert human.startswith(f"{team['id']} Crew: balance 0.000000 USD") and "ben@example.com billing, no limit" in human
    removed = db.cli("teams", "remove-member", "--team", team["id"], "--email", "ben@example.com")
    assert removed == {"user_id": added["user_id"], "revoked_keys": [key["id"]]}


@pytest.fixture(scope="module")
def solo(db) -> dict[str, str]:
    """Team Solo, owned by sol; cid is a user outside it."""
    db.cli("users", "create", "--email", "sol@example.com")
    cid = db.cli("users", "create", "--email", "cid@example.com")
    team = db.cli("teams", "create", "--name", "Solo", "--owner-email", "sol@example.com")
    return {"TEAM": team["id"], "CID": cid["id"], "PERSONAL": cid["account_id"]}


@pytest.mark.parametrize("args,message", [
    (["teams", "create", "--name", "X", "--owner-email", "ghost@example.com"], "no user with email"),
    (["teams", "create", "--name", " ", "--owner-email", "sol@example.com"], "a team needs a name"),
    (["teams", "add-member", "--team", "acct_nope", "--email", "cid@example.com", "--role", "viewer"], "no account"),
    (["teams", "add-member", "--team", "TEAM", "--email", "sol@example.com", "--role", "viewer"], "already a member"),
    (["teams", "add-member", "--team", "TEAM", "--email", "cid@example.com", "--role", "viewer",
      "--limit-usd", "-2"], "positive USD amount"),
    (["teams", "add-member", "--team", "PERSONAL", "--email", "sol@example.com", "--role", "viewer"],
     "personal account, not a team"),
    (["teams", "set-role", "--team", "TEAM", "--email", "sol@example.com", "--role", "viewer"], "needs an owner"),
    (["teams", "set-limit", "--team", "TEAM", "--email", "cid@example.com", "--limit-usd", "1"], "not a member"),
    (["keys", "create", "--account", "TEAM", "--member", "CID"], "not a member"),
])
def test_teams_commands_refuse_bad_input_plainly(db, solo, args, message):
    with pytest.raises(CliError) as caught:
        db.cli(*[solo.get(arg, arg) for arg in args])
    assert caught.value.code == 1 and message in caught.value.stderr


def test_set_limit_needs_something_to_set(db):
    result = CliRunner().invoke(cli_main, ["teams", "set-limit", "--team", "t", "--email", "e@example.com"],
                                env=db.env)
    assert result.exit_code == 2 and "--no-limit" in result.output
    bad_role = CliRunner().invoke(cli_main, ["teams", "add-member", "--team", "t", "--email", "e@example.com",
                                             "--role", "boss"], env=db.env)
    assert bad_role.exit_code == 2 and "'boss' is not one of" in bad_role.output

