"""Terms of service: published versions with effective dates, and each account's acceptance.

The current version is the newest one in effect. A material version makes every account accept it
(or a later one) within the grace period from its effective date; the data plane enforces that
(runtime/terms_gate.py). Creating a key through the management API needs the current version
accepted, whether material or not.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alltoken.accounts.service import get_account
from alltoken.errors import Conflict, NotFound
from alltoken.ids import utcnow
from alltoken.store.changes import record_change
from alltoken.store.models import TermsAcceptance, TermsVersion

MAX_VERSION_LENGTH = 40


class TermsNotAccepted(Exception):
    """The account has not accepted the version in effect, and the action needs it."""

    def __init__(self, version: TermsVersion):
        super().__init__(f"terms of service version {version.version} not accepted")
        self.version, self.url = version.version, version.url


async def publish(session: AsyncSession, version: str, effective_at: datetime, *, material: bool = False,
                  url: str | None = None, summary: str | None = None) -> TermsVersion:
    """A new version, taking effect after every version published before it (versions never change)."""
    version = version.strip()
    if not version or len(version) > MAX_VERSION_LENGTH:
        raise ValueError(f"a terms version is 1 to {MAX_VERSION_LENGTH} characters, e.g. 2026-07")
    if effective_at.tzinfo is None:
        raise ValueError("give the effective time with a timezone, e.g. 2026-07-01T00:00:00Z")
    if await session.get(TermsVersion, version) is not None:
        raise Conflict(f"terms version {version} is already published; published versions do not change")
    latest = (await session.execute(select(TermsVersion).order_by(TermsVersion.effective_at.desc()).limit(1))).scalar()
    if latest is not None and effective_at <= latest.effective_at:
        raise ValueError(f"version {version} must take effect after version {latest.version} "
                         f"({latest.effective_at.isoformat()})")
    row = TermsVersion(version=version, effective_at=effective_at, material=material, url=url, summary=summary,
                       published_at=utcnow())
    session.add(row)
    await record_change(session, "terms", version)
    return row


async def versions(session: AsyncSession) -> list[TermsVersion]:
    """Every published version, oldest effective date first."""
    return list((await session.scalars(select(TermsVersion).order_by(TermsVersion.effective_at))).all())


async def current_version(session: AsyncSession, now: datetime | None = None) -> TermsVersion | None:
    """The newest version in effect at `now`."""
    return (await session.execute(select(TermsVersion).where(TermsVersion.effective_at <= (now or utcnow()))
                                  .order_by(TermsVersion.effective_at.desc()).limit(1))).scalar()


async def latest_acceptance(session: AsyncSession, account_id: str) -> tuple[TermsAcceptance, TermsVersion] | None:
    """The account's acceptance of the newest version it accepted."""
    return (await session.execute(
        select(TermsAcceptance, TermsVersion).join(TermsVersion, TermsVersion.version == TermsAcceptance.version)
        .where(TermsAcceptance.account_id == account_id)
        .order_by(TermsVersion.effective_at.desc(), TermsAcceptance.id.desc()).limit(1))).first()


async def accept(session: AsyncSession, account_id: str, *, image_uploads: bool = False,
                 now: datetime | None = None) -> TermsAcceptance:
    """Record that the account accepts the current version (and, with `image_uploads`, the warranty
    for uploaded images of section 4.8)."""
    await get_account(session, account_id)
    now = now or utcnow()
    current = await current_version(session, now)
    if current is None:
        raise NotFound("no terms of service are in effect yet: publish a version first (alltoken terms publish)")
    row = TermsAcceptance(account_id=account_id, version=current.version, image_uploads=image_uploads,
                          accepted_at=now)
    session.add(row)
    await record_change(session, "account", account_id)  # servers reload the account's accepted version
    return row


async def owed_version(session: AsyncSession, account_id: str) -> TermsVersion | None:
    """The version in effect when the account has not accepted it (nor a later one); else None."""
    current = await current_version(session)
    if current is None:
        return None
    latest = await latest_acceptance(session, account_id)
    return None if latest is not None and latest[1].effective_at >= current.effective_at else current


async def accepts_current(session: AsyncSession, account_id: str) -> bool:
    return await owed_version(session, account_id) is None


async def require_current(session: AsyncSession, account_id: str, accept_now: bool) -> TermsAcceptance | None:
    """For actions that need the current version accepted (creating a key through the API): accept it
    now when asked (returns the acceptance), else refuse with TermsNotAccepted."""
    owed = await owed_version(session, account_id)
    if owed is None:
        return None
    if not accept_now:
        raise TermsNotAccepted(owed)
    return await accept(session, account_id)


async def acceptances_of(session: AsyncSession, account_id: str) -> list[TermsAcceptance]:
    return list((await session.scalars(select(TermsAcceptance).where(TermsAcceptance.account_id == account_id)
                                       .order_by(TermsAcceptance.id))).all())


# The upload warranty (section 4.8) is given for the version in effect; before any version is
# published, it is recorded under this name.
UNPUBLISHED = "unpublished"


async def give_upload_warranty(session: AsyncSession, account_id: str, now: datetime | None = None) -> TermsAcceptance:
    """Record the section 4.8 warranty (and with it acceptance of the version in effect); giving it
    again for the same version returns the first record."""
    await get_account(session, account_id)
    now = now or utcnow()
    current = await current_version(session, now)
    version = current.version if current else UNPUBLISHED
    existing = await upload_warranty(session, account_id, version)
    if existing is not None:
        return existing
    row = TermsAcceptance(account_id=account_id, version=version, image_uploads=True, accepted_at=now)
    session.add(row)
    await record_change(session, "account", account_id)
    await session.flush()
    return row


async def upload_warranty(session: AsyncSession, account_id: str, version: str) -> TermsAcceptance | None:
    """The account's warranty for `version`, if it gave one."""
    return (await session.execute(
        select(TermsAcceptance).where(TermsAcceptance.account_id == account_id, TermsAcceptance.version == version,
                                      TermsAcceptance.image_uploads.is_(True))
        .order_by(TermsAcceptance.id).limit(1))).scalar()


class UploadRights:
    """Which accounts gave the section 4.8 warranty for the terms version in effect (image edits and
    variations need it). Only a yes is cached, per version: a new version asks again, and a warranty
    given elsewhere (CLI, another process) shows up on the account's next image request."""

    def __init__(self, sessions: async_sessionmaker, current_version: Callable[[], str | None]):
        self._sessions = sessions
        self._current_version = current_version
        self._granted: set[tuple[str, str]] = set()

    @property
    def version(self) -> str:
        return self._current_version() or UNPUBLISHED

    async def granted(self, account_id: str) -> bool:
        version = self.version
        if (account_id, version) in self._granted:
            return True
        async with self._sessions() as session:
            found = await upload_warranty(session, account_id, version)
        if found is not None:
            self._granted.add((account_id, version))
        return found is not None
