"""Schema-driven fuzzing of the management API (schemathesis against /api/openapi.json): no operation
answers a generated request, one that fits the schema or one that does not, with a server error
(schemathesis's `not_a_server_error` check).

Runs against a real gateway subprocess, three times: with an API key of an ordinary account (every
non-admin operation), with a console session and its CSRF token (the same operations), and with an
administrator's key (the /api/admin operations). Bounded and repeatable: a few derandomized examples per
operation and mode, no shrinking, so CI stays fast and a failure reproduces; every failing operation is
reported with a curl command that replays it.

(schemathesis's own pytest loader, `schemathesis.pytest.from_fixture`, does not run under pytest 9, so the
operations are driven here with `operation.as_strategy()` and Hypothesis.)

Excluded, because they would end the run itself rather than because they fail:
- POST /api/account/delete: deletes the account the run is authenticated as (its keys and sessions die).
- POST /api/account/keys/revoke-all: revokes the run's own key.
- POST /api/auth/logout and /api/auth/logout-everywhere: end the run's console session.
Each has its own tests (test_account_deletion.py, test_console_sessions.py, test_console_account_scope.py).

The fuzzing itself; each of tests/test_api_fuzz_{key,session,admin}.py runs it as one caller, on a gateway
of its own, so that the three can run at the same time in a parallel run.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import FlakyFailure, HypothesisException
from requests import ConnectionError, Timeout
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from .fakes.stripe_upstream import FakeStripe
from .harness import Gateway
from .test_stripe_topups import stripe_config

# Operation paths as the schema names them, under its server /api.
DESTRUCTIVE = r"^/(account/delete|account/keys/revoke-all|auth/logout(-everywhere)?)$"
ADMIN = r"^/admin(/|$)"
EXAMPLES = 15      # per operation and mode (fits the schema, breaks it): 30 requests per operation
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck), report_multiple_bugs=False)


@contextmanager
def fuzzed_gateway(workdir: Path) -> Iterator[Gateway]:
    """A fully configured server: card top-ups (a fake Stripe) and email. Without them, top-ups answer
    501 topups_not_configured and reset emails 503 email_unavailable by design (tested in their own files)."""
    stripe = FakeStripe().start()
    # Reset emails go to a closed port: the request is still answered (202); the send fails in the background.
    closed = {"host": "127.0.0.1", "port": 9, "security": "none", "from": "fuzz@alltoken.test", "timeout_seconds": 1}
    gateway = Gateway(workdir, {"smtp": closed, **stripe_config(stripe)}).start()
    try:
        yield gateway
    finally:
        gateway.stop()
        stripe.stop()


def api_schema(gateway: Gateway):
    """The management API's operations as the gateway publishes them, less the DESTRUCTIVE ones."""
    return schemathesis.openapi.from_url(gateway.url + "/api/openapi.json", timeout=60).exclude(path_regex=DESTRUCTIVE)


def server_errors(schema, base_url: str, headers: dict, cookies: dict | None = None) -> list[str]:
    """Fuzz every operation of `schema`; the server errors found, one line (a curl command) per operation."""
    found = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the schema has no operations to fuzz"
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failure = _fuzz(operation, mode, base_url, headers, cookies)
            if failure:
                found.append(f"{operation.label} ({mode.value}): {failure}")
                break
    return found


def _fuzz(operation, mode, base_url: str, headers: dict, cookies: dict | None) -> str | None:
    failed: list[str] = []

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        # A generous timeout: on a loaded machine a slow answer is not a server error.
        try:
            response = case.call(base_url=base_url, headers=headers, cookies=cookies, timeout=120)
        except ConnectionError as exc:
            if not isinstance(exc, Timeout):    # the server is gone or refused the connection
                failed.append(f"no answer ({type(exc).__name__}) <- {case.as_curl_command(headers)}")
            raise
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception:
            failed.append(f"{response.status_code} {response.text[:300]!r} <- {case.as_curl_command(headers)}")
            raise

    try:
        run()
    except Exception as exc:
        if failed:
            return failed[0]
        cause = exc.exceptions[0] if isinstance(exc, FlakyFailure) else exc   # it wraps the first error
        # Not server errors: a slow answer on a loaded machine; Hypothesis unable to generate (Unsatisfiable: no
        # request of this mode can be made) or generating differently on replay (schemathesis adapts to answers).
        if isinstance(cause, Timeout) or (isinstance(cause, HypothesisException) and cause is exc):
            return None
        return f"{type(cause).__name__}: {str(cause)[:500]}"
    return None
