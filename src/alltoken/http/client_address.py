"""The address a request comes from, for key IP allow-lists, last-used addresses and the audit log; and
whether it came over TLS, for the session cookie's `Secure`.

The direct peer of the connection, or, when that peer is one of `regions.trusted_proxies`, the
client that proxy names in `X-Forwarded-For` (runtime/origin.py). Any client can write that header,
so it is believed only from a trusted proxy; otherwise anyone could pass any IP allow-list. The same
holds for `X-Forwarded-Proto`.
"""

from starlette.requests import Request

from alltoken.http.gateway import gateway_of


def client_address(request: Request) -> str | None:
    return gateway_of(request).origin.address(request.scope)


def arrived_over_tls(request: Request) -> bool:
    return gateway_of(request).origin.scheme(request.scope) == "https"
