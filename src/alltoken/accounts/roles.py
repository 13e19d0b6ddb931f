"""Team roles and what each may do: the one policy the management API enforces for people acting
in an account (a console session, or a team member's key). A personal account's user is its owner.

Every account-scoped endpoint needs one action: reading needs READ; a change needs MANAGE unless the
endpoint names a narrower action (BILLING, KEYS), so a new endpoint is closed to the smaller roles
until someone decides otherwise.
"""

ROLES = ("owner", "admin", "developer", "billing", "viewer")
MANAGERS = frozenset({"owner", "admin"})            # change members, roles and limits
SPENDERS = frozenset({"owner", "admin", "developer"})   # call models with their keys

READ = "read"          # see the account: keys, usage, billing, team
BILLING = "billing"    # pay: top-ups, redemption codes, low-balance alert, auto top-up
KEYS = "keys"          # make keys, and rotate or revoke one's own
MANAGE = "manage"      # everything else: the team, anyone's keys, account settings

ALLOWED = {
    READ: frozenset(ROLES),
    BILLING: frozenset({"owner", "admin", "billing"}),
    KEYS: SPENDERS,
    MANAGE: MANAGERS,
}


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role


def may(role: str | None, action: str) -> bool:
    """`role` None is the account itself (an account-level key): it may do anything."""
    return role is None or role in ALLOWED[action]


def refusal(role: str, action: str) -> str:
    """Why `role` may not do `action`, naming the roles that may."""
    allowed = [name for name in ROLES if name in ALLOWED[action]]
    return (f"your role in this account ({role}) does not allow this: it needs the role "
            f"{', '.join(allowed[:-1])} or {allowed[-1]}")
