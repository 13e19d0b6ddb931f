"""How the management API changes anything: one transaction and its audit-log entries, committed together or
not at all. A mutating endpoint takes the dependency as a parameter, `change: Audited`, and writes through it:

    async with change.begin(caller.actor) as tx:
        row = await do_it(tx.session, ...)
        await tx.audit("things.do", row.id, {"why": ...})

The entries carry the actor given to `begin` (user:<id> for a console session, key:<id> for an API key, or
anonymous / system) and the address the call came from (behind a trusted proxy, the client's)."""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alltoken import audit
from alltoken.http.client_address import client_address
from alltoken.http.gateway import gateway_of


@dataclass(frozen=True, slots=True)
class AuditedTransaction:
    """An open transaction, and the audit entries it writes as `actor` from `address`."""

    session: AsyncSession
    actor: str
    address: str | None

    async def audit(self, action: str, target: str | None = None, details: dict[str, Any] | None = None) -> None:
        await audit.record(self.session, self.actor, action, target, details, self.address)

    def by(self, actor: str) -> "AuditedTransaction":
        """The same transaction, its entries by `actor`: who acts may be learnt only inside it (the user a
        sign-in or an emailed token turns out to be)."""
        return replace(self, actor=actor)


@dataclass(frozen=True, slots=True)
class Change:
    """One request's way to change the platform: transactions that carry its audit entries."""

    sessions: async_sessionmaker[AsyncSession]
    address: str | None

    def begin(self, actor: str) -> AbstractAsyncContextManager[AuditedTransaction]:
        return _transaction(self.sessions, actor, self.address)

    def system(self) -> AbstractAsyncContextManager[AuditedTransaction]:
        """For what the server does by itself along the way (sending an email): by `system`, from no address."""
        return _transaction(self.sessions, "system", None)


@asynccontextmanager
async def _transaction(sessions: async_sessionmaker[AsyncSession], actor: str,
                       address: str | None) -> AsyncIterator[AuditedTransaction]:
    async with sessions.begin() as session:
        yield AuditedTransaction(session, actor, address)


def change(request: Request) -> Change:
    return Change(gateway_of(request).sessions, client_address(request))


Audited = Annotated[Change, Depends(change)]
