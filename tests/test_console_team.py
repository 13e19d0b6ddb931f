"""Teams in the browser: an owner creates a team and invites a colleague by email; the colleague signs up
through the emailed link, joins as a developer, finds the team in the account switcher and makes a key in
it; the owner sees them among the members. Screenshots land in test-artifacts/screenshots/."""

import re
from email import message_from_bytes, policy

import pytest
from playwright.async_api import expect

from .console_helpers import PASSWORD, SCREENSHOTS, grant, nav, new_email, shoot, sign_up
from .fakes.smtp_inbox import SENDER, Inbox, running_inbox
from .harness import Gateway, wait_for


@pytest.fixture(scope="module")
def inbox():
    with running_inbox() as (mail, port):
        mail.port = port
        yield mail


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, inbox):
    config = {"smtp": {"host": "127.0.0.1", "port": inbox.port, "security": "none", "from": SENDER}}
    started = Gateway(tmp_path_factory.mktemp("console-team"), config).start()
    yield started
    started.stop()


def invitation_link(inbox: Inbox, address: str) -> str:
    assert wait_for(lambda: any(address in recipients for _, recipients, _ in inbox.messages), timeout=10)
    raw = next(raw for _, recipients, raw in inbox.messages if address in recipients)
    message = message_from_bytes(raw, policy=policy.default)
    assert "as developer" in message.get_content()
    return re.search(r"https?://\S+/invitation\?token=\S+", message.get_content()).group(0)


async def test_an_owner_invites_a_colleague_who_signs_up_joins_and_makes_a_team_key(open_page, gateway, inbox):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    owner = await open_page()
    await sign_up(owner, new_email())
    await nav(owner, "Team")
    await owner.get_by_label("Team name").fill("Acme Research")
    await owner.get_by_role("button", name="Create team").click()
    await expect(owner.get_by_role("heading", name="Members")).to_be_visible()
    await expect(owner.get_by_text("Acme Research", exact=True)).to_be_visible()
    team = (await (await owner.request.get("/api/auth/me")).json())["account_id"]
    await grant(owner, gateway, team, "5", "5.000000")
    await expect(owner.get_by_label("Account")).to_have_value(team)       # the switcher: personal + team

    colleague_email = new_email()
    await owner.get_by_label("Email").fill(colleague_email)
    await owner.get_by_label("Role").select_option("developer")
    await owner.get_by_label("Spending limit in USD (optional)").fill("3")
    await owner.get_by_role("button", name="Send invitation").click()
    await expect(owner.get_by_text(f"Invitation emailed to {colleague_email}.")).to_be_visible()
    pending = owner.get_by_role("table", name="Pending invitations")
    await expect(pending.get_by_role("row", name=re.compile(re.escape(colleague_email)))).to_contain_text("developer")
    await shoot(owner, SCREENSHOTS / "team-owner-invited.png")

    link = invitation_link(inbox, colleague_email)
    colleague = await open_page()
    await colleague.goto(link)
    await expect(colleague.get_by_text(f"invites {colleague_email} to join as developer")).to_be_visible()
    await shoot(colleague, SCREENSHOTS / "team-invitation-signed-out.png")
    await colleague.get_by_role("link", name="Create an account").click()
    await expect(colleague.get_by_label("Email")).to_have_value(colleague_email)
    await colleague.get_by_label("Password").fill(PASSWORD)
    await colleague.get_by_label("I accept the AllToken terms of service").check()
    await colleague.get_by_role("button", name="Create account").click()
    join = colleague.get_by_role("button", name="Join Acme Research")
    await expect(join).to_be_visible()                                   # back on the invitation, signed in
    await shoot(colleague, SCREENSHOTS / "team-invitation-accept.png")
    await join.click()
    await expect(colleague).to_have_url("/team")
    await expect(colleague.get_by_role("heading", name="Team", level=1)).to_be_visible()
    await expect(colleague.get_by_text("Your role is developer")).to_be_visible()
    switcher = colleague.get_by_label("Account")
    await expect(switcher).to_have_value(team)
    await expect(switcher.get_by_role("option")).to_have_text(["Personal account (owner)",
                                                               "Acme Research (developer)"])
    await expect(colleague.get_by_role("heading", name="Invite someone")).to_have_count(0)   # not a manager
    await shoot(colleague, SCREENSHOTS / "team-member-view.png")

    await nav(colleague, "API keys")
    await colleague.get_by_label("Name").fill("colleague's key")
    await colleague.get_by_role("button", name="Create key").click()
    await expect(colleague.get_by_role("heading", name="Your new key: colleague's key")).to_be_visible()
    keys = await (await colleague.request.get("/api/account/keys")).json()
    me = await (await colleague.request.get("/api/auth/me")).json()
    assert [(k["name"], k["account_id"], k["user_id"]) for k in keys] == [("colleague's key", team, me["user_id"])]
    await shoot(colleague, SCREENSHOTS / "team-member-key.png")

    await switcher.select_option(label="Personal account (owner)")        # and back to their own account
    await expect(colleague.get_by_text("No keys yet.")).to_be_visible()
    assert (await (await colleague.request.get("/api/auth/me")).json())["account_id"] != team

    await owner.reload()
    members = owner.get_by_role("table", name="Team members")
    row = members.get_by_role("row", name=re.compile(re.escape(colleague_email)))
    await expect(row).to_contain_text("developer")
    await expect(row).to_contain_text("$3.00")
    await expect(owner.get_by_text("No pending invitations.")).to_be_visible()
    await shoot(owner, SCREENSHOTS / "team-owner-members.png")
