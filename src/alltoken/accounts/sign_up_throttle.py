"""Sign-up throttling: at most `per_address_per_hour` sign-ups from one client address in any hour, and
`per_minute` from everyone together in any minute. Counted in the rate limiter: in the process by default,
in Redis when it is configured, so every process shares one count. Checked before the password is hashed,
so a refused sign-up costs next to nothing; a sign-up the server was too busy to hash is given back."""

import itertools
import secrets
from dataclasses import dataclass

from alltoken.config.sign_up import SignUpSettings
from alltoken.limits.base import RateLimiter, Window

HOUR, MINUTE = 3600.0, 60.0


class Throttled(Exception):
    def __init__(self, seconds: float):
        super().__init__(f"throttled for {seconds:.0f} s")
        self.seconds = seconds


@dataclass(frozen=True, slots=True)
class Counted:
    """One sign-up as the windows counted it, to give back."""

    windows: tuple[str, ...]
    entry: str


class SignUpThrottle:
    def __init__(self, limiter: RateLimiter, settings: SignUpSettings):
        self._limiter = limiter
        self._settings = settings
        self._entries = (f"signup:{secrets.token_hex(4)}:{n}" for n in itertools.count())

    async def count(self, address: str | None) -> Counted:
        """Count a sign-up from `address`, or raise Throttled with the seconds until it would fit (counting
        nothing)."""
        entry = next(self._entries)
        windows = [Window("signup:all", self._settings.per_minute, MINUTE, entry=entry)]
        if address:
            windows.append(Window(f"signup:ip:{address}", self._settings.per_address_per_hour, HOUR, entry=entry))
        verdict = await self._limiter.admit(windows, ())
        if not verdict.allowed:
            raise Throttled(max(decision.retry_after for decision in verdict.windows if not decision.allowed))
        return Counted(tuple(window.key for window in windows), entry)

    async def give_back(self, counted: Counted) -> None:
        for key in counted.windows:
            await self._limiter.adjust(key, counted.entry, -1)
