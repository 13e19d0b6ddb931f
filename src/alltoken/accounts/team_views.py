"""How a team and its members look in the management API and the CLI's --json output."""

from datetime import datetime

from pydantic import BaseModel, Field

from alltoken.money import units_to_usd_str
from alltoken.periods import next_reset
from alltoken.store.models import Account, TeamMember, User


class MemberView(BaseModel):
    user_id: str
    email: str
    role: str
    limit_usd: str | None = Field(description="The member's own spending limit in the team; null: none")
    limit_reset: str | None = Field(description="daily | weekly | monthly (UTC); null: the limit never resets")
    limit_resets_at: datetime | None
    spent_usd: str = Field(description="Spent through the member's keys since `spent_since`")
    spent_since: datetime = Field(description="Start of the current period, or when the member joined if later")
    remaining_usd: str | None
    joined_at: datetime


class TeamView(BaseModel):
    id: str
    name: str | None
    email: str
    balance_usd: str = Field(description="The team's balance, shared by every member")
    members: list[MemberView]


def member_view(member: TeamMember, user: User, spent: int, since: datetime, now: datetime) -> MemberView:
    limit = member.limit_units
    return MemberView(
        user_id=user.id, email=user.email, role=member.role,
        limit_usd=None if limit is None else units_to_usd_str(limit), limit_reset=member.limit_reset,
        limit_resets_at=next_reset(member.limit_reset, now) if member.limit_reset else None,
        spent_usd=units_to_usd_str(spent), spent_since=since,
        remaining_usd=None if limit is None else units_to_usd_str(max(limit - spent, 0)),
        joined_at=member.created_at)


def team_view(account: Account, balance_units: int, members: list[MemberView]) -> TeamView:
    return TeamView(id=account.id, name=account.name, email=account.email,
                    balance_usd=units_to_usd_str(balance_units), members=members)
