"""UPDATE and DELETE statements whose caller needs to know how many rows they changed."""

from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Update
from sqlalchemy.ext.asyncio import AsyncSession


async def changed_rows(session: AsyncSession, statement: Update | Delete) -> int:
    """Run the statement; the number of rows it matched (a DML statement's result is a cursor result)."""
    return cast(CursorResult[Any], await session.execute(statement)).rowcount
