"""Teams made through the real CLI against a running gateway's database."""

import time
from dataclasses import dataclass, field

import httpx


@dataclass
class Team:
    id: str
    user_ids: dict[str, str] = field(default_factory=dict)     # name -> user id
    emails: dict[str, str] = field(default_factory=dict)


def new_team(gateway, usd: str = "1", **roles: str) -> Team:
    """A team owned by `owner`, plus the members given as name=role, with `usd` of credit."""
    suffix = time.monotonic_ns()
    team = Team(id="")
    for name in ("owner", *roles):
        email = f"{name}-{suffix}@example.com"
        team.user_ids[name] = gateway.cli("users", "create", "--email", email)["id"]
        team.emails[name] = email
    team.id = gateway.cli("teams", "create", "--name", f"Team {suffix}", "--owner-email", team.emails["owner"])["id"]
    for name, role in roles.items():
        gateway.cli("teams", "add-member", "--team", team.id, "--email", team.emails[name], "--role", role)
    if usd != "0":
        gateway.cli("credits", "grant", "--account", team.id, "--usd", usd)
    return team


def member_key(gateway, team: Team, name: str, *options: str) -> str:
    return gateway.cli("keys", "create", "--account", team.id, "--member", team.user_ids[name], *options)["key"]


def key_info(gateway, key: str) -> dict:
    return httpx.get(gateway.url + "/v1/key", headers={"Authorization": f"Bearer {key}"}).json()["data"]
