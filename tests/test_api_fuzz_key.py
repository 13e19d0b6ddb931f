"""Schema-driven fuzzing of the management API with an API key of an ordinary account (tests/api_fuzzing.py)."""

import pytest

from .api_fuzzing import ADMIN, server_errors


# A few thousand requests: minutes on a busy machine, longer than the suite's default per-test timeout.
@pytest.mark.timeout(300)
def test_no_server_error_with_an_api_key(fuzz_gateway, fuzz_schema):
    _, key = fuzz_gateway.new_key(usd="5")
    assert server_errors(fuzz_schema.exclude(path_regex=ADMIN), fuzz_gateway.url,
                         {"Authorization": f"Bearer {key}"}) == []
