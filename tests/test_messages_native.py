"""/v1/messages to an Anthropic model: the request passes through untranslated (cache_control,
thinking, documents keep their meaning) and usage is billed exactly."""

from decimal import Decimal

import anthropic
import pytest

from .conftest import anthropic_config
from .harness import Gateway, wait_for
from .pricing_helpers import expected_cost

MODEL = "anthropic/claude-haiku-4-5"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_anthropic):
    gateway = Gateway(tmp_path_factory.mktemp("native"), anthropic_config(fake_anthropic)).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def fake(fake_anthropic):
    fake_anthropic.reset()
    return fake_anthropic


REQUEST = dict(
    model=MODEL, max_tokens=2000,
    system=[{"type": "text", "text": "long shared context", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
    thinking={"type": "enabled", "budget_tokens": 1024},
    messages=[{"role": "user", "content": [
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "a plain document"}},
        {"type": "text", "text": "summarise", "cache_control": {"type": "ephemeral"}}]}],
)


def test_request_reaches_anthropic_untranslated(gateway, fake):
    account, key = gateway.new_key(usd="1")
    fake.plan(thinking="let me think", input_tokens=40, output_tokens=12, cache_creation_input_tokens=100,
              cache_read_input_tokens=300)
    message = gateway.anthropic_sdk(key).messages.create(**REQUEST,
                                                         extra_headers={"anthropic-beta": "files-api-2025-04-14"})
    sent = fake.requests[-1]
    assert sent["system"] == REQUEST["system"] and sent["thinking"] == REQUEST["thinking"]
    assert sent["messages"] == REQUEST["messages"] and sent["model"] == "claude-haiku-4-5"
    assert fake.headers[-1]["anthropic-beta"] == "files-api-2025-04-14"
    assert [block.type for block in message.content] == ["thinking", "text"]
    cost = expected_cost(MODEL, prompt=440, completion=12, cached=300, cache_write=100)
    assert Decimal(str(message.usage.model_extra["cost"])) == cost
    assert message.usage.cache_read_input_tokens == 300 and message.model == MODEL
    assert wait_for(lambda: gateway.balance(account) == Decimal(1) - cost, timeout=3)


def test_stream_passes_events_through_and_bills_exactly(gateway, fake):
    account, key = gateway.new_key(usd="1")
    fake.plan(text="streamed words here", input_tokens=30, output_tokens=7, cache_read_input_tokens=50)
    with gateway.anthropic_sdk(key).messages.stream(**REQUEST) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "streamed words here" and final.usage.output_tokens == 7
    assert final.usage.input_tokens == 30 and final.usage.cache_read_input_tokens == 50
    cost = expected_cost(MODEL, prompt=80, completion=7, cached=50)
    assert wait_for(lambda: gateway.balance(account) == Decimal(1) - cost, timeout=3)


def test_overload_mid_stream_is_an_error_event_and_costs_nothing(gateway, fake):
    account, key = gateway.new_key(usd="1")
    fake.plan(fail_mid_stream=True)
    with pytest.raises(anthropic.APIStatusError) as caught:
        with gateway.anthropic_sdk(key).messages.stream(**REQUEST) as stream:
            list(stream.text_stream)
    assert "overloaded" in str(caught.value).lower()
    assert gateway.balance(account) == Decimal(1)


def test_upstream_529_before_the_stream_is_an_overloaded_error(gateway, fake):
    _, key = gateway.new_key(usd="1")
    fake.plan(status=529, error_type="overloaded_error")
    with pytest.raises(anthropic.APIStatusError) as caught:
        gateway.anthropic_sdk(key).messages.create(**REQUEST)
    assert caught.value.status_code == 503 and caught.value.body["type"] == "error"


def test_max_tokens_bounds_the_hold(gateway, fake):
    _, key = gateway.new_key(usd="0.002")  # 300 output tokens at $5/M fit; 20000 do not
    simple = dict(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    gateway.anthropic_sdk(key).messages.create(**simple, max_tokens=300)
    with pytest.raises(anthropic.APIStatusError) as caught:
        gateway.anthropic_sdk(key).messages.create(**simple, max_tokens=20000)
    assert caught.value.status_code == 402 and caught.value.body["error"]["type"] == "billing_error"


def test_count_tokens_for_anthropic_models_and_a_clear_400_for_others(gateway, fake, demo_gateway):
    _, key = gateway.new_key(usd="0")  # counting is free
    counted = gateway.anthropic_sdk(key).messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "three words here"}])
    assert counted.input_tokens == 3 and fake.requests[-1]["model"] == "claude-haiku-4-5"
    _, demo_key = demo_gateway.new_key()
    with pytest.raises(anthropic.BadRequestError) as caught:
        demo_gateway.anthropic_sdk(demo_key).messages.count_tokens(model="alltoken/demo",
                                                                   messages=[{"role": "user", "content": "x"}])
    assert "Anthropic models" in caught.value.body["error"]["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_tool_round_trip_on_an_anthropic_model(gateway, fake, stream):
    _, key = gateway.new_key(usd="1")
    tools = [{"name": "get_weather", "description": "Weather now",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    fake.plan(tool_calls=[("get_weather", {"city": "Paris"})])
    request = dict(model=MODEL, max_tokens=500, tools=tools, messages=[{"role": "user", "content": "weather?"}])
    if stream:
        with gateway.anthropic_sdk(key).messages.stream(**request) as events:
            first = events.get_final_message()
    else:
        first = gateway.anthropic_sdk(key).messages.create(**request)
    use = next(block for block in first.content if block.type == "tool_use")
    assert first.stop_reason == "tool_use" and use.input == {"city": "Paris"}
    followup = request["messages"] + [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]}]
    final = gateway.anthropic_sdk(key).messages.create(**{**request, "messages": followup})
    assert final.stop_reason == "end_turn" and final.content[0].text
    assert fake.requests[-1]["messages"][-1]["content"][0]["tool_use_id"] == use.id


@pytest.mark.parametrize("stream", [False, True])
def test_pass_through_falls_back_across_anthropic_routes(tmp_path, fake, stream):
    from .fakes.anthropic_upstream import API_KEY, FakeAnthropic

    second = FakeAnthropic().start()
    providers = [{"id": "claude-a", "type": "anthropic", "api_key": API_KEY, "base_url": fake.base_url},
                 {"id": "claude-b", "type": "anthropic", "api_key": API_KEY, "base_url": second.base_url}]
    gateway = Gateway(tmp_path, {"providers": providers}).start()
    try:
        _, key = gateway.new_key()
        fake.plan(status=529, error_type="overloaded_error")
        request = dict(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hi"}])
        raw = gateway.anthropic_sdk(key).messages.with_raw_response.create(**request, stream=stream)
        assert raw.headers["x-alltoken-provider"] == "claude-b"
        if stream:
            assert [event.type for event in raw.parse()][-1] == "message_stop"
        assert len(second.requests) == 1
    finally:
        gateway.stop()
        second.stop()
