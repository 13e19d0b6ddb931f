"""Schema-driven fuzzing of the management API with a console session and its CSRF token (tests/api_fuzzing.py)."""

import httpx
import pytest

from .api_fuzzing import ADMIN, server_errors


# A few thousand requests: minutes on a busy machine, longer than the suite's default per-test timeout.
@pytest.mark.timeout(300)
def test_no_server_error_with_a_console_session(fuzz_gateway, fuzz_schema):
    answer = httpx.post(fuzz_gateway.url + "/api/auth/signup", json={
        "email": "fuzz-console@example.com", "password": "a long fuzzing password", "accept_terms": True}, timeout=30)
    assert answer.status_code == 201, answer.text
    assert server_errors(fuzz_schema.exclude(path_regex=ADMIN), fuzz_gateway.url,
                         {"x-csrf-token": answer.json()["csrf_token"]}, dict(answer.cookies)) == []
