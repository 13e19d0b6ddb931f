"""Emails that carry a link into the console (password reset, email verification). The link is built from
configuration, never from the request's Host header, which an attacker could set to have a victim's token
sent to their own site. A failed send is logged without the address or the token; the person may ask again."""

import logging
from urllib.parse import quote

from alltoken.config import Settings
from alltoken.http.errors import ApiError
from alltoken.notifications.mailer import Mailer

log = logging.getLogger("alltoken.emailed_links")


def console_link(settings: Settings, page: str, token: str) -> str:
    """`<console_url>/<page>?token=...`; without console_url, the server's own address."""
    base = (settings.console_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    return f"{base}/{page}?token={quote(token)}"


def email_unavailable(what: str) -> ApiError:
    """Without smtp settings: `what` ("a reset link") cannot be sent, and the answer says so."""
    return ApiError(503, f"this server sends no email, so it cannot send {what}: ask its administrator",
                    type="api_error", code="email_unavailable")


async def send(settings: Settings, recipient: str, subject: str, text: str) -> None:
    """For a background task, after the answer went out (only where smtp is set: the endpoints check)."""
    if settings.smtp is None:
        return
    try:
        await Mailer(settings.smtp).send(recipient, subject, text)
    except Exception as exc:
        log.warning("could not send the email %r: %s", subject, type(exc).__name__)
