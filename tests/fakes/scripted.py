"""What every fake upstream shares: a queue of plans that tests fill, and a record of what arrived.

A test queues the behaviour of the next requests with `fake.plan(**changes)` (fields of the fake's
own Plan dataclass); a request that finds nothing queued answers by `fake.default`. Each accepted
request's JSON body is kept in `fake.requests` and its headers, at the same index, in `fake.headers`.
A fake that counts its requests in progress (`in_progress()`) keeps the most at once in `fake.peak`.
"""

import collections
import contextlib
from typing import Generic, Self, TypeVar

from aiohttp import web

from .server import ThreadedServer

PlanT = TypeVar("PlanT")


class ScriptedFake(Generic[PlanT]):
    def __init__(self, app: web.Application, plan_type: type[PlanT], path: str = ""):
        """`path` is the API's prefix that a provider's base URL includes (e.g. "/v1")."""
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.default: PlanT = plan_type()
        self.peak = 0                   # most requests in progress at once, since the last reset
        self._in_progress = 0
        self._plan_type = plan_type
        self._plans: collections.deque[PlanT] = collections.deque()
        self._path = path
        self._server = ThreadedServer(app)

    @property
    def base_url(self) -> str:
        return self._server.url + self._path

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def plan(self, **changes) -> PlanT:
        plan = self._plan_type(**changes)
        self._plans.append(plan)
        return plan

    def reset(self) -> None:
        """Between tests: drop unused plans and forget what arrived (a changed `default` stays)."""
        self._plans.clear()
        self.requests.clear()
        self.headers.clear()
        self.peak = 0

    @contextlib.contextmanager
    def in_progress(self):
        """Around answering one request, a stream until its end or until the client went away."""
        self._in_progress += 1
        self.peak = max(self.peak, self._in_progress)
        try:
            yield
        finally:
            self._in_progress -= 1

    def _record(self, request: web.Request, body) -> None:
        self.requests.append(body)
        self.headers.append(dict(request.headers))

    def _peek_plan(self) -> PlanT:
        """The plan the next request will take, left in the queue."""
        return self._plans[0] if self._plans else self.default

    def _take_plan(self) -> PlanT:
        return self._plans.popleft() if self._plans else self.default
