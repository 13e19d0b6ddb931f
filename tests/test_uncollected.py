"""Charges never exceed what a balance or a limit can take (issue 14, defect 3): an upstream that reports
far more usage than the request's hold allowed for is charged only down to zero (or to the credit line),
and to a key's or a team member's limit; the rest is recorded as uncollected on the usage record and the
ledger entry, counted in /metrics, and listed for the operator in GET /api/admin/uncollected.

Run against one process on SQLite (the in-process book) and one on PostgreSQL + Redis (the Redis book,
whose settlement script caps). Before the fix, the same requests took balances to about -15 USD."""

import re
from decimal import Decimal

import httpx
import pytest

from .deployments import Deployment
from .harness import wait_for
from .pricing_helpers import expected_cost
from .team_helpers import member_key, new_team

MODEL = "openai/gpt-4o-mini"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5}
ABSURD = {"prompt_tokens": 100_000_000, "completion_tokens": 1_000_000}   # reported by a misbehaving upstream
COST = expected_cost(MODEL, prompt=ABSURD["prompt_tokens"], completion=ABSURD["completion_tokens"])
UNITS = Decimal(10**12)

pytestmark = pytest.mark.timeout(600)


def chat(deployment: Deployment, key: str, **changes) -> httpx.Response:
    return httpx.post(deployment.url + "/v1/chat/completions", json={**CHAT, **changes},
                      headers={"Authorization": f"Bearer {key}"}, timeout=30)


def usage_record(deployment: Deployment, account: str) -> tuple[int, int] | None:
    found = deployment.rows("SELECT cost_units, uncollected_units FROM usage_records WHERE account_id = ?", account)
    return (int(found[0][0]), int(found[0][1])) if found else None


def ledger_usage(deployment: Deployment, account: str) -> tuple[int, int]:
    ((amount, uncollected),) = deployment.rows("SELECT amount_units, uncollected_units FROM ledger_entries "
                                          "WHERE account_id = ? AND kind = 'usage'", account)
    return int(amount), int(uncollected)


def units(usd) -> int:
    return int(Decimal(usd) * UNITS)


def test_the_balance_is_charged_down_to_zero_and_the_rest_is_uncollected(deployment, upstream):
    account, key = deployment.nodes.new_key(usd="0.01")
    upstream.plan(**ABSURD)
    response = chat(deployment, key)
    assert response.status_code == 200
    assert Decimal(str(response.json()["usage"]["cost"])) == Decimal("0.01")   # what was charged
    assert wait_for(lambda: usage_record(deployment, account) == (units("0.01"), units(COST) - units("0.01")))
    assert ledger_usage(deployment, account) == (-units("0.01"), units(COST) - units("0.01"))
    assert deployment.nodes.balance(account) == 0                                       # never below zero
    assert chat(deployment, key).status_code == 402


def test_a_credit_line_is_the_floor(deployment, upstream):
    account, key = deployment.nodes.new_key(usd="0")
    deployment.nodes.cli("credits", "line", "--account", account, "--usd", "0.02")
    upstream.plan(**ABSURD)
    with httpx.stream("POST", deployment.url + "/v1/chat/completions", json={**CHAT, "stream": True},
                      headers={"Authorization": f"Bearer {key}"}, timeout=30) as streamed:
        final = [line for line in streamed.iter_lines() if '"cost"' in line]
    assert '"cost":0.02' in final[-1]
    assert wait_for(lambda: deployment.nodes.balance(account) == Decimal("-0.02"))
    assert ledger_usage(deployment, account) == (-units("0.02"), units(COST) - units("0.02"))


def test_a_key_limit_is_never_exceeded(deployment, upstream):
    account, key = deployment.nodes.new_key(usd="100", limit_usd="0.005")
    upstream.plan(**ABSURD)
    assert chat(deployment, key).status_code == 200
    info = httpx.get(deployment.url + "/v1/key", headers={"Authorization": f"Bearer {key}"}).json()["data"]
    assert info["usage_usd"] == "0.005000" and info["limit_remaining"] == 0
    assert wait_for(lambda: usage_record(deployment, account) == (units("0.005"), units(COST) - units("0.005")))
    assert deployment.nodes.balance(account) == Decimal("99.995")
    refused = chat(deployment, key)
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "key_limit_reached"


def test_a_team_member_limit_is_never_exceeded(deployment, upstream):
    team = new_team(deployment.gateway, usd="100", dev="developer")
    deployment.nodes.cli("teams", "set-limit", "--team", team.id, "--email", team.emails["dev"], "--limit-usd", "0.003")
    key = member_key(deployment.gateway, team, "dev")
    upstream.plan(**ABSURD)
    assert chat(deployment, key).status_code == 200
    member = httpx.get(deployment.url + "/v1/key", headers={"Authorization": f"Bearer {key}"}).json()["data"]["member"]
    assert member["usage_usd"] == "0.003000"
    assert wait_for(lambda: usage_record(deployment, team.id) == (units("0.003"), units(COST) - units("0.003")))
    refused = chat(deployment, key)
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "member_limit_reached"


def test_the_operator_sees_uncollected_cost_in_the_metrics_and_the_admin_view(deployment, upstream):
    account, key = deployment.nodes.new_key(usd="0.001")
    upstream.plan(**ABSURD)
    assert chat(deployment, key).status_code == 200
    metrics = httpx.get(deployment.url + "/metrics").text
    counted = re.search(r'^alltoken_uncollected_settlements_total\{capped_by="balance"\} (\S+)$', metrics, re.M)
    assert counted and float(counted.group(1)) >= 1
    assert re.search(r'^alltoken_uncollected_usd_total\{capped_by="balance"\} (\S+)$', metrics, re.M)
    admin = deployment.nodes.admin_key()
    [row] = wait_for(lambda: _listed(deployment, admin, account)) or [None]   # once the usage entry is written
    assert Decimal(row["uncollected_usd"]) == COST - Decimal("0.001") and row["requests"] == 1
    detail = _admin_get(deployment, f"/api/admin/accounts/{account}", admin).json()
    assert Decimal(detail["uncollected_usd"]) == COST - Decimal("0.001")
    assert _admin_get(deployment, "/api/admin/uncollected", key).status_code == 403


def _listed(deployment: Deployment, admin: str, account: str) -> list[dict]:
    data = _admin_get(deployment, "/api/admin/uncollected", admin).json()["data"]
    return [row for row in data if row["account_id"] == account]


def _admin_get(deployment: Deployment, path: str, key: str) -> httpx.Response:
    return httpx.get(deployment.url + path, headers={"Authorization": f"Bearer {key}"})
