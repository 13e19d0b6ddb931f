"""Schema-driven fuzzing of the /api/admin operations with an administrator's key (tests/api_fuzzing.py)."""

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
def test_no_server_error_with_an_admin_key(gateway, schema):
    assert server_errors(schema.include(path_regex=ADMIN), gateway.url,
                         {"Authorization": f"Bearer {gateway.admin_key()}"}) == []
