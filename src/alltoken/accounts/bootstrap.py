"""First start on an empty database: create the admin user."""

import os
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from alltoken.accounts.users import create_user
from alltoken.store.models import User


@dataclass
class CreatedAdmin:
    email: str
    password: str | None     # shown once when we generated it; None when it came from the environment


async def ensure_admin(sessions: async_sessionmaker, env=os.environ) -> CreatedAdmin | None:
    async with sessions.begin() as session:
        if (await session.execute(select(func.count()).select_from(User))).scalar_one():
            return None
        email = env.get("ALLTOKEN_ADMIN_EMAIL") or "admin@localhost"
        new = await create_user(session, email, env.get("ALLTOKEN_ADMIN_PASSWORD") or None, name="Administrators",
                                is_admin=True)
    return CreatedAdmin(email=new.user.email, password=new.password)
