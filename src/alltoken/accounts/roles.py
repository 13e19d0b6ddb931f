"""Who may do what in an account: the one policy the management API enforces for whoever acts in it, a
console session or an API key (docs/authorization.md has it as a table, checked by a test).

A session acts with its user's role: the owner of their personal account, their member role in a team. A
key acts with its member's role; a key of no member (a personal account's keys, a team's account-level key)
is the account's own and acts as the owner. The operator's CLI is outside this policy.

Every account-scoped endpoint needs one action. Reading needs READ; a change needs MANAGE unless the endpoint
names another action, so a new endpoint is closed to the smaller roles until someone decides otherwise. On top
of the roles:

- Nothing irreversible or account-wide (CONFIRMED: deletion, export, where alerts go, accepting terms and
  warranties, who the owners are) is done with a key: only by an owner signed in to the console who confirmed
  their password a moment ago. A stolen key, or a stolen session, cannot take the account.
- A restricted key (a model list, spending limit, IP allow-list or expiry) only reads, and rotates or revokes
  itself: it cannot make itself, or anyone, a wider key or change the account.
- No one acts on someone above them: an admin cannot change, remove or make an owner, nor revoke an owner's
  key or the account's own; a key's secret (rotating it hands out a new one) is its holder's alone, or an
  owner's for the keys of those below them.
"""

from dataclasses import dataclass

ROLES = ("owner", "admin", "developer", "billing", "viewer")
MANAGERS = frozenset({"owner", "admin"})            # change members, roles and limits
SPENDERS = frozenset({"owner", "admin", "developer"})   # call models with their keys
_RANK = {"owner": 2, "admin": 1}                    # the rest are 0: none of them acts on members

READ = "read"            # see the account: keys, usage, billing, team
BILLING = "billing"      # pay: top-ups, redemption codes, low-balance alert, auto top-up
KEYS = "keys"            # make keys, and rotate or revoke one's own
MANAGE = "manage"        # the team, others' keys, account settings
OWN = "own"              # what only an owner does: revoke every key of the account
CONFIRMED = "confirmed"  # irreversible or account-wide: an owner's console session, password just confirmed

ALLOWED = {
    READ: frozenset(ROLES),
    BILLING: frozenset({"owner", "admin", "billing"}),
    KEYS: SPENDERS,
    MANAGE: MANAGERS,
    OWN: frozenset({"owner"}),
    CONFIRMED: frozenset({"owner"}),
}


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role


def authority(role: str | None) -> str:
    """The role a caller acts with: None is the account's own key, which acts as the owner."""
    return role or "owner"


def may(role: str | None, action: str) -> bool:
    return authority(role) in ALLOWED[action]


def refusal(role: str | None, action: str, *, by_key: bool, restricted: bool = False,
            confirmed: bool = False) -> Refusal | None:
    """Why this caller may not do `action`, or None when they may. `restricted`: a key with limits;
    `confirmed`: a session whose user confirmed their password within the last few minutes."""
    if not may(role, action):
        return Refusal("role_forbidden", role_refusal(authority(role), action))
    if action == CONFIRMED and by_key:
        return Refusal("session_required", "this needs the account's owner, signed in to the console, to confirm "
                                           "their password: an API key cannot do it")
    if by_key and restricted and action != READ:
        return Refusal("key_management_not_allowed", "a key with a model list, spending limit, IP allow-list or "
                                                     "expiry may only read the account, and rotate or revoke itself")
    if action == CONFIRMED and not confirmed:
        return Refusal("reauthentication_required", "confirm your password first (POST /api/auth/reauthenticate): "
                                                    "this needs it within the last few minutes")
    return None


def role_refusal(role: str, action: str) -> str:
    """Why `role` may not do `action`, naming the roles that may."""
    allowed = [name for name in ROLES if name in ALLOWED[action]]
    needed = allowed[0] if len(allowed) == 1 else f"{', '.join(allowed[:-1])} or {allowed[-1]}"
    return f"your role in this account ({role}) does not allow this: it needs the role {needed}"


def may_act_on(acting_role: str | None, *target_roles: str | None) -> bool:
    """Whether a member acts on members of these roles (change, remove, make): not on anyone above them. None
    acting is the account itself or the operator; a None target is the account's own (an owner's)."""
    if acting_role is None:
        return True
    return all(_RANK.get(acting_role, 0) >= _RANK.get(authority(target), 0) for target in target_roles)


def may_rotate(acting_role: str | None, acting_member: str | None, holder: str | None,
               holder_role: str | None) -> bool:
    """Rotating hands out the key's new secret, so it is the holder's alone (`holder` None: the account's own
    key); an owner may also rotate the keys of those below them and the account's own."""
    if acting_member == holder:
        return True
    return authority(acting_role) == "owner" and holder_role != "owner"


def may_revoke(acting_role: str | None, acting_member: str | None, holder: str | None,
               holder_role: str | None) -> bool:
    """Revoking grants nothing: the holder, or a manager acting on a member not above them (`holder_role`
    None: the account's own key, an owner's)."""
    if acting_member == holder:
        return True
    return may(acting_role, MANAGE) and may_act_on(acting_role, holder_role)
