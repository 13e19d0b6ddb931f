"""Control-plane errors as API errors: a missing id is 404, a state conflict 409, bad input 400."""

from contextlib import contextmanager

from alltoken.accounts.service import Conflict, NotFound
from alltoken.http.errors import ApiError, bad_request, not_found


@contextmanager
def service_errors():
    try:
        yield
    except NotFound as exc:
        raise not_found(str(exc)) from None
    except Conflict as exc:
        raise ApiError(409, str(exc), type="invalid_request_error", code="conflict") from None
    except ValueError as exc:   # MoneyFormatError too
        raise bad_request(str(exc)) from None
