"""Users: the people behind accounts. Each has a personal account; team memberships add others."""

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts.passwords import hash_password
from alltoken.accounts.service import create_account
from alltoken.errors import Conflict, NotFound
from alltoken.ids import new_id, utcnow
from alltoken.store.models import User

MIN_PASSWORD_LENGTH = 8


@dataclass
class NewUser:
    user: User
    password: str | None     # shown once when we generated it; None when the caller chose it


async def create_user(session: AsyncSession, email: str, password: str | None = None, *, name: str | None = None,
                      is_admin: bool = False) -> NewUser:
    """A user and their personal account (same email). Without a password, one is generated."""
    account = await create_account(session, email, name=name)
    if (await session.execute(select(User.id).where(User.email == account.email))).first():
        raise Conflict(f"a user with email {account.email} already exists")
    chosen = password or secrets.token_urlsafe(12)
    await session.flush()
    now = utcnow()   # made by an administrator, who vouches for the address: verified
    user = User(id=new_id("user_", 8), account_id=account.id, email=account.email,
                password_hash=hash_password(chosen), is_admin=is_admin, created_at=now, email_verified_at=now)
    session.add(user)
    await session.flush()
    return NewUser(user, None if password else chosen)


def check_password(password: str) -> str:
    """For passwords people choose (the admin's from the environment predates this rule)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


async def user_by_email(session: AsyncSession, email: str) -> User:
    user = (await session.execute(select(User).where(User.email == email.strip().lower()))).scalar()
    if user is None:
        raise NotFound(f"no user with email {email.strip().lower()}; create one with `alltoken users create`")
    return user
