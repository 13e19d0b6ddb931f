"""SIGTERM drains: an in-flight stream completes, its usage is written, the process exits 0."""

import sqlite3
import threading

import httpx

from .conftest import openai_config
from .harness import Gateway


def test_sigterm_during_a_stream(tmp_path, fake_openai):
    fake_openai.reset()
    words = " ".join(f"word{i}" for i in range(30))
    fake_openai.plan(text=words, chunk_delay=0.05)  # about 1.5 s of streaming
    gateway = Gateway(tmp_path, openai_config(fake_openai)).start()
    account, key = gateway.new_key()
    received: list[str] = []
    started = threading.Event()

    def consume():
        with httpx.stream("POST", gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                          json={"model": "openai/gpt-4o-mini", "stream": True,
                                "messages": [{"role": "user", "content": "long one"}]}, timeout=30) as response:
            for line in response.iter_lines():
                received.append(line)
                if "word2" in line:
                    started.set()

    reader = threading.Thread(target=consume)
    reader.start()
    assert started.wait(10)
    assert gateway.stop() == 0
    reader.join(10)
    data = [line for line in received if line.startswith("data: ")]
    assert data[-1] == "data: [DONE]" and '"usage"' in data[-2] and "word29" in "".join(data)
    with sqlite3.connect(gateway.db_path) as db:
        rows = db.execute("SELECT status, completion_tokens, cost_units, streamed FROM usage_records "
                          "WHERE account_id = ?", (account,)).fetchall()
        charged = db.execute("SELECT -amount_units FROM ledger_entries WHERE account_id = ? AND kind = 'usage'",
                             (account,)).fetchall()
    assert rows == [("ok", 7, rows[0][2], 1)] and rows[0][2] > 0
    assert charged == [(rows[0][2],)]
    assert "stopped cleanly" in gateway.log()
