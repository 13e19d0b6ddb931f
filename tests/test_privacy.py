"""Prompt and completion text never reach the database or the logs (canary strings prove it)."""

import httpx

from .conftest import openai_config
from .harness import Gateway

PROMPT_CANARY = "CANARY-PROMPT-7f3a9c1e"
COMPLETION_CANARY = "CANARY-COMPLETION-b81d44aa"


def test_canaries_appear_nowhere_in_the_database_or_logs(tmp_path, fake_openai):
    fake_openai.reset()
    fake_openai.default.text = f"Here it is: {COMPLETION_CANARY}"
    gateway = Gateway(tmp_path, openai_config(fake_openai)).start()
    try:
        _, key = gateway.new_key()
        sdk = gateway.sdk(key)
        messages = [{"role": "system", "content": f"system {PROMPT_CANARY}"},
                    {"role": "user", "content": f"user {PROMPT_CANARY}"}]
        reply = sdk.chat.completions.create(model="openai/gpt-4o-mini", messages=messages)
        assert COMPLETION_CANARY in reply.choices[0].message.content
        streamed = list(sdk.chat.completions.create(model="openai/gpt-4o-mini", messages=messages, stream=True))
        assert streamed[-1].usage is not None
        fake_openai.plan(status=500)
        httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                   json={"model": "openai/gpt-4o-mini", "messages": messages})
        for broken in (f'{{"model": "openai/gpt-4o-mini", "messages": "{PROMPT_CANARY}', f'["{PROMPT_CANARY}"]'):
            httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                       content=broken)
        httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                   json={"model": "openai/gpt-4o-mini", "messages": [{"role": PROMPT_CANARY, "content": "x"}]})
        assert fake_openai.requests[0]["messages"] == messages  # the canary did go upstream
    finally:
        assert gateway.stop() == 0
        fake_openai.default.text = "Hello from the fake upstream."
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("alltoken.db*"))
    assert b"usage_records" in stored and len(stored) > 10_000
    logs = gateway.log().encode()
    for canary in (PROMPT_CANARY, COMPLETION_CANARY):
        assert canary.encode() not in stored
        assert canary.encode() not in logs
