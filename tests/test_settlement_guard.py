"""The hold guarantee in process (runtime/settlement.py): a request that took a hold and then ends in
any way without settling it (an exception, its task cancelled, a stream the client left) has the hold
released and a failed usage record, by the middleware, whatever the handler did. The end-to-end
reproducers are in tests/test_hold_guarantee.py; these reach the paths a real server cannot be made to
take on demand (a cancelled task) and check the exact record."""

import asyncio
import time
from types import SimpleNamespace

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from alltoken.billing.reservations import LocalCreditBook, ShortfallTally
from alltoken.http.plumbing import RequestContextMiddleware, endpoint, request_id
from alltoken.limits.local import LocalRateLimiter
from alltoken.runtime.exchange import Admission, Exchange, OpenAdmissions
from alltoken.runtime.rate_limits import RateLimits
from alltoken.runtime.settlement import SettleOnExitMiddleware, endpoint_name


class Recorder:
    def __init__(self):
        self.events = []

    def record(self, event, charge=None):
        self.events.append((event, charge))


def gateway_state():
    async def balance(account_id, up_to):
        return 1000

    async def no_entries(after):
        return []

    return SimpleNamespace(admissions=OpenAdmissions(), book=LocalCreditBook(balance, no_entries),
                           rate_limits=RateLimits(LocalRateLimiter()), recorder=Recorder(), shortfalls=ShortfallTally())


CALLER = SimpleNamespace(account=SimpleNamespace(id="acct"), key=SimpleNamespace(id="key", member=None))
ROUTE = SimpleNamespace(provider=SimpleNamespace(id="openai"), upstream_model="gpt-4o-mini")


def app_failing_with(state, failure):
    """/v1/chat/completions takes a 600-unit hold, as admission does, then fails with `failure()`."""

    async def admitted(request):
        rid = request_id(request)
        hold = await state.book.reserve(rid, "acct", 600)
        exchange = Exchange(rid, CALLER, time.perf_counter(), "chat")
        exchange.admitted(Admission(SimpleNamespace(id="openai/gpt-4o-mini"), ROUTE, hold, 10, ()))
        state.admissions.add(exchange)
        return await failure()

    return Starlette(routes=[Route("/v1/chat/completions", endpoint(admitted), methods=["POST"])],
                     middleware=[Middleware(RequestContextMiddleware),
                                 Middleware(SettleOnExitMiddleware, gateway=state)])


async def raise_type_error():
    raise TypeError("a translator met something it did not expect")


async def cancelled():
    raise asyncio.CancelledError()


async def stream_left_unsettled():
    async def chunks():
        yield b"data: {}\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")


@pytest.mark.parametrize("failure,status,code,streamed", [
    (raise_type_error, 500, "internal_error", False),
    (cancelled, 499, "client_disconnected", False),
    (stream_left_unsettled, 200, "not_settled", True),
])
async def test_a_request_that_ends_without_settling_has_its_hold_released_and_recorded(failure, status, code,
                                                                                       streamed):
    state = gateway_state()
    transport = httpx.ASGITransport(app=app_failing_with(state, failure))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        try:
            await client.post("/v1/chat/completions")
        except asyncio.CancelledError:
            pass
    assert state.book.reserved_units("acct") == 0 and await state.book.available_units("acct") == 1000
    assert len(state.admissions) == 0
    [(event, charge)] = state.recorder.events
    assert (event.status, event.http_status, event.error_code, event.cost_units, event.streamed, event.endpoint) == \
        ("error", status, code, 0, streamed, "chat")
    assert charge is None


async def test_a_settled_request_is_left_alone():
    state = gateway_state()

    async def settled():
        from alltoken.runtime.accounting import Outcome, finish

        exchange = state.admissions.get(next(iter(state.admissions._open)))
        await finish(state, exchange, Outcome("error", 502, error_code="upstream_error"))
        return Response(status_code=502)

    transport = httpx.ASGITransport(app=app_failing_with(state, settled))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        assert (await client.post("/v1/chat/completions")).status_code == 502
    assert [event.error_code for event, _ in state.recorder.events] == ["upstream_error"]   # recorded once


def test_endpoint_names_match_the_usage_records():
    assert [endpoint_name(path) for path in ("/v1/chat/completions", "/v1/messages", "/v1/embeddings",
                                             "/v1/images/generations", "/v1/images/edits")] == \
        ["chat", "messages", "embeddings", "images.generations", "images.edits"]
