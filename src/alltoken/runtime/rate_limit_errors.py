"""What a rate-limited request is told: OpenAI's x-ratelimit-* headers for the tightest limit,
and the 429 naming the limit it hit, with a Retry-After of when it would fit."""

import math
from dataclasses import dataclass

from alltoken.errors import RateLimited
from alltoken.limits.base import Decision, Gate, Verdict, Window

_OWNERS = {"key": "this key's", "account": "this account's"}


@dataclass(slots=True)
class Limited:
    scope: str              # "key", "account", or the model id (the account's use of that model)
    kind: str               # requests | tokens | concurrency
    ask: Window | Gate


def decisions(limited: list[Limited], verdict: Verdict) -> list[tuple[Limited, Decision]]:
    windows, gates = iter(verdict.windows), iter(verdict.gates)
    return [(item, next(windows) if isinstance(item.ask, Window) else next(gates)) for item in limited]


def rate_limit_headers(limited: list[Limited], verdict: Verdict) -> dict[str, str]:
    """For requests and for tokens, the limit with the least left (OpenAI's names and formats)."""
    pairs = decisions(limited, verdict)
    headers = {}
    for kind in ("requests", "tokens"):
        found = [decision for item, decision in pairs if item.kind == kind]
        if found:
            tightest = min(found, key=lambda d: (d.remaining, -d.reset))
            headers[f"x-ratelimit-limit-{kind}"] = str(tightest.limit)
            headers[f"x-ratelimit-remaining-{kind}"] = str(tightest.remaining)
            headers[f"x-ratelimit-reset-{kind}"] = duration(tightest.reset)
    return headers


def refusal(limited: list[Limited], verdict: Verdict, tokens: int, headers: dict[str, str]) -> RateLimited:
    """The 429 for the limit that keeps the request out longest."""
    item, decision = max(((i, d) for i, d in decisions(limited, verdict) if not d.allowed),
                         key=lambda pair: pair[1].retry_after)
    wait = max(math.ceil(decision.retry_after), 1)
    return RateLimited(_message(item, decision, tokens, wait), limit=item.kind, retry_after=wait, standing=headers)


def _message(item: Limited, decision: Decision, tokens: int, wait: int) -> str:
    owner = _OWNERS.get(item.scope, "this account's")
    model = "" if item.scope in _OWNERS else f" for model '{item.scope}'"
    if item.kind == "concurrency":
        return (f"{owner} limit of {_count(decision.limit, 'concurrent request')}{model} is reached; "
                "retry when one has finished")
    unit = "request" if item.kind == "requests" else "token"
    message = f"{owner} limit of {_count(decision.limit, unit)} per minute{model} is reached"
    if item.kind == "tokens":
        if tokens > decision.limit:
            message += (f": this request may use up to {tokens} tokens (input and the most output it allows), "
                        f"more than the whole limit, so it waits for an empty window; a lower max_tokens lets it "
                        f"share one")
        else:
            message += (f": this request may use up to {tokens} tokens (input and the most output it allows) "
                        f"and {decision.remaining} are left")
    return f"{message}; retry in {wait} s"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def duration(seconds: float) -> str:
    """OpenAI's reset format (Go's duration): 250ms, 1s, 17.5s, 6m0s."""
    milliseconds = round(seconds * 1000)
    if milliseconds < 1000:
        return f"{milliseconds}ms" if milliseconds > 0 else "0s"
    minutes, rest = divmod(milliseconds, 60_000)
    text = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{minutes}m{text}" if minutes else text
