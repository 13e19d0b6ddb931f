"""/api/auth/*: console sign-up, sign-in, sign-out and password change (sign_in.py), password reset,
re-authentication, email verification, and switching the account a session acts in. Beside them their helpers:
password_work.py (hashing off the event loop), emailed_links.py, sign_up_gate.py (the sign-up throttle)."""

from fastapi import APIRouter

from alltoken.http.api.auth import email_verification, password_reset, reauthentication, sign_in, switch_account

router = APIRouter()
for _part in (sign_in, password_reset, reauthentication, email_verification, switch_account):
    router.include_router(_part.router)
