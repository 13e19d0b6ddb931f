"""The address a request comes from, for key IP allow-lists, last-used addresses and the audit log.

For now it is the direct peer of the connection. `X-Forwarded-For` is ignored: any client can
write it, so believing it would let anyone pass any IP allow-list. Behind a reverse proxy every
request therefore comes from the proxy's address. When trusted proxies become configurable, this
is the one function to change: believe the header only when the peer is a trusted proxy.
"""

from starlette.requests import Request


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None
