"""Rate limits at admission, after authentication and before the credit hold.

A request counts against the requests/minute, tokens/minute and concurrent requests of its key,
its account and its account's use of the model, all of them or none (a 429 names the limit it
hit). Tokens are estimated at admission (input bound plus the most output the request allows) and
corrected to the usage `finish` reports; a request that failed or was refused later (402) gives
its tokens back and still counts as a request. What a request took is settled when its response
has ended, however it ended (RateLimitMiddleware): the token correction, the slot given back.

Endpoints that cost are admitted through runtime/admission.py, which calls `admit` before the
credit hold; `finish` reports the tokens used and the middleware does the rest.
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from alltoken.config.rate_limits import Limits
from alltoken.errors import SharedStateUnavailable
from alltoken.limits.base import Gate, RateLimiter, Window
from alltoken.runtime.exchange import Caller
from alltoken.runtime.rate_limit_errors import Limited, rate_limit_headers, refusal
from alltoken.runtime.scope import REQUEST_ID_KEY, ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("alltoken.limits")

WINDOW_SECONDS = 60.0
SWEEP_SECONDS = 60.0


@dataclass(slots=True)
class _Taken:
    tokens: list[tuple[str, int]]       # (window key, tokens counted there)
    gates: list[str]
    headers: list[tuple[bytes, bytes]]
    used_tokens: int = 0                # what the request used, once `finish` knows


class RateLimits:
    def __init__(self, limiter: RateLimiter):
        self._limiter = limiter
        self._taken: dict[str, _Taken] = {}    # request id -> what it counted, until its response ends

    async def admit(self, request_id: str, caller: Caller, model_id: str, tokens: int) -> None:
        """Count the request against every limit that applies, or raise the 429 of the one it exceeds."""
        account = caller.account.rate_limits
        if not account.any and not caller.key.rate_limits.any:
            return
        scopes = (("key", f"k:{caller.key.id}", account.for_key(caller.key.rate_limits)),
                  ("account", f"a:{caller.account.id}", account.account),
                  (model_id, f"m:{caller.account.id}:{model_id}", account.models.get(model_id)))
        limited = [item for scope, prefix, limits in scopes if limits is not None
                   for item in _limited(scope, prefix, limits, request_id, tokens)]
        if not limited:
            return
        windows = [item.ask for item in limited if isinstance(item.ask, Window)]
        gates = [item.ask for item in limited if isinstance(item.ask, Gate)]
        # Unreachable shared state raises SharedStateUnavailable: a limit nobody can count is not waived.
        verdict = await self._limiter.admit(windows, gates)
        headers = rate_limit_headers(limited, verdict)
        if not verdict.allowed:
            raise refusal(limited, verdict, tokens, headers)
        self._taken[request_id] = _Taken([(w.key, w.units) for w in windows if w.entry], [g.key for g in gates],
                                         [(name.encode(), value.encode()) for name, value in headers.items()])

    def used(self, request_id: str, tokens: int) -> None:
        """The tokens a request used (input and output), to correct its estimate when it ends."""
        taken = self._taken.get(request_id)
        if taken is not None:
            taken.used_tokens = tokens

    def headers(self, request_id: str) -> list[tuple[bytes, bytes]] | None:
        taken = self._taken.get(request_id)
        return taken.headers if taken is not None else None

    async def end(self, request_id: str) -> None:
        """The response has ended: correct the token estimate and give the slots back."""
        taken = self._taken.pop(request_id, None)
        if taken is None:
            return
        try:
            for key, counted in taken.tokens:
                if taken.used_tokens != counted:
                    await self._limiter.adjust(key, request_id, taken.used_tokens - counted)
            for key in taken.gates:
                await self._limiter.release(key)
        except SharedStateUnavailable:
            # The response is already sent. A shared slot comes back when its lease runs out; an
            # uncorrected estimate leaves its window with it.
            log.warning("could not settle a request's rate limits: the shared state store is unreachable")

    async def close(self) -> None:
        close = getattr(self._limiter, "close", None)
        if close is not None:
            await close()

    async def sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            self._limiter.sweep()


def limits_in_force(caller: Caller) -> dict[str, Any]:
    """The calling key's rate limits, its account's, and its account's per model (GET /v1/key)."""
    limits = caller.account.rate_limits
    return {"key": limits.for_key(caller.key.rate_limits).as_dict(), "account": limits.account.as_dict(),
            "models": {model: values.as_dict() for model, values in sorted(limits.models.items())}}


def _limited(scope: str, prefix: str, limits: Limits, request_id: str, tokens: int) -> list[Limited]:
    """The windows and gate of one scope's limits. A token estimate above the limit itself counts
    as the whole limit: the request waits for an empty window instead of never fitting."""
    found = []
    if limits.rpm is not None:
        found.append(Limited(scope, "requests", Window(prefix + ":r", limits.rpm, WINDOW_SECONDS)))
    if limits.tpm is not None:
        units = min(tokens, limits.tpm)
        found.append(Limited(scope, "tokens", Window(prefix + ":t", limits.tpm, WINDOW_SECONDS, units, request_id)))
    if limits.concurrency is not None:
        found.append(Limited(scope, "concurrency", Gate(prefix + ":c", limits.concurrency)))
    return found


class RateLimitMiddleware:
    """Puts the x-ratelimit-* headers on a limited request's response, and settles what the request
    took once the response has ended, on every path: sent in full, failed, or the client gone."""

    def __init__(self, app: ASGIApp, rate_limits: RateLimits):
        self.app = app
        self.rate_limits = rate_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = scope[REQUEST_ID_KEY]
        limits = self.rate_limits

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = limits.headers(request_id)
                if headers:
                    message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            await limits.end(request_id)
