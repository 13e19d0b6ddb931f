"""First start on an empty database: create the admin user."""

import os
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from ..ids import new_id, utcnow
from ..store.models import User
from .service import create_account


@dataclass
class CreatedAdmin:
    email: str
    password: str | None     # shown once when we generated it; None when it came from the environment


async def ensure_admin(sessions: async_sessionmaker, env=os.environ) -> CreatedAdmin | None:
    async with sessions.begin() as session:
        if (await session.execute(select(func.count()).select_from(User))).scalar_one():
            return None
        email = env.get("ALLTOKEN_ADMIN_EMAIL") or "admin@localhost"
        chosen = env.get("ALLTOKEN_ADMIN_PASSWORD")
        password = chosen or secrets.token_urlsafe(12)
        account = await create_account(session, email, name="Administrators")
        await session.flush()
        session.add(User(id=new_id("user_", 8), account_id=account.id, email=account.email,
                         password_hash=PasswordHasher().hash(password), is_admin=True, created_at=utcnow()))
    return CreatedAdmin(email=account.email, password=None if chosen else password)
