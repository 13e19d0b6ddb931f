"""Low-balance email: every server checks the accounts that set a threshold every
`alerts.interval_seconds`, and one email goes out each time a balance falls below its threshold.

The balance is first read from this process's credit book (in memory, so a check costs no
database work for accounts that did not cross); a crossing is then confirmed against the ledger
by the conditional UPDATEs of billing/alerts.py, which is what makes several processes agree.
The email holds the account id, balance, threshold and how to top up: never any request content.
"""

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alltoken.billing import alerts
from alltoken.billing.ledger import balance_units
from alltoken.billing.reservations import CreditBook
from alltoken.config import AlertSettings, Settings
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_str
from alltoken.notifications.mailer import Mailer

log = logging.getLogger("alltoken.alerts")

# How long a process may take to send one email before another may try; well above the SMTP timeout.
SEND_LEASE = timedelta(minutes=5)


async def low_balance_loop(settings: Settings, sessions: async_sessionmaker[AsyncSession], book: CreditBook) -> None:
    """The background task of a running server (runtime/gateway.py)."""
    mailer = Mailer(settings.smtp) if settings.smtp else None
    await LowBalanceAlerts(sessions, book, settings.alerts, mailer).run()


class LowBalanceAlerts:
    def __init__(self, sessions: async_sessionmaker, book: CreditBook, settings: AlertSettings,
                 mailer: Mailer | None):
        self._sessions = sessions
        self._book = book
        self._settings = settings
        self._mailer = mailer
        self._said_no_smtp = False

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._settings.interval_seconds)
            try:
                await self.check(utcnow())
            except Exception as exc:  # the database may be away; the next tick tries again
                log.warning("low-balance check failed, will retry: %s", type(exc).__name__)

    async def check(self, now: datetime) -> None:
        async with self._sessions() as session:
            watched = await alerts.watched(session)
        for alert in watched:
            below = await self._book.balance_units(alert.account_id) < alert.threshold_units
            if below != alert.triggered:
                async with self._sessions.begin() as session:
                    await (alerts.trigger(session, alert.account_id, now) if below
                           else alerts.rearm(session, alert.account_id))
        await self._send_due(now)

    async def _send_due(self, now: datetime) -> None:
        async with self._sessions() as session:
            due = await alerts.due_emails(session, now)
        if not due:
            return
        if self._mailer is None:
            if not self._said_no_smtp:
                log.warning("low-balance alerts are recorded but not emailed: no smtp host is configured")
                self._said_no_smtp = True
            return
        for email in due:
            await self._send(self._mailer, email, now)

    async def _send(self, mailer: Mailer, email: alerts.DueEmail, now: datetime) -> None:
        async with self._sessions.begin() as session:
            if not await alerts.claim_email(session, email.account_id, now, SEND_LEASE):
                return  # another process has it
            balance = await balance_units(session, email.account_id)
        try:
            await mailer.send(email.recipient, f"AllToken: low balance on account {email.account_id}",
                                    self.text(email, balance))
        except Exception as exc:  # the server's reply may quote the message: log only the kind of failure
            log.warning("low-balance email for account %s failed, will retry: %s", email.account_id,
                        type(exc).__name__)
            async with self._sessions.begin() as session:
                await alerts.email_failed(session, email.account_id)
            return
        async with self._sessions.begin() as session:
            await alerts.email_sent(session, email.account_id, utcnow())
        log.info("low-balance email sent for account %s", email.account_id)

    def text(self, email: alerts.DueEmail, balance: int) -> str:
        top_up = (f"Add credits at {self._settings.top_up_url}" if self._settings.top_up_url else
                  "Ask your AllToken administrator to add credits, or redeem a credit code with "
                  "POST /v1/credits/redeem")
        return (f"The balance of AllToken account {email.account_id} is {units_to_usd_str(balance)} USD, below "
                f"the low-balance alert threshold of {units_to_usd_str(email.threshold_units)} USD.\n\n"
                "Requests are refused (402) once the balance cannot cover them. "
                f"{top_up}.\n\n"
                "This email is sent once each time the balance falls below the threshold. "
                "Change or turn off the alert with PUT /api/billing/alerts.\n")
