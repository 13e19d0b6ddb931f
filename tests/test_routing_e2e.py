"""Fallback, retries and circuit breakers through the real gateway, with upstreams that fail on command."""

import time
from decimal import Decimal

import httpx
import pytest

from .fakes.openai_upstream import API_KEY
from .harness import Gateway, wait_for

PRIMARY_PRICE = {"prompt": "0.000001", "completion": "0.000002"}
BACKUP_PRICE = {"prompt": "0.000003", "completion": "0.000004"}


def config(primary, backup, **extra) -> dict:
    providers = [{"id": "primary", "type": "openai", "api_key": API_KEY, "base_url": primary.base_url},
                 {"id": "backup", "type": "openai", "api_key": API_KEY, "base_url": backup.base_url}]
    models = [{"id": "acme/m", "routes": [{"provider": "primary", "model": "p-model", "pricing": PRIMARY_PRICE},
                                          {"provider": "backup", "model": "b-model", "pricing": BACKUP_PRICE}]},
              {"id": "acme/solo", "routes": [{"provider": "primary", "model": "solo", "pricing": PRIMARY_PRICE}]},
              {"id": "acme/spare", "routes": [{"provider": "backup", "model": "spare", "pricing": BACKUP_PRICE}]}]
    return {"providers": providers, "models": models, **extra}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fakes):
    gateway = Gateway(tmp_path_factory.mktemp("routing"), config(*fakes, first_byte_timeout_seconds=0.5)).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def upstreams(fakes):
    for fake in fakes:
        fake.reset()
    return fakes


def post(gateway, key, **body):
    body = {"messages": [{"role": "user", "content": "x"}], **body}
    return httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body,
                      timeout=30)


def generation(gateway, key, response) -> dict:
    rid = response.headers["x-request-id"]
    for _ in range(50):
        found = httpx.get(gateway.url + "/v1/generation", params={"id": rid},
                          headers={"Authorization": f"Bearer {key}"}).json().get("data")
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("no generation record")


def cost(price: dict, prompt=21, completion=7) -> Decimal:
    return prompt * Decimal(price["prompt"]) + completion * Decimal(price["completion"])


@pytest.mark.parametrize("failure", [dict(status=500), dict(status=429, error_type="requests"), dict(reset=True)])
def test_a_failing_first_route_falls_back_and_is_billed_once_at_the_route_that_served(gateway, upstreams, failure):
    primary, backup = upstreams
    _, key = gateway.new_key()
    primary.plan(**failure)
    response = post(gateway, key, model="acme/m")
    assert response.status_code == 200 and response.headers["x-alltoken-provider"] == "backup"
    assert Decimal(str(response.json()["usage"]["cost"])) == cost(BACKUP_PRICE)
    assert backup.requests[-1]["model"] == "b-model" and "provider" not in backup.requests[-1]
    attempts = generation(gateway, key, response)["attempts"]
    assert [(a["route"], a["status"]) for a in attempts] == [("primary/p-model", "error"), ("backup/b-model", "ok")]
    assert attempts[1]["reason"] == "fallback"


@pytest.mark.parametrize("failure", [dict(status=503), dict(delay=2.0)])  # a hang past first_byte_timeout too
def test_stream_falls_back_before_the_first_byte(gateway, upstreams, failure):
    primary, backup = upstreams
    _, key = gateway.new_key()
    primary.plan(**failure)
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "acme/m", "stream": True, "messages": [{"role": "user", "content": "x"}]}) as r:
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
        assert r.headers["x-alltoken-provider"] == "backup"
    assert lines[-1] == "data: [DONE]" and len(backup.requests) == 1


def test_no_fallback_after_the_first_byte(gateway, upstreams):
    primary, backup = upstreams
    account, key = gateway.new_key(usd="1")
    primary.plan(fail_mid_stream=True)
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "acme/m", "stream": True, "messages": [{"role": "user", "content": "x"}]}) as r:
        body = "".join(r.iter_lines())
    assert '"error"' in body and backup.requests == []
    assert gateway.cli("credits", "balance", "--account", account)["balance_usd"] == "1.000000"


def test_client_errors_do_not_fall_back(gateway, upstreams):
    primary, backup = upstreams
    _, key = gateway.new_key()
    primary.plan(status=400, error_type="invalid_request_error")
    assert post(gateway, key, model="acme/m").status_code == 400 and backup.requests == []


def test_fallback_models_and_provider_preferences(gateway, upstreams):
    primary, backup = upstreams
    _, key = gateway.new_key()
    primary.plan(status=500)
    served = post(gateway, key, model="acme/solo", models=["acme/spare"])
    assert served.status_code == 200 and served.json()["model"] == "acme/spare"
    ordered = post(gateway, key, model="acme/m", provider={"order": ["backup"]})
    assert ordered.headers["x-alltoken-provider"] == "backup"
    only = post(gateway, key, model="acme/m", provider={"only": ["nobody"]})
    assert only.status_code == 404 and only.json()["error"]["code"] == "no_route"
    primary.plan(status=500)
    before = len(backup.requests)
    strict = post(gateway, key, model="acme/m", provider={"allow_fallbacks": False})
    assert strict.status_code == 502 and len(backup.requests) == before


def test_every_route_failing_is_an_upstream_error_and_costs_nothing(gateway, upstreams):
    primary, backup = upstreams
    account, key = gateway.new_key(usd="1")
    primary.plan(status=500)
    backup.plan(status=502)
    response = post(gateway, key, model="acme/m")
    assert response.status_code == 502
    assert [a["status"] for a in generation(gateway, key, response)["attempts"]] == ["error", "error"]
    assert gateway.cli("credits", "balance", "--account", account)["balance_usd"] == "1.000000"


def test_the_last_route_is_retried_honouring_retry_after(tmp_path, fakes):
    primary, backup = fakes
    primary.reset()
    gateway = Gateway(tmp_path, config(primary, backup, route_retries=1, max_retry_wait_seconds=2)).start()
    try:
        _, key = gateway.new_key()
        primary.plan(status=429, error_type="requests", headers={"retry-after": "1"})
        started = time.monotonic()
        assert post(gateway, key, model="acme/solo").status_code == 200
        assert time.monotonic() - started >= 1.0 and len(primary.requests) == 2
        primary.plan(status=429, error_type="requests", headers={"retry-after": "30"})
        refused = post(gateway, key, model="acme/solo")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "30"
    finally:
        gateway.stop()


def test_breaker_opens_skips_the_route_then_half_opens_and_closes(tmp_path, fakes):
    primary, backup = fakes
    primary.reset()
    backup.reset()
    breaker = {"consecutive_failures": 2, "cooldown_seconds": 1.0, "min_requests": 1000}
    gateway = Gateway(tmp_path, config(primary, backup, breaker=breaker)).start()
    try:
        _, key = gateway.new_key()
        for _ in range(2):
            primary.plan(status=500)
            assert post(gateway, key, model="acme/m").headers["x-alltoken-provider"] == "backup"
        status = httpx.get(gateway.url + "/status").json()["routes"]
        assert next(r for r in status if r["route"] == "primary/p-model")["breaker"] == "open"
        calls = len(primary.requests)
        skipped = post(gateway, key, model="acme/m")
        assert skipped.headers["x-alltoken-provider"] == "backup" and len(primary.requests) == calls
        assert generation(gateway, key, skipped)["attempts"][0] == {
            "route": "primary/p-model", "status": "skipped", "latency_ms": 0, "reason": "breaker_open"}
        time.sleep(1.1)
        probe = post(gateway, key, model="acme/m")
        assert probe.headers["x-alltoken-provider"] == "primary"
        status = httpx.get(gateway.url + "/status").json()["routes"]
        assert next(r for r in status if r["route"] == "primary/p-model")["breaker"] == "closed"
        metrics = httpx.get(gateway.url + "/metrics").text
        assert 'alltoken_route_requests_total{outcome="error",route="primary/p-model"} 2.0' in metrics
        assert 'alltoken_route_breaker_state{route="primary/p-model",state="closed"} 1.0' in metrics
        page = httpx.get(gateway.url + "/status", headers={"Accept": "text/html"})
        assert page.headers["content-type"].startswith("text/html") and "primary" in page.text
    finally:
        gateway.stop()


def test_an_account_routing_policy_always_wins(gateway, upstreams):
    primary, backup = upstreams
    account, key = gateway.new_key()
    gateway.cli("accounts", "routing", account, "--deny-providers", "primary")
    # the change feed reaches the server within a poll: until then a request may still go to primary
    assert wait_for(lambda: error_code(post(gateway, key, model="acme/solo")) == "provider_not_allowed")
    primary.reset()
    served = post(gateway, key, model="acme/m", provider={"order": ["primary"]})
    assert served.headers["x-alltoken-provider"] == "backup" and primary.requests == []
    assert error_code(post(gateway, key, model="acme/solo")) == "provider_not_allowed"
    gateway.cli("accounts", "routing", account, "--allow-regions", "eu")  # no provider here declares a region
    assert wait_for(lambda: post(gateway, key, model="acme/m").status_code == 403)
    gateway.cli("accounts", "routing", account, "--clear")
    assert wait_for(lambda: post(gateway, key, model="acme/m").headers.get("x-alltoken-provider") == "primary")


def error_code(response: httpx.Response) -> str | None:
    return (response.json().get("error") or {}).get("code")


def test_credentials_refused_by_one_route_fall_back_and_count_against_it(gateway, upstreams):
    primary, backup = upstreams
    _, key = gateway.new_key()
    primary.plan(status=401)  # AllToken's key for that provider is wrong: another route may still work
    response = post(gateway, key, model="acme/m")
    assert response.status_code == 200 and response.headers["x-alltoken-provider"] == "backup"


def test_throughput_and_first_token_statistics_are_recorded(gateway, upstreams):
    _, key = gateway.new_key()
    post(gateway, key, model="acme/spare")
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "acme/spare", "stream": True,
                            "messages": [{"role": "user", "content": "x"}]}) as r:
        list(r.iter_lines())
    row = next(r for r in httpx.get(gateway.url + "/status").json()["routes"] if r["route"] == "backup/spare")
    assert row["output_tokens_per_s_p50"] > 0 and row["ttft_ms_p50"] is not None
