"""Sign-up records the terms it accepted (and is refused without them once a version is published, and from
a blocked country); accepting terms, the export and deletion answer the owner's console session (CSRF-checked,
the password confirmed again a moment before), and never an API key."""

import httpx
import pytest

from .harness import Gateway
from .test_regions import GERMANY, IRAN, PROXY, build_geoip

PASSWORD = "a long sign-up password"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("account-scope")).start()
    yield gateway
    gateway.stop()


def signed_up(gateway: Gateway, email: str, peer: str = PROXY, **extra) -> tuple[httpx.Client, httpx.Response]:
    browser = httpx.Client(base_url=gateway.url + "/api", timeout=15,
                           transport=httpx.HTTPTransport(local_address=peer))
    return browser, browser.post("/auth/signup", json={"email": email, "password": PASSWORD, **extra})


def csrf(answer: httpx.Response) -> dict:
    return {"x-csrf-token": answer.json()["csrf_token"]}


def reauthenticate(browser: httpx.Client, answer: httpx.Response, password: str = PASSWORD) -> httpx.Response:
    return browser.post("/auth/reauthenticate", json={"password": password}, headers=csrf(answer))


def test_sign_up_needs_and_records_the_terms_once_a_version_is_published(gateway):
    _, before = signed_up(gateway, "before-terms@example.com")
    assert before.status_code == 201       # nothing published: nothing to accept
    gateway.cli("terms", "publish", "--version", "2026-01", "--effective", "2026-01-01T00:00:00Z",
                "--url", "https://alltoken.example/terms")
    _, refused = signed_up(gateway, "no-terms@example.com")
    error = refused.json()["error"]
    assert refused.status_code == 400 and error["param"] == "accept_terms" and error["code"] == "terms_not_accepted"
    assert "2026-01" in error["message"]
    _, refused_false = signed_up(gateway, "no-terms@example.com", accept_terms=False)
    assert refused_false.status_code == 400
    browser, accepted = signed_up(gateway, "no-terms@example.com", accept_terms=True)   # the refusal left nothing
    assert accepted.status_code == 201, accepted.text
    status = browser.get("/terms").json()
    assert status["accepted_version"] == "2026-01" and status["accepts_current"] and status["accepted_at"]
    signups = [e for e in gateway.cli("audit-log", "--target", accepted.json()["account_id"])
               if e["action"] == "auth.signup"]
    assert signups[0]["details"] == {"terms_version": "2026-01"}


def test_terms_and_the_upload_warranty_answer_a_console_session_with_csrf(gateway):
    browser, answer = signed_up(gateway, "session-terms@example.com", accept_terms=True)
    gateway.cli("terms", "publish", "--version", "2026-02", "--effective", "2026-02-01T00:00:00Z")
    assert browser.get("/terms").json()["accepts_current"] is False
    forged = browser.post("/terms/accept")
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed"
    unconfirmed = browser.post("/terms/accept", headers=csrf(answer))
    assert unconfirmed.status_code == 403 and unconfirmed.json()["error"]["code"] == "reauthentication_required"
    assert reauthenticate(browser, answer).status_code == 200
    accepted = browser.post("/terms/accept", headers=csrf(answer))
    assert accepted.status_code == 200 and accepted.json()["version"] == "2026-02"
    assert browser.get("/terms").json()["accepts_current"] is True
    assert browser.get("/terms/image-uploads").json()["image_uploads"] is False
    assert browser.post("/terms/image-uploads").status_code == 403
    given = browser.post("/terms/image-uploads", headers=csrf(answer)).json()
    assert given["image_uploads"] is True and given["version"] == "2026-02"
    assert browser.get("/terms/image-uploads").json()["accepted_at"] == given["accepted_at"]
    actors = {e["actor"] for e in gateway.cli("audit-log", "--target", answer.json()["account_id"])
              if e["action"] in ("terms.accept", "terms.image_uploads")}
    assert actors == {f"user:{answer.json()['user_id']}"}


def test_a_console_session_downloads_its_own_export(gateway):
    browser, answer = signed_up(gateway, "export@example.com", accept_terms=True)
    assert browser.get("/account/export").json()["error"]["code"] == "reauthentication_required"
    assert reauthenticate(browser, answer).status_code == 200
    export = browser.get("/account/export")
    assert export.status_code == 200
    assert export.headers["content-disposition"] == f'attachment; filename="{answer.json()["account_id"]}.json"'
    document = export.json()
    assert document["account"]["id"] == answer.json()["account_id"]
    assert [user["email"] for user in document["users"]] == ["export@example.com"]
    assert "password_hash" not in export.text


def test_deleting_from_a_session_needs_the_password_and_ends_the_session(gateway):
    browser, answer = signed_up(gateway, "leaving@example.com", accept_terms=True)
    account = answer.json()["account_id"]
    no_csrf = browser.post("/account/delete", json={"confirm": account})
    assert no_csrf.status_code == 403
    unconfirmed = browser.post("/account/delete", json={"confirm": account}, headers=csrf(answer))
    assert unconfirmed.status_code == 403 and unconfirmed.json()["error"]["code"] == "reauthentication_required"
    wrong = reauthenticate(browser, answer, "not the password")
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "password"
    assert reauthenticate(browser, answer).status_code == 200
    deleted = browser.post("/account/delete", json={"confirm": account}, headers=csrf(answer))
    assert deleted.status_code == 200 and deleted.json()["account_id"] == account
    assert browser.get("/auth/me").status_code == 401
    assert httpx.post(gateway.url + "/api/auth/login",
                      json={"email": "leaving@example.com", "password": PASSWORD}).status_code == 401


def test_an_api_key_never_deletes(gateway):
    account, key = gateway.new_key()
    refused = gateway.api("POST", "/account/delete", key, json={"confirm": account})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "session_required"
    assert gateway.api("GET", "/account/notices", key).json()["status"] == "active"


@pytest.fixture(scope="module")
def geoip_gateway(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("signup-geoip")
    gateway = Gateway(workdir, {"regions": {"blocked_countries": ["IR"],
                                            "geoip_database": build_geoip(workdir / "countries.mmdb")}})
    yield gateway.start()
    gateway.stop()


def test_sign_up_from_a_blocked_country_is_refused(geoip_gateway):
    _, refused = signed_up(geoip_gateway, "embargoed@example.com", peer=IRAN, accept_terms=True)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "region_blocked"
    assert "(IR)" in refused.json()["error"]["message"]
    _, allowed = signed_up(geoip_gateway, "embargoed@example.com", peer=GERMANY, accept_terms=True)
    assert allowed.status_code == 201, allowed.text
