"""Settings precedence and clear configuration errors."""

import pytest

from alltoken.catalog.models import catalog_price
from alltoken.config import ConfigError, load_settings
from alltoken.runtime.gateway import Gateway
from alltoken.store.db import DatabaseUrlError, async_url


def write(tmp_path, text):
    path = tmp_path / "alltoken.yaml"
    path.write_text(text)
    return str(path)


def test_defaults_and_demo_when_nothing_is_configured(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8080, 1)
    assert settings.database_url == "sqlite:///alltoken.db"
    assert settings.demo_enabled and [p.type for p in settings.providers] == ["demo"]


def test_flags_beat_environment_beat_file(tmp_path):
    path = write(tmp_path, "port: 9000\nhost: 0.0.0.0\ndatabase_url: sqlite:///file.db\n")
    env = {"ALLTOKEN_PORT": "9100", "ALLTOKEN_DATABASE_URL": "sqlite:///env.db"}
    settings = load_settings(path, {"port": 9200}, env=env)
    assert settings.port == 9200 and settings.host == "0.0.0.0" and settings.database_url == "sqlite:///env.db"
    assert load_settings(path, env=env).port == 9100
    assert load_settings(path, env={}).port == 9000


def test_env_references_in_the_file_are_expanded(tmp_path):
    path = write(tmp_path, "providers:\n  - {id: openai, type: openai, api_key: '${MY_KEY}'}\n")
    settings = load_settings(path, env={"MY_KEY": "sk-123"})
    assert settings.providers[0].api_key == "sk-123" and not settings.demo_enabled


def test_standard_variables_enable_providers_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={"OPENAI_API_KEY": "sk-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
                                  "AWS_REGION": "eu-west-1"})
    assert [(p.id, p.type) for p in settings.providers] == [("openai", "openai"), ("bedrock", "bedrock")]
    assert settings.providers[1].region == "eu-west-1" and not settings.demo_enabled


def test_an_aws_session_token_in_the_environment_reaches_the_bedrock_provider(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    aws = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}
    with_token = load_settings(env={**aws, "AWS_SESSION_TOKEN": "sts-token"}).providers[0]
    assert with_token.type == "bedrock" and with_token.options == {"aws_session_token": "sts-token"}
    assert load_settings(env=aws).providers[0].options == {}
    assert load_settings(env={**aws, "AWS_SESSION_TOKEN": ""}).providers[0].options == {}


@pytest.mark.parametrize("url,expected", [
    ("sqlite:///a.db", "sqlite+aiosqlite:///a.db"),
    ("postgres://u@h:5432/d", "postgresql+asyncpg://u@h:5432/d"),
    ("postgresql://u:p@h/d", "postgresql+asyncpg://u:p@h/d"),
])
def test_database_urls_in_the_plain_spellings(url, expected):
    assert async_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://x@y/z", "not a url"])
def test_unsupported_database_urls_are_refused(url):
    with pytest.raises(DatabaseUrlError):
        async_url(url)


@pytest.mark.parametrize("text,message", [
    ("providers: [{id: x, type: nosuch}]", "unknown type"),
    ("providers: [{id: x, type: openai}, {id: x, type: openai}]", "unique"),
    ("providers: [{type: openai}]", "needs an id"),
    ("models: [{id: a/b, routes: [{provider: ghost, model: m}]}]", "unknown provider"),
    ("models: [{id: a/b, routes: []}]", "non-empty"),
    ("port: banana", "port"),
    ("port: 70000", "port"),
    ("workers: 3", "Redis"),
    ("just a string", "mapping"),
    ("key: [unclosed", "YAML"),
])
def test_bad_configuration_is_refused_with_a_reason(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text), env={})


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(str(tmp_path / "nope.yaml"), env={})


def test_a_route_without_a_known_price_is_refused_at_start(tmp_path):
    path = write(tmp_path, """
providers: [{id: local, type: openai_compatible, base_url: "http://127.0.0.1:1/v1"}]
models: [{id: local/llama, routes: [{provider: local, model: llama3}]}]
""")
    with pytest.raises(ConfigError, match="no price known"):
        Gateway.build(load_settings(path, env={}))


def test_route_pricing_and_catalog_pricing(tmp_path):
    path = write(tmp_path, """
providers:
  - {id: openai, type: openai, api_key: k}
  - {id: local, type: openai_compatible, base_url: "http://127.0.0.1:1/v1"}
models:
  - id: acme/house
    routes:
      - {provider: openai, model: gpt-4o-mini, pricing: {prompt: "0.000001", completion: "0.000002"}}
  - id: local/llama
    routes: [{provider: local, model: llama3, pricing: {prompt: "0", completion: "0"}}]
""")
    state = Gateway.build(load_settings(path, env={}))
    house = state.models.get("acme/house")
    assert house.price.prompt == 1_000_000 and house.context_length == 128_000
    assert state.models.get("local/llama").price.completion == 0
    assert state.models.get("openai/gpt-4o-mini").routes[0].provider.id == "openai"
    assert state.models.get("alltoken/demo") is None


def test_openai_compatible_needs_a_base_url(tmp_path):
    path = write(tmp_path, "providers: [{id: local, type: openai_compatible}]")
    with pytest.raises(ConfigError, match="base_url"):
        Gateway.build(load_settings(path, env={}))


CONTRACT_CONFIG = """
providers:
  - {id: anthropic, type: anthropic, api_key: x}
  - {id: bedrock-us, type: bedrock, region: us-east-1, aws_access_key_id: a, aws_secret_access_key: b}
models:
  - id: anthropic/claude-sonnet-4-5
    routes:
      - {provider: anthropic, model: claude-sonnet-4-5}
      - {provider: bedrock-us, model: anthropic.claude-sonnet-4-5-20250929-v1:0}
"""


def test_the_contract_config_builds_with_claude_on_the_api_and_on_bedrock(tmp_path):
    state = Gateway.build(load_settings(write(tmp_path, CONTRACT_CONFIG), env={}))
    sonnet = state.models.get("anthropic/claude-sonnet-4-5")
    assert [(r.provider.id, r.upstream_model) for r in sonnet.routes] == [
        ("anthropic", "claude-sonnet-4-5"), ("bedrock-us", "anthropic.claude-sonnet-4-5-20250929-v1:0")]
    native = catalog_price("anthropic", "claude-sonnet-4-5")
    on_bedrock = catalog_price("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert sonnet.routes[0].price == native.price and sonnet.routes[1].price == on_bedrock.price
    assert on_bedrock.id == "anthropic/claude-sonnet-4-5"
    # The in-Region Bedrock id bills at AWS's regional rate ($3.30 / $16.50 per 1M), not the Claude API's $3 / $15.
    assert (on_bedrock.price.prompt, on_bedrock.price.completion) == (3_300_000, 16_500_000)
    assert (native.price.prompt, native.price.completion) == (3_000_000, 15_000_000)
    # Both providers also bring the catalog's other Claude models, one route per provider family.
    haiku = state.models.get("anthropic/claude-haiku-4-5")
    assert [r.provider.id for r in haiku.routes] == ["anthropic", "bedrock-us"]


@pytest.mark.parametrize("text,message", [
    ("route_retries: -1", "route_retries"),
    ("first_byte_timeout_seconds: 0", "first_byte_timeout_seconds"),
    ("breaker: {consecutive_failures: 0}", "breaker"),
    ("breaker: {failure_rate: 1.5}", "breaker"),
    ("breaker: {nonsense: 1}", "breaker"),
    ("models: [{id: a/b, strategy: fastest, routes: [{provider: x, model: m}]}]", "strategy"),
])
def test_routing_settings_are_range_checked(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text), env={})


def test_markup_is_charged_and_shown_most_specific_first(tmp_path):
    path = write(tmp_path, """
providers: [{id: openai, type: openai, api_key: k}]
markup: {percent: "5", providers: {openai: "2.5"}, models: {"openai/gpt-4o": "0"}}
""")
    state = Gateway.build(load_settings(path, env={}))
    mini = state.models.get("openai/gpt-4o-mini").price       # provider rate: 2.5%
    assert mini.prompt == 153_750 and mini.as_usd_strings()["prompt"] == "0.00000015375"
    assert state.models.get("openai/gpt-4o").price.prompt == 2_500_000   # the model says 0%


@pytest.mark.parametrize("text", ["markup: {percent: -1}", "markup: {percent: '0.001'}", "markup: {fee: 1}",
                                  "markup: {providers: [1]}"])
def test_bad_markup_is_refused(tmp_path, text):
    with pytest.raises(ConfigError, match="markup"):
        load_settings(write(tmp_path, text), env={})


def test_a_scheduled_price_change_takes_effect_at_its_time(tmp_path):
    from datetime import UTC, datetime

    from alltoken.routing.models import build_model_table, next_price_change

    path = write(tmp_path, """
providers: [{id: local, type: openai_compatible, base_url: "http://127.0.0.1:1/v1"}]
models:
  - id: local/m
    routes:
      - provider: local
        model: m
        pricing:
          - {from: "2027-01-01T00:00:00Z", prompt: "0.000002", completion: "0.000002"}
          - {from: "2026-01-01T00:00:00Z", prompt: "0.000001", completion: "0.000001"}
""")
    settings = load_settings(path, env={})
    state = Gateway.build(settings)
    before, after = datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    assert build_model_table(settings, state.providers, now=before).get("local/m").price.prompt == 1_000_000
    assert build_model_table(settings, state.providers, now=after).get("local/m").price.prompt == 2_000_000
    assert next_price_change(settings, [], before) == after and next_price_change(settings, [], after) is None


@pytest.mark.parametrize("pricing", [
    '[{prompt: "1", completion: "1"}]',                                  # no 'from'
    '[{from: "2027-01-01", prompt: "1", completion: "1"}]',              # no timezone
    '[{from: "2027-01-01T00:00:00Z", prompt: "x", completion: "1"}]',    # not a price
])
def test_bad_price_schedules_are_refused(tmp_path, pricing):
    path = write(tmp_path, f"""
providers: [{{id: local, type: openai_compatible, base_url: "http://127.0.0.1:1/v1"}}]
models: [{{id: local/m, routes: [{{provider: local, model: m, pricing: {pricing}}}]}}]
""")
    with pytest.raises(ConfigError):
        Gateway.build(load_settings(path, env={}))


def test_every_provider_type_config_accepts_has_a_client():
    from alltoken.config import PROVIDER_TYPES
    from alltoken.providers.registry import CLIENTS

    assert set(CLIENTS) == set(PROVIDER_TYPES)


def test_a_provider_entry_missing_what_its_type_needs_is_refused_when_the_config_loads(tmp_path):
    path = write(tmp_path, "providers: [{id: gem, type: gemini}]")
    with pytest.raises(ConfigError, match="gemini needs an api_key"):
        load_settings(path, env={})
