"""Rate limits through the real gateway: each limit holds exactly under concurrent load, a 429 names
the limit and carries a correct Retry-After, token estimates are corrected by usage, concurrency
slots come back on every path, and key, account, model, tier and reduced limits all apply."""

import math
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import anthropic
import httpx
import openai
import pytest

from .conftest import anthropic_config, openai_config
from .harness import Gateway, wait_for

MINI = "openai/gpt-4o-mini"
CHAT = {"model": MINI, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 300}
ESTIMATE = 8 + 2 + 300          # per-message overhead, "hi", max_tokens (runtime/estimate.py)
USED = 21 + 7                   # the fake upstream's usage
RATE_LIMITS = {
    "default_tier": "standard",
    "tiers": {"standard": {},
              "free": {"account": {"rpm": 3}, "key": {"rpm": 2}, "models": {"openai/gpt-4o": {"rpm": 1}}}},
    "reduced": {"account": {"rpm": 2}},
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_openai, fake_anthropic):
    providers = openai_config(fake_openai)["providers"] + anthropic_config(fake_anthropic)["providers"]
    gateway = Gateway(tmp_path_factory.mktemp("ratelimits"), {"providers": providers, "rate_limits": RATE_LIMITS})
    yield gateway.start()
    gateway.stop()


def new_account(gateway: Gateway, usd: str = "10") -> str:
    account = gateway.cli("accounts", "create", "--email", f"limits-{time.monotonic_ns()}@example.com")["id"]
    if usd != "0":
        gateway.cli("credits", "grant", "--account", account, "--usd", usd)
    return account


def new_key(gateway: Gateway, account: str, *limits: str) -> tuple[str, str]:
    """A key of `account` (id, secret), with `limits set --key` options when given."""
    made = gateway.cli("keys", "create", "--account", account)
    if limits:
        gateway.cli("limits", "set", "--key", made["id"], *limits)
    return made["id"], made["key"]


def limited_key(gateway: Gateway, *limits: str) -> str:
    return new_key(gateway, new_account(gateway), *limits)[1]


def chat(gateway: Gateway, key: str, **changes) -> httpx.Response:
    return httpx.post(gateway.url + "/v1/chat/completions", json={**CHAT, **changes},
                      headers={"authorization": f"Bearer {key}"}, timeout=30)


def burst(count: int, call) -> list[httpx.Response]:
    """`count` calls at the same time."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def admitted(call) -> httpx.Response:
    """The first answer that is not a 429 (a freed slot may come back a moment after the response)."""
    answers = []
    wait_for(lambda: answers.append(call()) or answers[-1].status_code != 429, timeout=10)
    return answers[-1]


def by_status(responses: list[httpx.Response]) -> dict[int, list[httpx.Response]]:
    grouped = {}
    for response in responses:
        grouped.setdefault(response.status_code, []).append(response)
    return grouped


def error_of(response: httpx.Response) -> dict:
    return response.json()["error"]


# Requests per minute


def test_requests_per_minute_hold_exactly_under_concurrent_load(gateway, upstream):
    key = limited_key(gateway, "--rpm", "5")
    started = time.monotonic()
    answers = by_status(burst(30, lambda: chat(gateway, key)))
    elapsed = time.monotonic() - started
    assert sorted(answers) == [200, 429] and len(answers[200]) == 5 and len(answers[429]) == 25
    assert len(upstream.requests) == 5
    assert sorted(int(r.headers["x-ratelimit-remaining-requests"]) for r in answers[200]) == [0, 1, 2, 3, 4]
    for served in answers[200]:
        assert served.headers["x-ratelimit-limit-requests"] == "5"
        assert served.headers["x-ratelimit-reset-requests"] == "1m0s"
        assert "x-ratelimit-limit-tokens" not in served.headers
    for refused in answers[429]:
        retry = int(refused.headers["retry-after"])
        assert 60 - elapsed <= retry <= 60       # the first request leaves the window 60 s after it came
        assert error_of(refused) == {"message": f"this key's limit of 5 requests per minute is reached; retry in "
                                                f"{retry} s", "type": "requests", "code": "rate_limit_exceeded",
                                     "param": None}
        assert refused.headers["x-ratelimit-limit-requests"] == "5"
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"


def test_retry_after_is_when_the_oldest_request_leaves_the_window(gateway, upstream):
    key = limited_key(gateway, "--rpm", "2")
    first_sent = time.monotonic()
    assert chat(gateway, key).status_code == 200
    first_done = time.monotonic()
    time.sleep(3)
    assert chat(gateway, key).status_code == 200
    third_sent = time.monotonic()
    refused = chat(gateway, key)
    third_done = time.monotonic()
    assert refused.status_code == 429
    retry = int(refused.headers["retry-after"])
    # the first request leaves 60 s after it was admitted (between first_sent and first_done), not the second
    assert 60 - (third_done - first_sent) <= retry <= math.ceil(60 - (third_sent - first_done))


# Tokens per minute


def test_token_estimates_are_corrected_by_actual_usage(gateway, upstream):
    key = limited_key(gateway, "--tpm", "1000")
    remaining = [int(chat(gateway, key).headers["x-ratelimit-remaining-tokens"]) for _ in range(4)]
    # each request counts its estimate at admission, then only what it used: four estimates would not fit
    assert remaining == [1000 - n * USED - ESTIMATE for n in range(4)]


def test_usage_above_the_estimate_is_counted(gateway, upstream):
    key = limited_key(gateway, "--tpm", "1000")
    upstream.plan(completion_tokens=500)
    first = chat(gateway, key, max_tokens=5)
    assert int(first.headers["x-ratelimit-remaining-tokens"]) == 1000 - (8 + 2 + 5)
    second = chat(gateway, key, max_tokens=5)
    assert int(second.headers["x-ratelimit-remaining-tokens"]) == 1000 - (21 + 500) - (8 + 2 + 5)


def test_tokens_per_minute_hold_exactly_under_concurrent_load(gateway, upstream):
    key = limited_key(gateway, "--tpm", "1000")
    for _ in range(3):
        upstream.plan(delay=2.0)                 # still running, so no estimate has been corrected yet
    started = time.monotonic()
    answers = by_status(burst(10, lambda: chat(gateway, key)))
    elapsed = time.monotonic() - started
    assert len(answers[200]) == 1000 // ESTIMATE == 3 and len(answers[429]) == 7
    for refused in answers[429]:
        retry = int(refused.headers["retry-after"])
        assert 60 - elapsed <= retry <= 60
        assert error_of(refused)["type"] == "tokens"
        assert error_of(refused)["message"] == (
            f"this key's limit of 1000 tokens per minute is reached: this request may use up to {ESTIMATE} tokens "
            f"(input and the most output it allows) and {1000 - 3 * ESTIMATE} are left; retry in {retry} s")
        assert refused.headers["x-ratelimit-remaining-tokens"] == str(1000 - 3 * ESTIMATE)


def test_a_request_larger_than_the_token_limit_needs_an_empty_window(gateway, upstream):
    key = limited_key(gateway, "--tpm", "100")
    first = chat(gateway, key)                   # may use 310 tokens: counted as the whole 100
    assert first.status_code == 200 and first.headers["x-ratelimit-remaining-tokens"] == "0"
    refused = chat(gateway, key)                 # the first used 28: 72 left, but this one needs the whole window
    assert refused.status_code == 429 and refused.headers["x-ratelimit-remaining-tokens"] == str(100 - USED)
    assert "more than the whole limit, so it waits for an empty window" in error_of(refused)["message"]
    assert chat(gateway, key, max_tokens=10).status_code == 200     # 20 tokens fit beside the first's 28


# Concurrent requests


def test_concurrency_holds_exactly_and_slots_come_back(gateway, upstream):
    key = limited_key(gateway, "--concurrency", "2")
    for _ in range(2):
        upstream.plan(delay=3.0)
    answers = by_status(burst(6, lambda: chat(gateway, key)))
    assert len(answers[200]) == 2 and len(answers[429]) == 4
    assert upstream.peak == 2
    for refused in answers[429]:
        assert refused.headers["retry-after"] == "1"
        assert error_of(refused)["type"] == "concurrency"
        assert error_of(refused)["message"] == ("this key's limit of 2 concurrent requests is reached; "
                                                "retry when one has finished")
    assert [r.status_code for r in burst(2, lambda: admitted(lambda: chat(gateway, key)))] == [200, 200]


def test_a_stream_holds_its_slot_until_it_ends(gateway, upstream):
    key = limited_key(gateway, "--concurrency", "1", "--rpm", "100")
    upstream.plan(text="one two three four five", chunk_delay=0.2)
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json={**CHAT, "stream": True},
                      headers={"authorization": f"Bearer {key}"}, timeout=30) as stream:
        assert stream.headers["x-ratelimit-remaining-requests"] == "99"
        lines = stream.iter_lines()
        assert next(lines).startswith("data: ")
        assert chat(gateway, key).status_code == 429
        assert [line for line in lines if line][-1] == "data: [DONE]"
    assert admitted(lambda: chat(gateway, key)).status_code == 200


def test_a_client_that_leaves_mid_stream_frees_its_slot(gateway, upstream):
    key = limited_key(gateway, "--concurrency", "1")
    upstream.plan(text=" ".join(["word"] * 200), chunk_delay=0.1)    # twenty seconds of stream
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json={**CHAT, "stream": True},
                      headers={"authorization": f"Bearer {key}"}, timeout=30) as stream:
        lines = stream.iter_lines()     # kept: a dropped iterator closes the connection
        assert next(lines).startswith("data: ")
        assert chat(gateway, key).status_code == 429
    assert admitted(lambda: chat(gateway, key)).status_code == 200   # long before the stream would have ended


def test_upstream_failures_free_their_slots(gateway, upstream):
    key = limited_key(gateway, "--concurrency", "1")
    upstream.plan(status=500)
    assert admitted(lambda: chat(gateway, key)).status_code == 502
    upstream.plan(status=500)
    assert admitted(lambda: chat(gateway, key, stream=True)).status_code == 502
    upstream.plan(fail_mid_stream=True)
    failed = admitted(lambda: chat(gateway, key, stream=True))
    assert failed.status_code == 200 and '"error"' in failed.text
    upstream.plan(reset=True)
    assert admitted(lambda: chat(gateway, key)).status_code == 502
    assert admitted(lambda: chat(gateway, key)).status_code == 200


def test_a_request_refused_for_credit_counts_as_a_request_but_gives_back_its_tokens_and_slot(gateway, upstream):
    account = new_account(gateway, usd="0")
    _, key = new_key(gateway, account, "--rpm", "3", "--tpm", "1000", "--concurrency", "1")
    answers = [chat(gateway, key) for _ in range(4)]
    assert [a.status_code for a in answers] == [402, 402, 402, 429]
    assert [a.headers["x-ratelimit-remaining-tokens"] for a in answers] == [str(1000 - ESTIMATE)] * 3 + ["1000"]
    assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["2", "1", "0", "0"]
    assert error_of(answers[3])["type"] == "requests" and not upstream.requests


# Scopes: key, account, model; tiers; the reduced limits of a rate-limited account


def test_a_key_limit_leaves_the_accounts_other_keys_alone(gateway, upstream):
    account = new_account(gateway)
    _, limited = new_key(gateway, account, "--rpm", "1")
    _, other = new_key(gateway, account)
    assert chat(gateway, limited).status_code == 200
    refused = chat(gateway, limited)
    assert refused.status_code == 429 and error_of(refused)["message"].startswith("this key's limit of 1 request ")
    assert [chat(gateway, other).status_code for _ in range(3)] == [200] * 3


def test_an_account_limit_counts_all_its_keys(gateway, upstream):
    account = new_account(gateway)
    gateway.cli("limits", "set", "--account", account, "--rpm", "3")
    (_, first), (_, second) = new_key(gateway, account), new_key(gateway, account)
    assert [chat(gateway, key).status_code for key in (first, first, second)] == [200] * 3
    refused = chat(gateway, second)
    assert refused.status_code == 429
    assert error_of(refused)["message"].startswith("this account's limit of 3 requests per minute is reached")


def test_account_and_model_limits_hold_exactly_across_keys_under_concurrent_load(gateway, upstream):
    account = new_account(gateway)
    gateway.cli("limits", "set", "--account", account, "--rpm", "6")
    gateway.cli("limits", "set", "--account", account, "--model", "openai/gpt-4o", "--rpm", "2")
    keys = [new_key(gateway, account)[1] for _ in range(3)]
    pairs = [(key, model) for key in keys for model in (MINI, "openai/gpt-4o")]
    with ThreadPoolExecutor(24) as pool:     # four requests of each key for each model, at once
        answers = list(pool.map(lambda i: chat(gateway, pairs[i % 6][0], model=pairs[i % 6][1]), range(24)))
    served = [a for a in answers if a.status_code == 200]
    assert len(served) == 6 and len(upstream.requests) == 6
    assert sum(request["model"] == "gpt-4o" for request in upstream.requests) <= 2
    assert {a.status_code for a in answers} == {200, 429}


def test_a_model_limit_counts_only_that_model(gateway, upstream):
    account = new_account(gateway)
    gateway.cli("limits", "set", "--account", account, "--model", "openai/gpt-4o", "--rpm", "1")
    _, key = new_key(gateway, account)
    assert chat(gateway, key, model="openai/gpt-4o").status_code == 200
    refused = chat(gateway, key, model="openai/gpt-4o")
    assert refused.status_code == 429 and error_of(refused)["message"].startswith(
        "this account's limit of 1 request per minute for model 'openai/gpt-4o' is reached")
    assert [chat(gateway, key).status_code for _ in range(3)] == [200] * 3


def test_tier_limits_apply_to_the_accounts_of_that_tier(gateway, upstream):
    account = new_account(gateway)
    shown = gateway.cli("limits", "set", "--account", account, "--tier", "free")
    assert shown["effective_tier"] == "free" and shown["limits"]["account"]["rpm"] == 3
    (_, first), (_, second) = new_key(gateway, account), new_key(gateway, account)
    shown = httpx.get(gateway.url + "/v1/key", headers={"authorization": f"Bearer {first}"}).json()["data"]
    assert shown["rate_limits"] == {"key": {"rpm": 2, "tpm": None, "concurrency": None},
                                    "account": {"rpm": 3, "tpm": None, "concurrency": None},
                                    "models": {"openai/gpt-4o": {"rpm": 1, "tpm": None, "concurrency": None}}}
    assert [chat(gateway, first).status_code for _ in range(3)] == [200, 200, 429]           # a key: 2
    assert chat(gateway, second, model="openai/gpt-4o").status_code == 200
    assert "for model 'openai/gpt-4o'" in error_of(chat(gateway, second, model="openai/gpt-4o"))["message"]
    assert "this account's limit of 3" in error_of(chat(gateway, second))["message"]          # the account: 3


def test_the_default_tier_here_has_no_limits_and_sends_no_limit_headers(gateway, upstream):
    key = limited_key(gateway)
    answers = [chat(gateway, key) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 6
    assert not any(name.startswith("x-ratelimit") for a in answers for name in a.headers)


def test_a_rate_limited_account_gets_the_reduced_limits(gateway, upstream):
    account = new_account(gateway)
    gateway.cli("limits", "set", "--account", account, "--rpm", "100")
    with sqlite3.connect(gateway.db_path) as db:    # the enforcement states' own command sets this state
        db.execute("UPDATE accounts SET status = 'rate_limited' WHERE id = ?", (account,))
    assert gateway.cli("limits", "show", "--account", account)["limits"]["account"]["rpm"] == 2
    _, key = new_key(gateway, account)
    assert [chat(gateway, key).status_code for _ in range(3)] == [200, 200, 429]


# Other endpoints


def test_embeddings_are_limited(gateway, upstream):
    sdk = gateway.sdk(limited_key(gateway, "--rpm", "1"))
    sdk.embeddings.create(model="openai/text-embedding-3-small", input="hello")
    with pytest.raises(openai.RateLimitError) as refused:
        sdk.embeddings.create(model="openai/text-embedding-3-small", input="hello")
    assert refused.value.code == "rate_limit_exceeded" and int(refused.value.response.headers["retry-after"]) > 0


@pytest.mark.parametrize("model", [MINI, "anthropic/claude-haiku-4-5"])   # translated, and passed through
def test_messages_answer_a_429_in_anthropics_shape(gateway, upstream, fake_anthropic, model):
    fake_anthropic.reset()
    client = gateway.anthropic_sdk(limited_key(gateway, "--rpm", "1"))
    for stream in (False, True):
        if not stream:
            client.messages.create(model=model, max_tokens=50, messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(anthropic.RateLimitError) as refused:
            client.messages.create(model=model, max_tokens=50, messages=[{"role": "user", "content": "hi"}],
                                   stream=stream)
        body = refused.value.body
        assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
        assert body["error"]["message"].startswith("this key's limit of 1 request per minute is reached")
        assert 0 < int(refused.value.response.headers["retry-after"]) <= 60


# Changes reach a running server


def test_a_cli_change_reaches_the_running_server(gateway, upstream):
    account = new_account(gateway)
    key_id, key = new_key(gateway, account)
    assert chat(gateway, key).status_code == 200                   # the key is in the server's cache now
    gateway.cli("limits", "set", "--key", key_id, "--rpm", "1")
    assert wait_for(lambda: chat(gateway, key).status_code == 429, timeout=1.0)
    gateway.cli("limits", "set", "--key", key_id, "--clear")
    assert wait_for(lambda: chat(gateway, key).status_code == 200, timeout=1.0)
    entries = gateway.cli("audit-log", "--target", key_id)
    assert [(e["action"], e["details"]) for e in entries if e["action"] == "limits.set"] == [
        ("limits.set", {"key_id": key_id, "rpm": 1}), ("limits.set", {"key_id": key_id, "clear": True})]


def test_the_management_api_sets_reads_and_clears_limits(gateway, upstream):
    admin = {"authorization": f"Bearer {gateway.admin_key()}"}
    account = new_account(gateway)
    key_id, key = new_key(gateway, account)
    url = f"{gateway.url}/api/admin/accounts/{account}/rate-limits"
    put = httpx.put(url, headers=admin, json={"tier": "free", "rpm": 50, "models": {MINI: {"tpm": 5000}}})
    assert put.status_code == 200, put.text
    assert put.json()["limits"] == {"account": {"rpm": 50, "tpm": None, "concurrency": None},
                                    "key": {"rpm": 2, "tpm": None, "concurrency": None},
                                    "models": {"openai/gpt-4o": {"rpm": 1, "tpm": None, "concurrency": None},
                                               MINI: {"rpm": None, "tpm": 5000, "concurrency": None}}}
    assert httpx.get(url, headers=admin).json() == put.json()
    assert chat(gateway, key).headers["x-ratelimit-limit-tokens"] == "5000"     # this process: at once
    key_url = f"{gateway.url}/api/admin/keys/{key_id}/rate-limits"
    assert httpx.put(key_url, headers=admin, json={"rpm": 7}).json()["limits"]["rpm"] == 7
    assert httpx.delete(key_url, headers=admin).status_code == 204
    assert httpx.get(key_url, headers=admin).json()["limits"]["rpm"] == 2
    assert httpx.delete(url, headers=admin).status_code == 204
    assert httpx.get(url, headers=admin).json()["effective_tier"] == "standard"
    actions = [(e["action"], e["actor"].startswith("key:")) for e in gateway.cli("audit-log", "--target", account)]
    assert actions[-2:] == [("limits.set", True), ("limits.clear", True)]


@pytest.mark.parametrize("path, body, status", [
    ("accounts/{account}/rate-limits", {"tier": "gold"}, 400),
    ("accounts/{account}/rate-limits", {"rpm": 0}, 400),
    ("accounts/{account}/rate-limits", {"rps": 5}, 400),
    ("keys/{key}/rate-limits", {"tier": "free"}, 400),
    ("accounts/acct_nobody/rate-limits", {"rpm": 5}, 404),
    ("keys/key_nobody/rate-limits", {"rpm": 5}, 404),
    ("accounts/{key}/rate-limits", {"rpm": 5}, 404),
    ("keys/{account}/rate-limits", {"rpm": 5}, 404),
])
def test_the_management_api_refuses_bad_changes_clearly(gateway, path, body, status):
    account = new_account(gateway)
    key_id, _ = new_key(gateway, account)
    url = f"{gateway.url}/api/admin/" + path.format(account=account, key=key_id)
    answer = httpx.put(url, headers={"authorization": f"Bearer {gateway.admin_key()}"}, json=body)
    assert answer.status_code == status and answer.json()["error"]["message"]


def test_only_administrators_reach_the_limits_endpoints(gateway):
    account = new_account(gateway)
    _, key = new_key(gateway, account)
    answer = httpx.put(f"{gateway.url}/api/admin/accounts/{account}/rate-limits", json={"rpm": 1000},
                       headers={"authorization": f"Bearer {key}"})
    assert answer.status_code == 403 and error_of(answer)["code"] == "admin_only"
