"""Holds a response's bytes until the request's usage is durable (analytics/usage_stream.py).

`finish()` (runtime/accounting.py) records a request's usage before its last bytes are produced: the
body of a plain response, the closing chunk ([DONE], message_stop...) of a stream. So a body message
sent after that waits for the usage's append to Redis, one round trip, and a client that received the
whole response knows its usage and charge survive a crash of this process. Earlier chunks of a
stream find nothing to wait for and pass straight through.
"""

from alltoken.http.plumbing import REQUEST_ID_KEY


class DurableUsageMiddleware:
    def __init__(self, app, usage):
        self.app = app
        self.usage = usage

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_when_durable(message):
            if message["type"] == "http.response.body":
                request_id = scope.get(REQUEST_ID_KEY)
                if request_id is not None:
                    await self.usage.appended(request_id)
            await send(message)

        await self.app(scope, receive, send_when_durable)
