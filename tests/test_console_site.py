"""Serving the web console at `/`: index.html for client-side routes, cached hashed assets, security
headers, the APIs' own errors kept, a page that says how to build a console that was not built; and
the two catalog endpoints the console reads (/api/models, /api/status)."""

import re

import httpx
import pytest
from starlette.testclient import TestClient

from alltoken.config import load_settings
from alltoken.server.app import create_app
from alltoken.server.console_site import BUILD_DIR


@pytest.fixture(scope="module")
def index_html() -> str:
    index = BUILD_DIR / "index.html"
    assert index.is_file(), "the console is not built: run scripts/setup (it needs Node.js and npm)"
    return index.read_text()


def test_client_routes_get_index_html_uncached_with_strict_security_headers(demo_gateway, index_html):
    for path in ("/", "/models", "/settings", "/some/deep/client/route"):
        response = httpx.get(demo_gateway.url + path)
        assert response.status_code == 200 and response.text == index_html, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
    # Nothing inline for the policy to refuse: every script and style is a file.
    assert not re.search(r"<script(?![^>]*\bsrc=)", index_html) and "<style" not in index_html
    assert " style=" not in index_html


def test_hashed_assets_are_cached_for_a_year_and_a_missing_one_is_a_404(demo_gateway, index_html):
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', index_html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        response = httpx.get(demo_gateway.url + asset)
        assert response.status_code == 200, asset
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "content-security-policy" in response.headers
    missing = httpx.get(demo_gateway.url + "/assets/index-0ld8uild.js")
    assert missing.status_code == 404 and "html" not in missing.headers["content-type"]


def test_index_revalidates(demo_gateway):
    first = httpx.get(demo_gateway.url + "/")
    again = httpx.get(demo_gateway.url + "/usage", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304


def test_the_apis_keep_their_own_errors(demo_gateway):
    def error(response, status, code):
        assert response.status_code == status and response.json()["error"]["code"] == code, response.text

    error(httpx.get(demo_gateway.url + "/v1/nothing-here"), 404, "unknown_endpoint")
    error(httpx.get(demo_gateway.url + "/v1/chat/completions"), 405, "method_not_allowed")
    error(httpx.get(demo_gateway.url + "/health/nothing"), 404, "unknown_endpoint")
    error(httpx.get(demo_gateway.url + "/api/nothing"), 404, "http_404")
    error(httpx.post(demo_gateway.url + "/models"), 405, "method_not_allowed")


def test_a_console_that_was_not_built_says_how_to_build_it(tmp_path):
    settings = load_settings(env={"ALLTOKEN_CONSOLE_DIR": str(tmp_path / "empty"),
                                  "ALLTOKEN_DATABASE_URL": f"sqlite:///{tmp_path}/unused.db"})
    client = TestClient(create_app(settings))     # no lifespan: nothing here touches the database
    for path in ("/", "/models"):
        response = client.get(path)
        assert response.status_code == 503 and response.headers["content-type"].startswith("text/html")
        assert "scripts/setup" in response.text and "npm ci" in response.text
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_model_catalog_for_the_console_needs_a_caller_and_matches_v1_models(demo_gateway):
    anonymous = httpx.get(demo_gateway.url + "/api/models")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_signed_in"
    _, key = demo_gateway.new_key("0")
    listed = httpx.get(demo_gateway.url + "/api/models", headers={"authorization": f"Bearer {key}"})
    assert listed.status_code == 200
    assert listed.json()["data"] == httpx.get(demo_gateway.url + "/v1/models").json()["data"]


def test_the_console_catalog_leaves_out_what_the_account_or_key_may_not_use(demo_gateway):
    account, key = demo_gateway.new_key("0")
    demo_gateway.cli("models", "restrict", "--account", account, "--deny", "alltoken/demo-embed")
    limited_key = demo_gateway.cli("keys", "create", "--account", account, "--models", "alltoken/demo")["key"]

    def listed(secret):
        response = httpx.get(demo_gateway.url + "/api/models", headers={"authorization": f"Bearer {secret}"})
        return {model["id"] for model in response.json()["data"]}

    every = {model["id"] for model in httpx.get(demo_gateway.url + "/v1/models").json()["data"]}
    assert "alltoken/demo-embed" in every
    assert listed(key) == every - {"alltoken/demo-embed"}
    assert listed(limited_key) == {"alltoken/demo"}


def test_provider_status_for_the_console_matches_the_public_status(demo_gateway):
    ours = httpx.get(demo_gateway.url + "/api/status").json()["routes"]
    public = httpx.get(demo_gateway.url + "/status").json()["routes"]
    assert [r["route"] for r in ours] == [r["route"] for r in public] and ours
    assert set(ours[0]) == set(public[0])
