"""Holds a response's bytes until the request's usage is durable (analytics/usage_stream.py).

`finish()` (runtime/accounting.py) records a request's usage before its last bytes are produced: the
body of a plain response, the closing chunk ([DONE], message_stop...) of a stream. So a body message
sent after that waits for the usage's append to Redis, one round trip, and a client that received the
whole response knows its usage and charge survive a crash of this process. Earlier chunks of a
stream find nothing to wait for and pass straight through.
"""

from alltoken.analytics.usage_stream import DurableUsage
from alltoken.runtime.scope import REQUEST_ID_KEY, ASGIApp, Message, Receive, Scope, Send


class DurableUsageMiddleware:
    def __init__(self, app: ASGIApp, usage: DurableUsage):
        self.app = app
        self.usage = usage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_when_durable(message: Message) -> None:
            if message["type"] == "http.response.body":
                request_id = scope.get(REQUEST_ID_KEY)
                if request_id is not None:
                    await self.usage.appended(request_id)
            await send(message)

        await self.app(scope, receive, send_when_durable)
