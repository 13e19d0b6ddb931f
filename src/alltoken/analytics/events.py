"""One request's usage record as the recorder queues it: metadata only, never content."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class UsageEvent:
    """Exactly the columns of usage_records. No prompt or completion text, by construction."""

    id: str
    account_id: str
    key_id: str | None
    model: str
    provider: str | None
    upstream_model: str | None
    endpoint: str
    streamed: bool
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_units: int
    latency_ms: int
    ttft_ms: int | None
    status: str
    http_status: int
    error_code: str | None
    finish_reason: str | None
    attempts: list | None        # [{route, status, latency_ms, error_code, reason}]: routes, never content
    created_at: datetime
    user_id: str | None = None   # the team member whose key made the request
    uncollected_units: int = 0   # its cost beyond cost_units, which the balance or a limit could not take
