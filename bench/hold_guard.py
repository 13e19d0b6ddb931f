"""What the hold guarantee (runtime/settlement.py) costs a request, in process: the same ASGI app driven
directly (no sockets), with and without SettleOnExitMiddleware, its handler doing what admission and
finish do to the registry. Prints the median of 7 rounds of 20,000 requests each.

    .venv/bin/python bench/hold_guard.py
"""

import asyncio
import statistics
import time
from types import SimpleNamespace

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route

from alltoken.http.plumbing import RequestContextMiddleware, request_id
from alltoken.runtime.exchange import OpenAdmissions
from alltoken.runtime.settlement import SettleOnExitMiddleware

GATEWAY = SimpleNamespace(admissions=OpenAdmissions())
SCOPE = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
         "method": "POST", "scheme": "http", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
         "query_string": b"", "root_path": "", "headers": [(b"host", b"gateway")], "client": ("127.0.0.1", 1),
         "server": ("127.0.0.1", 80)}


async def paid(request):
    rid = request_id(request)
    GATEWAY.admissions.add(SimpleNamespace(request_id=rid))     # what admission does
    GATEWAY.admissions.take(rid)                                # what finish does
    return Response(b'{"ok":true}', media_type="application/json")


def app(guarded: bool) -> Starlette:
    layers = [Middleware(RequestContextMiddleware)]
    if guarded:
        layers.append(Middleware(SettleOnExitMiddleware, gateway=GATEWAY))
    return Starlette(routes=[Route("/v1/chat/completions", paid, methods=["POST"])], middleware=layers)


async def microseconds_per_request(asgi, count: int) -> float:
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    started = time.perf_counter()
    for _ in range(count):
        await asgi(dict(SCOPE), receive, send)
    return (time.perf_counter() - started) / count * 1e6


async def main() -> None:
    plain, guarded = app(False), app(True)
    for warm in (plain, guarded):
        await microseconds_per_request(warm, 2000)
    rounds: dict[str, list[float]] = {"plain": [], "guarded": []}
    for _ in range(7):
        rounds["plain"].append(await microseconds_per_request(plain, 20_000))
        rounds["guarded"].append(await microseconds_per_request(guarded, 20_000))
    without, with_guard = statistics.median(rounds["plain"]), statistics.median(rounds["guarded"])
    print(f"without the guard {without:.1f} us/request, with it {with_guard:.1f} us/request: "
          f"+{with_guard - without:.1f} us")


if __name__ == "__main__":
    asyncio.run(main())
