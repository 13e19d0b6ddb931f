"""Sign-up throttling: at most `per_address_per_hour` sign-ups from one client address in any hour, and
`per_minute` from everyone together in any minute. Counted in the rate limiter: in the process by default,
in Redis when it is configured, so every process shares one count. Checked before the password is hashed,
so a refused sign-up costs next to nothing."""

from ..config.sign_up import SignUpSettings
from ..limits.base import RateLimiter, Window

HOUR, MINUTE = 3600.0, 60.0


class SignUpThrottle:
    def __init__(self, limiter: RateLimiter, settings: SignUpSettings):
        self._limiter = limiter
        self._settings = settings

    async def seconds_to_wait(self, address: str | None) -> float:
        """0, and the sign-up is counted; else the seconds until it would fit (and nothing is counted)."""
        windows = [Window("signup:all", self._settings.per_minute, MINUTE)]
        if address:
            windows.append(Window(f"signup:ip:{address}", self._settings.per_address_per_hour, HOUR))
        verdict = await self._limiter.admit(windows, ())
        if verdict.allowed:
            return 0.0
        return max(decision.retry_after for decision in verdict.windows if not decision.allowed)
