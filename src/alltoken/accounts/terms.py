"""Acceptance of the terms of service, and of the image-upload warranty (terms §4.8) that image
edits and variations need first. Each acceptance is recorded with the terms version and time."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..ids import utcnow
from ..store.models import TermsAcceptance
from .service import get_account


async def accept_terms(session: AsyncSession, account_id: str, version: str,
                       image_uploads: bool = False) -> TermsAcceptance:
    """Record an acceptance of `version` (with the §4.8 warranty when image_uploads); accepting what
    was already accepted returns that record unchanged."""
    await get_account(session, account_id)
    existing = await latest_acceptance(session, account_id, version, image_uploads)
    if existing is not None:
        return existing
    row = TermsAcceptance(account_id=account_id, version=version, image_uploads=image_uploads, accepted_at=utcnow())
    session.add(row)
    await session.flush()
    return row


async def latest_acceptance(session: AsyncSession, account_id: str, version: str,
                            image_uploads: bool = False) -> TermsAcceptance | None:
    query = (select(TermsAcceptance)
             .where(TermsAcceptance.account_id == account_id, TermsAcceptance.version == version)
             .order_by(TermsAcceptance.accepted_at.desc()).limit(1))
    if image_uploads:
        query = query.where(TermsAcceptance.image_uploads.is_(True))
    return (await session.execute(query)).scalar()


class UploadRights:
    """Which accounts gave the §4.8 warranty for the terms version in force. Only a yes is cached:
    an acceptance is never withdrawn, and one made elsewhere (CLI, another process) shows up on the
    account's next image request."""

    def __init__(self, sessions: async_sessionmaker, version: str):
        self._sessions = sessions
        self.version = version
        self._accepted: set[str] = set()

    async def granted(self, account_id: str) -> bool:
        if account_id in self._accepted:
            return True
        async with self._sessions() as session:
            found = await latest_acceptance(session, account_id, self.version, image_uploads=True)
        if found is not None:
            self._accepted.add(account_id)
        return found is not None
