"""The admin endpoints the console's Admin pages use: reached with an administrator's console session as
well as an admin API key; account search and view, redemption codes, pricing and fees, providers, platform
analytics. Non-admins get 403, bad input 400, unknown ids 404."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from .console_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD
from .harness import Gateway


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("admin-console"),
                      env={"ALLTOKEN_ADMIN_EMAIL": ADMIN_EMAIL, "ALLTOKEN_ADMIN_PASSWORD": ADMIN_PASSWORD}).start()
    yield gateway
    gateway.stop()


def browser(gateway) -> httpx.Client:
    return httpx.Client(base_url=gateway.url + "/api", timeout=15)


def signed_in(gateway, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> tuple[httpx.Client, str]:
    """A cookie-keeping client signed in as `email`, and its CSRF token."""
    client = browser(gateway)
    answer = client.post("/auth/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return client, answer.json()["csrf_token"]


def signed_up(gateway, name: str | None = None) -> tuple[httpx.Client, str, str]:
    """A new user's signed-in client, CSRF token and account id."""
    client = browser(gateway)
    email = f"user-{time.monotonic_ns()}@example.com"
    answer = client.post("/auth/signup", json={"email": email, "password": PASSWORD, "name": name})
    assert answer.status_code == 201, answer.text
    return client, answer.json()["csrf_token"], answer.json()["account_id"]


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def test_an_admin_session_reaches_admin_endpoints_and_changes_are_audited_as_the_user(gateway):
    admin, csrf = signed_in(gateway)
    _, _, account = signed_up(gateway)
    assert admin.get("/admin/routes/health").status_code == 200
    me = admin.get("/auth/me").json()
    changed = admin.post(f"/admin/accounts/{account}/enforcement", headers={"x-csrf-token": csrf},
                         json={"state": "warned", "reason": "spam reports"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["actor"] == f"user:{me['user_id']}"
    log = admin.get("/admin/audit-log", params={"target": account}).json()["entries"]
    assert [(e["actor"], e["action"]) for e in log if e["action"] == "accounts.warn"] == [
        (f"user:{me['user_id']}", "accounts.warn")]
    # An admin key still works, and is named by its key id.
    key = gateway.admin_key()
    by_key = gateway.api("POST", f"/admin/accounts/{account}/enforcement", key,
                         json={"state": "active", "reason": "resolved"})
    assert by_key.status_code == 200 and by_key.json()["actor"].startswith("key:")


def test_an_admin_session_change_without_the_csrf_header_is_refused(gateway):
    admin, csrf = signed_in(gateway)
    _, _, account = signed_up(gateway)
    body = {"state": "warned", "reason": "spam"}
    missing = admin.post(f"/admin/accounts/{account}/enforcement", json=body)
    wrong = admin.post(f"/admin/accounts/{account}/enforcement", json=body, headers={"x-csrf-token": "nope"})
    for refused in (missing, wrong):
        assert refused.status_code == 403 and error_code(refused) == "csrf_failed"
    detail = admin.get(f"/admin/accounts/{account}").json()
    assert detail["status"] == "active" and detail["enforcement"] == []


def test_a_non_admin_session_and_key_get_admin_only(gateway):
    user, csrf, account = signed_up(gateway)
    _, key = gateway.new_key("1")
    for path in ("/admin/accounts", f"/admin/accounts/{account}", "/admin/codes", "/admin/pricing",
                 "/admin/providers", "/admin/analytics", "/admin/routes/health", "/admin/audit-log"):
        for refused in (user.get(path), gateway.api("GET", path, key)):
            assert refused.status_code == 403 and error_code(refused) == "admin_only", (path, refused.text)
    posted = user.post("/admin/codes", json={"amount_usd": "1"}, headers={"x-csrf-token": csrf})
    assert posted.status_code == 403 and error_code(posted) == "admin_only"
    assert browser(gateway).get("/admin/accounts").status_code == 401       # nobody signed in


def test_account_search_matches_id_email_and_name_and_pages_by_keyset(gateway):
    admin, _ = signed_in(gateway)
    tag = f"zeta{time.monotonic_ns()}"
    made = [signed_up(gateway, name=f"{tag} {n}")[2] for n in range(3)]
    first = admin.get("/admin/accounts", params={"q": tag.upper(), "limit": 2}).json()
    assert [a["id"] for a in first["data"]] == made[::-1][:2] and first["next_cursor"]
    rest = admin.get("/admin/accounts", params={"q": tag, "limit": 2, "cursor": first["next_cursor"]}).json()
    assert [a["id"] for a in rest["data"]] == [made[0]] and rest["next_cursor"] is None
    by_id = admin.get("/admin/accounts", params={"q": made[1]}).json()["data"]
    assert [a["id"] for a in by_id] == [made[1]] and by_id[0]["name"] == f"{tag} 1"
    email = admin.get(f"/admin/accounts/{made[2]}").json()["email"]
    assert [a["id"] for a in admin.get("/admin/accounts", params={"q": email}).json()["data"]] == [made[2]]
    assert admin.get("/admin/accounts", params={"q": "%"}).json()["data"] == []      # wildcards are literal
    for cursor in ("not-a-cursor", "99999999999999999999.acct_x"):
        bad = admin.get("/admin/accounts", params={"cursor": cursor})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "cursor"
    assert admin.get("/admin/accounts", params={"limit": 0}).status_code == 400


def test_the_account_view_has_balance_state_users_keys_and_spend_this_month(gateway):
    admin, _ = signed_in(gateway)
    user, _, account = signed_up(gateway)
    gateway.cli("credits", "grant", "--account", account, "--usd", "3")
    key = gateway.cli("keys", "create", "--account", account)["key"]
    gateway.sdk(key).chat.completions.create(model="alltoken/demo", messages=[{"role": "user", "content": "hi"}])
    for _ in range(100):
        detail = admin.get(f"/admin/accounts/{account}").json()
        if detail["requests_this_month"]:
            break
        time.sleep(0.1)
    spent = 3 - float(detail["balance_usd"])
    assert detail["requests_this_month"] == 1 and abs(float(detail["spend_this_month_usd"]) - spent) < 1e-9
    assert detail["keys_active"] == detail["keys_total"] == 1
    assert [u["email"] for u in detail["users"]] == [user.get("/auth/me").json()["email"]]
    assert detail["status"] == "active" and detail["billing_hold"] is None
    missing = admin.get("/admin/accounts/acct_nobody")
    assert missing.status_code == 404 and "acct_nobody" in missing.json()["error"]["message"]


def test_redemption_codes_are_made_once_listed_with_redemptions_and_audited(gateway):
    admin, csrf = signed_in(gateway)
    headers = {"x-csrf-token": csrf}
    expires = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    made = admin.post("/admin/codes", headers=headers,
                      json={"amount_usd": "2.5", "count": 2, "uses": 3, "expires_at": expires})
    assert made.status_code == 201, made.text
    batch = made.json()
    assert len(batch["codes"]) == 2 and batch["amount_usd"] == "2.50"
    _, _, account = signed_up(gateway)
    key = gateway.cli("keys", "create", "--account", account)["key"]
    redeemed = httpx.post(gateway.url + "/v1/credits/redeem", headers={"Authorization": f"Bearer {key}"},
                          json={"code": batch["codes"][0]}, timeout=10)
    assert redeemed.status_code == 200, redeemed.text
    listed = admin.get("/admin/codes", params={"batch_id": batch["batch_id"]}).json()["data"]
    by_hint = {row["hint"]: row for row in listed}
    assert by_hint[batch["codes"][0][-4:]]["redemptions"] == 1 and by_hint[batch["codes"][0][-4:]]["uses_left"] == 2
    assert by_hint[batch["codes"][1][-4:]]["redemptions"] == 0
    assert batch["codes"][0] not in admin.get("/admin/codes").text                  # never shown again
    log = admin.get("/admin/audit-log", params={"target": f"batch:{batch['batch_id']}"}).json()["entries"]
    assert [e["action"] for e in log] == ["codes.create"]
    for body, param in (({"amount_usd": "-1"}, "amount_usd"), ({"amount_usd": "abc"}, "amount_usd"),
                        ({"amount_usd": "1", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
                        ({"amount_usd": "100000000"}, "amount_usd"), ({"amount_usd": "1", "count": 0}, None)):
        bad = admin.post("/admin/codes", headers=headers, json=body)
        assert bad.status_code == 400, (body, bad.text)
        if param:
            assert bad.json()["error"]["param"] == param


def test_pricing_lists_every_route_with_its_fee_and_providers_their_health(gateway):
    admin, _ = signed_in(gateway)
    pricing = admin.get("/admin/pricing").json()
    assert pricing["fees"] == {"default_percent": "0.00", "providers": {}, "models": {}}
    catalog = {m["id"]: m for m in httpx.get(gateway.url + "/v1/models").json()["data"]}
    assert {m["id"] for m in pricing["models"]} == set(catalog)
    demo = next(m for m in pricing["models"] if m["id"] == "alltoken/demo")
    assert demo["routes"][0]["provider"] == "demo" and demo["routes"][0]["pricing"] == catalog["alltoken/demo"][
        "pricing"]
    providers = admin.get("/admin/providers").json()["data"]
    assert [p["id"] for p in providers] == ["demo"] and providers[0]["type"] == "demo"
    assert "alltoken/demo" in providers[0]["models"] and providers[0]["routes"][0]["breaker"] == "closed"


def test_platform_analytics_add_up_every_account_by_day(gateway):
    admin, _ = signed_in(gateway)
    before = admin.get("/admin/analytics").json()
    for _ in range(2):
        _, key = gateway.new_key("1")
        gateway.sdk(key).chat.completions.create(model="alltoken/demo", messages=[{"role": "user", "content": "hi"}])
    for _ in range(100):
        after = admin.get("/admin/analytics").json()
        if after["requests"] >= before["requests"] + 2:
            break
        time.sleep(0.1)
    assert after["requests"] == before["requests"] + 2
    assert after["active_accounts"] >= before["active_accounts"] + 2
    today = datetime.now(UTC).date().isoformat()
    assert after["days"][-1]["day"] == today and after["to"] == today
    assert after["top_models"][0]["name"].startswith("alltoken/demo")
    assert [p["name"] for p in after["top_providers"]] == ["demo"]
    for params, param in (({"from": "2026-13-01"}, "from"), ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
                          ({"from": "2020-01-01", "to": "2026-01-01"}, "from"), ({"to": "0001-13-01"}, "to")):
        bad = admin.get("/admin/analytics", params=params)
        assert bad.status_code == 400 and bad.json()["error"]["param"] == param
    assert admin.get("/admin/analytics", params={"to": "0001-01-05"}).json()["days"] == []     # the first days


def test_a_suspended_account_reads_why_in_its_notices_and_its_key_is_refused(gateway):
    admin, csrf = signed_in(gateway)
    user, _, account = signed_up(gateway)
    key = gateway.cli("keys", "create", "--account", account)["key"]
    suspended = admin.post(f"/admin/accounts/{account}/enforcement", headers={"x-csrf-token": csrf},
                           json={"state": "suspended", "reason": "chargeback fraud"})
    assert suspended.status_code == 200
    notices = user.get("/account/notices").json()
    assert notices["status"] == "suspended" and notices["status_reason"] == "chargeback fraud"
    assert notices["billing_hold"] is None and notices["terms_owed"] is None
    for _ in range(50):
        refused = gateway.api("GET", "/account/keys", key)
        if refused.status_code == 403:
            break
        time.sleep(0.1)
    assert refused.status_code == 403 and error_code(refused) == "account_suspended"
    assert "chargeback fraud" in refused.json()["error"]["message"]
