"""The email that invites someone to a team: who invites them, to which team, as what, and the link."""

import logging

from alltoken.notifications.mailer import Mailer
from alltoken.store.models import TeamInvitation

log = logging.getLogger(__name__)


def invitation_text(team_name: str, invitation: TeamInvitation, link: str) -> tuple[str, str]:
    """(subject, body)."""
    subject = f"You are invited to join {team_name} on AllToken"
    body = (f"You are invited to join the team {team_name} on AllToken as {invitation.role}.\n\n"
            f"Accept the invitation here (sign up first with this address, {invitation.email}, if you have no "
            f"AllToken account yet):\n\n{link}\n\n"
            f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC. "
            "If you did not expect this invitation, ignore this email.\n")
    return subject, body


async def send_invitation(smtp_settings, team_name: str, invitation: TeamInvitation, link: str) -> bool:
    """True when the SMTP server took the message; False without SMTP settings or when sending failed."""
    if smtp_settings is None:
        return False
    subject, body = invitation_text(team_name, invitation, link)
    try:
        await Mailer(smtp_settings).send(invitation.email, subject, body)
    except Exception as exc:  # noqa: BLE001  (any SMTP or network failure: the caller shows the link instead)
        log.warning("team invitation %s not emailed: %s", invitation.id, type(exc).__name__)
        return False
    return True
