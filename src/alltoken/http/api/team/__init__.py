"""/api/team/*: the team the caller acts in: its members, their roles and limits (members.py), and
invitations to it (invitations.py)."""

from fastapi import APIRouter

from alltoken.http.api.team import invitations, members

router = APIRouter()
for _part in (members, invitations):
    router.include_router(_part.router)
