"""Schema-driven fuzzing of the /api/admin operations with an administrator's key (tests/api_fuzzing.py)."""

import pytest

from .api_fuzzing import ADMIN, server_errors


# A few thousand requests: minutes on a busy machine, longer than the suite's default per-test timeout.
@pytest.mark.timeout(300)
def test_no_server_error_with_an_admin_key(fuzz_gateway, fuzz_schema):
    assert server_errors(fuzz_schema.include(path_regex=ADMIN), fuzz_gateway.url,
                         {"Authorization": f"Bearer {fuzz_gateway.admin_key()}"}) == []
