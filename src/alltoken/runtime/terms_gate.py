"""The terms-of-service check on the data plane, from memory.

Every published version is held here (refreshed through the change feed when one is published);
each account's accepted version rides on its cached AccountRecord. Each material version in effect
must be accepted (it or a later one) within the grace period from its effective date: until then
responses carry `x-alltoken-terms-warning`, after it requests get 403 `terms_not_accepted`.
With no material version published, the check is one attribute test.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alltoken.accounts.cache import AccountRecord
from alltoken.accounts.terms import versions
from alltoken.errors import PermissionDenied
from alltoken.ids import utcnow
from alltoken.runtime.scope import Scope, add_response_header
from alltoken.store.models import TermsVersion

WARNING_HEADER = b"x-alltoken-terms-warning"


@dataclass(frozen=True, slots=True)
class RequiredTerms:
    version: str
    effective_at: datetime
    deadline: datetime          # effective_at + grace period
    url: str | None
    warning: bytes              # the header value while in grace


def _required(row: TermsVersion, grace: timedelta) -> RequiredTerms:
    deadline = row.effective_at + grace
    warning = f'version="{row.version}"; accept-by="{deadline.isoformat()}"; accept="POST /api/terms/accept"'
    return RequiredTerms(row.version, row.effective_at, deadline, row.url, warning.encode("latin-1", "replace"))


class TermsBook:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], grace_days: float):
        self._sessions = sessions
        self._grace = timedelta(days=grace_days)
        self._effective: dict[str, datetime] = {}      # version -> effective_at
        self._material: list[RequiredTerms] = []       # oldest first

    async def refresh(self) -> None:
        async with self._sessions() as session:
            published = await versions(session)
        self._effective = {row.version: row.effective_at for row in published}
        self._material = [_required(row, self._grace) for row in published if row.material]

    def current(self, now: datetime | None = None) -> str | None:
        """The version in effect (the newest that has started), None if none was published."""
        now = now or utcnow()
        started = [(at, version) for version, at in self._effective.items() if at <= now]
        return max(started)[1] if started else None

    def owed(self, accepted_effective_at: datetime | None, now: datetime) -> RequiredTerms | None:
        """The oldest material version in effect at `now` that an account is yet to accept, given the
        effective date of the newest version it accepted (None: it accepted none)."""
        for material in self._material:
            if material.effective_at > now:
                return None
            if accepted_effective_at is None or material.effective_at > accepted_effective_at:
                return material
        return None

    def check(self, account: AccountRecord, scope: Scope) -> None:
        """Let the request through (with a warning header while in grace) or raise 403 terms_not_accepted.
        Administrators' accounts run the platform and are not held to its customer terms."""
        if not self._material or account.is_admin:
            return
        now = utcnow()
        accepted = account.terms_version
        owed = self.owed(self._effective.get(accepted) if accepted is not None else None, now)
        if owed is None:
            return
        if now < owed.deadline:
            add_response_header(scope, WARNING_HEADER, owed.warning)
            return
        raise PermissionDenied(not_accepted_message(owed.version, account.id, owed.url, owed.deadline),
                               code="terms_not_accepted")


def not_accepted_message(version: str, account_id: str, url: str | None, deadline: datetime | None = None) -> str:
    due = f" (acceptance was due by {deadline.isoformat()})" if deadline is not None else ""
    read = f" Read them at {url}." if url else ""
    return (f"this account has not accepted version {version} of the terms of service{due}.{read} The account's "
            "owner accepts them in the console (Settings, or POST /api/terms/accept from their session), or an "
            f"administrator runs `alltoken terms accept --account {account_id}`; then retry.")
