"""How a handler reaches the running gateway (runtime/gateway.py): one typed accessor. The data
plane's app and the management API's both carry it (server/app.py, http/api/app.py)."""

from starlette.requests import HTTPConnection

from alltoken.runtime.gateway import Gateway


def gateway_of(request: HTTPConnection) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway
