"""One paid request on its way through the gateway: who asked, what admission granted (built once,
never changed), and what changes while it is served (the model and route being tried, then the ones
that served, and every attempt). Admission fills it in, the attempts move it along, accounting reads
it to settle and record, the settle-on-exit guard reads it when a request ended without that."""

import time
from dataclasses import dataclass, field
from typing import Any

from alltoken.accounts.cache import AccountRecord, KeyRecord
from alltoken.billing.reservations import Hold
from alltoken.routing.models import PublicModel, Route
from alltoken.routing.router import Candidate

Body = dict[str, Any]            # a request's JSON object, as the client sent it
AttemptRecord = dict[str, str | int]


@dataclass(frozen=True, slots=True)
class Caller:
    key: KeyRecord
    account: AccountRecord


@dataclass(slots=True)
class Attempt:
    route: str
    status: str                  # ok | error | skipped
    latency_ms: int = 0
    error_code: str | None = None
    reason: str | None = None    # why it was chosen or skipped

    def as_dict(self) -> AttemptRecord:
        record: AttemptRecord = {"route": self.route, "status": self.status, "latency_ms": self.latency_ms}
        if self.error_code is not None:
            record["error_code"] = self.error_code
        if self.reason is not None:
            record["reason"] = self.reason
        return record


@dataclass(frozen=True, slots=True)
class Admission:
    """What admission granted: the hold for the worst case, the candidates to try in order, and the
    model and route named until an attempt starts (in the response headers and the usage record)."""
    model: PublicModel
    route: Route
    hold: Hold
    prompt_bound: int
    candidates: tuple[Candidate, ...]
    skipped: tuple[Attempt, ...] = ()      # routes left out at planning, and why


@dataclass(slots=True)
class Exchange:
    request_id: str
    caller: Caller
    started: float               # time.perf_counter() when the request arrived
    endpoint: str                # the usage record's: chat, messages, embeddings, images.generations...
    streamed: bool = False
    # Set once by admission (runtime/admission.py):
    admission: Admission = field(init=False, repr=False)
    # Changed by the attempts (runtime/attempts.py): the model and route being tried, then the ones that served.
    model: PublicModel = field(init=False, repr=False)
    route: Route = field(init=False, repr=False)
    attempts: list[Attempt] = field(init=False, repr=False)

    def admitted(self, admission: Admission) -> None:
        self.admission = admission
        self.model, self.route = admission.model, admission.route
        self.attempts = list(admission.skipped)

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    def served_headers(self, anthropic: bool = False) -> dict[str, str]:
        return served_headers(self.request_id, self.route, anthropic)


def served_headers(request_id: str, route: Route, anthropic: bool = False) -> dict[str, str]:
    """`x-alltoken-provider` names the route that served (or the last one tried); Anthropic's
    SDK reads the request id from `request-id`."""
    headers = {"x-request-id": request_id, "x-alltoken-provider": route.provider.id}
    if anthropic:
        headers["request-id"] = request_id
    return headers


class OpenAdmissions:
    """Admitted requests whose hold is neither settled nor released yet, by request id (what is
    left when a request ends, runtime/settlement.py releases)."""

    def __init__(self) -> None:
        self._open: dict[str, Exchange] = {}

    def add(self, exchange: Exchange) -> None:
        self._open[exchange.request_id] = exchange

    def get(self, request_id: str) -> Exchange | None:
        return self._open.get(request_id)

    def take(self, request_id: str) -> Exchange | None:
        return self._open.pop(request_id, None)

    def __len__(self) -> int:
        return len(self._open)
