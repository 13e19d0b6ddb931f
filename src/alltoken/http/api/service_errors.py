"""Control-plane bad input: a ValueError from a service (MoneyFormatError too) is a 400. NotFound and
Conflict are our errors already (http/errors.py renders them)."""

from collections.abc import Iterator
from contextlib import contextmanager

from alltoken.http.errors import bad_request


@contextmanager
def service_errors() -> Iterator[None]:
    try:
        yield
    except ValueError as exc:
        raise bad_request(str(exc)) from None
