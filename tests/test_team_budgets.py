"""Team budgets end to end: members share the team's balance, each member's limit stops their
spending at the limit (also under concurrency), says which limit and when it resets, and resets."""

import concurrent.futures
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import openai

from alltoken.periods import next_reset

from .harness import wait_for
from .pricing_helpers import expected_cost
from .team_helpers import key_info, member_key, new_team
from .test_billing import settled_balance

MODEL = "openai/gpt-4o-mini"
CALL = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 7}
# The upstream is scripted to report usage within the hold's bounds (prompt bound 9 tokens, output 7),
# as a real provider does, so no overdraft applies: each request holds ~5.55e-6 USD and costs 4.95e-6.
COST = expected_cost(MODEL, prompt=5, completion=7)


def within_bounds(upstream, count: int, delay: float = 0.0) -> None:
    for _ in range(count):
        upstream.plan(prompt_tokens=5, completion_tokens=7, delay=delay)


def post(gateway, key: str) -> httpx.Response:
    return httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=CALL,
                      timeout=30)


def test_members_spend_the_shared_team_balance(openai_gateway, upstream):
    team = new_team(openai_gateway, usd="1", bob="developer")
    owner, bob = member_key(openai_gateway, team, "owner"), member_key(openai_gateway, team, "bob")
    within_bounds(upstream, 3)
    assert [post(openai_gateway, key).status_code for key in (owner, bob, bob)] == [200, 200, 200]
    left = 1 - 3 * COST
    assert settled_balance(openai_gateway, team.id, left) == left
    for key in (owner, bob):
        credits = httpx.get(openai_gateway.url + "/v1/credits", headers={"Authorization": f"Bearer {key}"}).json()
        assert credits["data"]["account_id"] == team.id and Decimal(credits["data"]["balance_usd"]) == left
    with sqlite3.connect(openai_gateway.db_path) as db:
        per_member = dict(db.execute("SELECT user_id, COUNT(*) FROM usage_records WHERE account_id = ? "
                                     "GROUP BY user_id", (team.id,)).fetchall())
    assert per_member == {team.user_ids["owner"]: 1, team.user_ids["bob"]: 2}


def test_a_member_limit_holds_under_forty_concurrent_requests_and_spares_other_members(openai_gateway, upstream):
    team = new_team(openai_gateway, usd="1", dev="developer", other="developer")
    limit = 10 * COST
    openai_gateway.cli("teams", "set-limit", "--team", team.id, "--email", team.emails["dev"],
                       "--limit-usd", str(limit), "--limit-reset", "monthly")
    dev, other = member_key(openai_gateway, team, "dev"), member_key(openai_gateway, team, "other")
    within_bounds(upstream, 40, delay=0.05)
    client = openai_gateway.sdk(dev)

    def one(_) -> str:
        try:
            client.chat.completions.create(**CALL)
            return "served"
        except openai.APIStatusError as exc:
            return f"{exc.status_code} {exc.body['code']}"

    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(one, range(40)))
    served = outcomes.count("served")
    assert set(outcomes) == {"served", "402 member_limit_reached"} and 0 < served <= 10
    assert served * COST <= limit
    left = 1 - served * COST
    assert settled_balance(openai_gateway, team.id, left) == left
    member = key_info(openai_gateway, dev)["member"]
    assert Decimal(member["usage_usd"]) == served * COST and Decimal(member["limit_usd"]) == limit
    within_bounds(upstream, 1)
    assert post(openai_gateway, other).status_code == 200     # another member spends on
    assert settled_balance(openai_gateway, team.id, left - COST) == left - COST


def test_the_402_names_the_member_limit_and_when_it_resets_and_yesterday_does_not_count(openai_gateway, upstream):
    team = new_team(openai_gateway, usd="1", dev="developer")
    openai_gateway.cli("teams", "set-limit", "--team", team.id, "--email", team.emails["dev"],
                       "--limit-usd", "0.00002", "--limit-reset", "daily")
    dev = member_key(openai_gateway, team, "dev")
    now = datetime.now(UTC)
    with sqlite3.connect(openai_gateway.db_path) as db:  # dev joined days ago, and spent far more yesterday
        db.execute("UPDATE team_members SET created_at = ? WHERE user_id = ?",
                   (_sqlite_time(now - timedelta(days=3)), team.user_ids["dev"]))
        db.execute("INSERT INTO usage_records (id, account_id, key_id, user_id, model, endpoint, streamed, "
                   "prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost_units, "
                   "latency_ms, status, http_status, created_at) VALUES (?, ?, NULL, ?, 'm', 'chat', 0, 0, 0, 0, 0, 0, "
                   "?, 1, 'ok', 200, ?)", (f"gen-yesterday-{team.id}", team.id, team.user_ids["dev"], 10**12,
                                           _sqlite_time(now - timedelta(days=1))))
    within_bounds(upstream, 4)
    # three requests start under today's 2e-5 USD; the fourth's hold would not fit
    responses = [post(openai_gateway, dev) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 402]
    error = responses[-1].json()["error"]
    assert error["code"] == "member_limit_reached" and error["type"] == "insufficient_credits"
    assert error["message"].startswith("this team member's daily spending limit is reached: 0.00000515 USD left "
                                       "of 0.000020 USD, and this request may cost up to 0.00000555 USD; it resets at ")
    assert next_reset("daily", datetime.now(UTC)).isoformat() in error["message"]
    member = key_info(openai_gateway, dev)["member"]
    assert member["limit_reset"] == "daily" and Decimal(member["usage_usd"]) == 3 * COST
    assert member["limit_resets_at"] == next_reset("daily", datetime.now(UTC)).isoformat()


def test_key_limit_and_member_limit_both_apply_and_the_lower_wins(openai_gateway, upstream):
    team = new_team(openai_gateway, usd="1", dev="developer")
    openai_gateway.cli("teams", "set-limit", "--team", team.id, "--email", team.emails["dev"],
                       "--limit-usd", "0.00002", "--limit-reset", "weekly")
    tight_key = member_key(openai_gateway, team, "dev", "--limit-usd", "0.00001")
    loose_key = member_key(openai_gateway, team, "dev", "--limit-usd", "1")
    within_bounds(upstream, 4)
    tight = [post(openai_gateway, tight_key) for _ in range(2)]
    assert [r.status_code for r in tight] == [200, 402]
    assert tight[-1].json()["error"]["code"] == "key_limit_reached"
    # the member limit counts both keys: 4.95e-6 spent through the tight key leaves room for two more
    loose = [post(openai_gateway, loose_key) for _ in range(3)]
    assert [r.status_code for r in loose] == [200, 200, 402]
    assert loose[-1].json()["error"]["code"] == "member_limit_reached"
    assert "weekly spending limit" in loose[-1].json()["error"]["message"]


def test_a_changed_limit_or_role_applies_to_a_running_server_within_a_second(openai_gateway, upstream):
    team = new_team(openai_gateway, usd="1", dev="developer")
    openai_gateway.cli("teams", "set-limit", "--team", team.id, "--email", team.emails["dev"],
                       "--limit-usd", "0.00001")
    dev = member_key(openai_gateway, team, "dev")
    upstream.default.prompt_tokens = 5
    try:
        assert [post(openai_gateway, dev).status_code for _ in range(2)] == [200, 402]
        message = post(openai_gateway, dev).json()["error"]["message"]
        assert "it does not reset" in message and "team member's spending limit" in message
        openai_gateway.cli("teams", "set-limit", "--team", team.id, "--email", team.emails["dev"], "--limit-usd", "1")
        assert wait_for(lambda: post(openai_gateway, dev).status_code == 200, timeout=1.5)
        openai_gateway.cli("teams", "set-role", "--team", team.id, "--email", team.emails["dev"], "--role", "viewer")
        refused = wait_for(lambda: (r := post(openai_gateway, dev)).status_code == 403 and r, timeout=1.5)
        assert refused and refused.json()["error"]["code"] == "member_role_cannot_spend"
        openai_gateway.cli("teams", "remove-member", "--team", team.id, "--email", team.emails["dev"])
        assert wait_for(lambda: post(openai_gateway, dev).status_code == 401, timeout=1.5)
    finally:
        upstream.default.prompt_tokens = 21


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
