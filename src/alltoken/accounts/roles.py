"""Team roles and what each may do; the console's role-based pages will read the same sets."""

ROLES = ("owner", "admin", "developer", "billing", "viewer")
MANAGERS = frozenset({"owner", "admin"})            # change members, roles and limits
SPENDERS = frozenset({"owner", "admin", "developer"})   # call models with their keys


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role
