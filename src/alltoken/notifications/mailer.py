"""Outgoing email over SMTP (aiosmtplib), as the `smtp:` settings say."""

from email.message import EmailMessage

import aiosmtplib

from alltoken.config import SmtpSettings


class Mailer:
    def __init__(self, settings: SmtpSettings):
        self._settings = settings

    async def send(self, recipient: str, subject: str, text: str) -> None:
        """Deliver a plain-text message to the SMTP server; raises on any failure."""
        smtp = self._settings
        message = EmailMessage()
        message["From"] = smtp.sender
        message["To"] = recipient
        message["Subject"] = subject
        message.set_content(text)
        await aiosmtplib.send(message, hostname=smtp.host, port=smtp.port, username=smtp.username,
                              password=smtp.password, use_tls=smtp.security == "tls",
                              start_tls=smtp.security == "starttls", timeout=smtp.timeout_seconds)
