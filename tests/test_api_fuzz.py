"""Schema-driven fuzzing of the management API (schemathesis against /api/openapi.json): no operation
answers any generated request, valid or not, with a server error.

Runs against a real gateway subprocess, three times: with an API key of an ordinary account (every
non-admin operation), with a console session and its CSRF token (the same operations), and with an
administrator's key (the /api/admin operations). Bounded and repeatable: a few examples per operation,
derandomized, so CI stays fast and a failure reproduces.

Excluded, because they would end the run itself rather than because they fail:
- POST /api/account/delete: deletes the account the run is authenticated as (its keys and sessions die).
- POST /api/account/keys/revoke-all: revokes the run's own key.
- POST /api/auth/logout and /api/auth/logout-everywhere: end the run's console session.
Each has its own tests (test_account_deletion.py, test_console_sessions.py, test_keys_api.py...).
"""

import re

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from .harness import Gateway

DESTRUCTIVE = re.compile(r"^/api/(account/delete|account/keys/revoke-all|auth/logout(-everywhere)?)$")
FUZZ = settings(max_examples=20, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    # Reset emails go to a closed port: the request is still answered (202); the send fails in the background.
    closed = {"host": "127.0.0.1", "port": 9, "security": "none", "from": "fuzz@alltoken.test",
              "timeout_seconds": 1}
    gateway = Gateway(tmp_path_factory.mktemp("fuzz"), {"smtp": closed}).start()
    yield gateway
    gateway.stop()


def api_schema(gateway: Gateway):
    return schemathesis.openapi.from_url(gateway.url + "/api/openapi.json").exclude(path_regex=DESTRUCTIVE.pattern)


@pytest.fixture(scope="module")
def user_key(gateway):
    return gateway.new_key(usd="5")[1]


@pytest.fixture(scope="module")
def console_session(gateway):
    """A signed-up console user: the session cookie and the CSRF header every change needs."""
    answer = httpx.post(gateway.url + "/api/auth/signup", json={
        "email": "fuzz-console@example.com", "password": "a long fuzzing password", "accept_terms": True})
    assert answer.status_code == 201, answer.text
    return answer.cookies, {"x-csrf-token": answer.json()["csrf_token"]}


@pytest.fixture(scope="module")
def account_operations(gateway):
    return api_schema(gateway).exclude(path_regex=r"^/api/admin")


@pytest.fixture(scope="module")
def admin_operations(gateway):
    return api_schema(gateway).include(path_regex=r"^/api/admin")


by_key = schemathesis.pytest.from_fixture("account_operations")
by_session = schemathesis.pytest.from_fixture("account_operations")
by_admin = schemathesis.pytest.from_fixture("admin_operations")


@by_key.parametrize()
@FUZZ
def test_no_server_error_with_an_api_key(case, gateway, user_key):
    case.call_and_validate(base_url=gateway.url, headers={"Authorization": f"Bearer {user_key}"},
                           checks=[not_a_server_error], timeout=30)


@by_session.parametrize()
@FUZZ
def test_no_server_error_with_a_console_session(case, gateway, console_session):
    cookies, csrf = console_session
    case.call_and_validate(base_url=gateway.url, headers=csrf, cookies=dict(cookies), checks=[not_a_server_error],
                           timeout=30)


@by_admin.parametrize()
@FUZZ
def test_no_server_error_with_an_admin_key(case, gateway):
    case.call_and_validate(base_url=gateway.url, headers={"Authorization": f"Bearer {admin_key(gateway)}"},
                           checks=[not_a_server_error], timeout=30)


_ADMIN_KEYS: dict[int, str] = {}


def admin_key(gateway: Gateway) -> str:
    return _ADMIN_KEYS.setdefault(id(gateway), gateway.admin_key())
