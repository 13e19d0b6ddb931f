"""Redemption codes as administrators see them: per code its hint, worth, uses left and how many accounts
redeemed it, newest batch first. The codes themselves are never stored (billing/codes.py keeps their hashes)."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.store.models import CodeRedemption, RedemptionCode


async def code_list(session: AsyncSession, limit: int, batch_id: str | None = None) -> list[dict]:
    redeemed = (select(CodeRedemption.code_hash, func.count().label("redemptions"))
                .group_by(CodeRedemption.code_hash).subquery())
    statement = (select(RedemptionCode, func.coalesce(redeemed.c.redemptions, 0))
                 .outerjoin(redeemed, redeemed.c.code_hash == RedemptionCode.code_hash))
    if batch_id is not None:
        statement = statement.where(RedemptionCode.batch_id == batch_id)
    rows = await session.execute(statement.order_by(RedemptionCode.created_at.desc(), RedemptionCode.batch_id,
                                                    RedemptionCode.hint).limit(limit))
    return [{"batch_id": code.batch_id, "hint": code.hint, "amount_units": code.amount_units,
             "uses_left": code.uses_left, "redemptions": int(count), "expires_at": code.expires_at,
             "created_at": code.created_at} for code, count in rows]
