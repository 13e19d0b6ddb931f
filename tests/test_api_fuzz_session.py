"""Schema-driven fuzzing of the management API with a console session and its CSRF token (tests/api_fuzzing.py)."""

import httpx
import pytest

from .api_fuzzing import ADMIN, api_schema, fuzzed_gateway, server_errors


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    with fuzzed_gateway(tmp_path_factory.mktemp("fuzz")) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def schema(gateway):
    return api_schema(gateway)


# A few thousand requests: minutes on a busy machine, longer than the suite's default per-test timeout.
@pytest.mark.timeout(300)
def test_no_server_error_with_a_console_session(gateway, schema):
    answer = httpx.post(gateway.url + "/api/auth/signup", json={
        "email": "fuzz-console@example.com", "password": "a long fuzzing password", "accept_terms": True}, timeout=30)
    assert answer.status_code == 201, answer.text
    assert server_errors(schema.exclude(path_regex=ADMIN), gateway.url,
                         {"x-csrf-token": answer.json()["csrf_token"]}, dict(answer.cookies)) == []
