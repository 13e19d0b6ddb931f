"""A bare pass-through proxy: the ceiling for a one-process Python gateway on this stack.

aiohttp server, one shared aiohttp ClientSession, orjson, uvloop (as the gateway runs), and no
features. It parses the request body, as any gateway must to route it, forwards the bytes
unchanged, and relays the answer: whole for JSON, chunk by chunk for a stream.

    python bench/passthrough_proxy.py --port 8090 --upstream http://127.0.0.1:8081/v1/chat/completions
"""

import argparse

import aiohttp
import orjson
import uvloop
from aiohttp import web

SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)
FORWARDED_HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer bench"}


async def chat_completions(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    streaming = orjson.loads(raw).get("stream") is True
    async with request.app[SESSION].post(request.app[UPSTREAM], data=raw, headers=FORWARDED_HEADERS) as upstream:
        content_type = upstream.headers.get("Content-Type", "application/json")
        if not streaming:
            return web.Response(body=await upstream.read(), status=upstream.status,
                                headers={"Content-Type": content_type})
        response = web.StreamResponse(status=upstream.status, headers={"Content-Type": content_type})
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response


async def client_session(app: web.Application):
    # No pool limit, like the gateway's transport: the connection count is wrk's to choose.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        app[SESSION] = session
        yield


def build_app(upstream: str) -> web.Application:
    app = web.Application()
    app[UPSTREAM] = upstream
    app.cleanup_ctx.append(client_session)
    app.router.add_post("/v1/chat/completions", chat_completions)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="full URL of the upstream chat completions endpoint")
    args = parser.parse_args()
    web.run_app(build_app(args.upstream), host="127.0.0.1", port=args.port, access_log=None, print=None,
                loop=uvloop.new_event_loop())


if __name__ == "__main__":
    main()
