"""What a browser is told: the session cookie is `Secure` whenever the console is reached over TLS (directly,
or through a trusted proxy that says so) or when configured; /api answers carry a CSP, frame protection,
nosniff and a referrer policy; no page loads third-party script (/api/docs is gone, /api/openapi.json
stays); and no redirect is built from the request's Host header."""

import httpx
import pytest

from .harness import Gateway

PASSWORD = "correct horse battery"
PROXY, STRANGER = "127.0.0.1", "127.0.0.2"     # the trusted reverse proxy; a client that claims to be one


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("behind-proxy"),
                      {"regions": {"trusted_proxies": [f"{PROXY}/32"]}}).start()
    yield gateway
    gateway.stop()


def sign_up(gateway: Gateway, peer: str, email: str, headers: dict | None = None) -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=peer), timeout=30) as client:
        answer = client.post(gateway.url + "/api/auth/signup", json={"email": email, "password": PASSWORD},
                             headers=headers or {})
    assert answer.status_code == 201, answer.text
    return answer


def cookie_flags(response: httpx.Response) -> dict[str, bool]:
    """Cookie name -> whether it is marked Secure."""
    return {header.split("=", 1)[0]: "secure" in header.lower().split("; ")
            for header in response.headers.get_list("set-cookie")}


def test_the_session_cookie_is_secure_when_a_trusted_proxy_says_the_client_used_tls(behind_proxy):
    over_tls = sign_up(behind_proxy, PROXY, "tls@example.com", {"x-forwarded-proto": "https"})
    assert cookie_flags(over_tls) == {"atk_session": True, "atk_csrf": True}
    plain = sign_up(behind_proxy, PROXY, "plain@example.com", {"x-forwarded-proto": "http"})
    assert cookie_flags(plain) == {"atk_session": False, "atk_csrf": False}
    # Anyone else may write the header; it is not believed from them.
    claimed = sign_up(behind_proxy, STRANGER, "claimed@example.com", {"x-forwarded-proto": "https"})
    assert cookie_flags(claimed) == {"atk_session": False, "atk_csrf": False}


def test_secure_cookies_can_be_required_always(tmp_path):
    gateway = Gateway(tmp_path, env={"ALLTOKEN_SECURE_COOKIES": "true"}).start()
    try:
        answer = sign_up(gateway, PROXY, "always@example.com")
        assert cookie_flags(answer) == {"atk_session": True, "atk_csrf": True}
        # (over plain HTTP here, a client keeps a Secure cookie to itself: send it by hand)
        out = httpx.post(gateway.url + "/api/auth/logout", timeout=30, headers={
            "cookie": f"atk_session={answer.cookies['atk_session']}", "x-csrf-token": answer.json()["csrf_token"]})
        assert out.status_code == 204 and cookie_flags(out) == {"atk_session": True, "atk_csrf": True}
    finally:
        gateway.stop()


@pytest.mark.parametrize("method, path", [("GET", "/api/openapi.json"), ("GET", "/api/auth/me"),
                                          ("POST", "/api/auth/login"), ("GET", "/api/nothing-here")])
def test_management_api_answers_carry_browser_protections(demo_gateway, method, path):
    response = httpx.request(method, demo_gateway.url + path, json={} if method == "POST" else None, timeout=30)
    headers = response.headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_there_is_no_docs_page_loading_third_party_script_but_the_openapi_document_stays(demo_gateway):
    docs = httpx.get(demo_gateway.url + "/api/docs")
    assert docs.status_code == 404 and docs.headers["content-type"] == "application/json"
    assert "cdn" not in docs.text
    document = httpx.get(demo_gateway.url + "/api/openapi.json")
    assert document.status_code == 200 and "/auth/login" in document.json()["paths"]


@pytest.mark.parametrize("path", ["/v1/models/", "/api/auth/me/", "/health/live/", "/api"])
def test_no_redirect_echoes_the_host_header(demo_gateway, path):
    response = httpx.get(demo_gateway.url + path, headers={"host": "attacker.example"}, timeout=30)
    assert "attacker.example" not in response.headers.get("location", "")
    assert response.status_code == 404 and response.json()["error"]["message"]
