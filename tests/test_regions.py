"""Regions and sanctions: requests and sign-ups from blocked countries get 403 region_blocked.

The country comes from a trusted proxy's header or from a GeoIP2 database that these tests build
with mmdb-writer. Requests leave from chosen loopback addresses (127.0.0.2, ...) so the gateway sees
different peers, as it would see different clients.
"""

import anthropic
import httpx
import openai
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from alltoken.config import ConfigError, RegionSettings, load_settings
from alltoken.http.errors import shape
from alltoken.http.region_gate import RegionPolicy
from alltoken.runtime.origin import ClientOrigin

from .console_helpers import PASSWORD, new_email
from .harness import CliError, Gateway

IRAN, GERMANY, NOT_IN_DATABASE = "127.0.0.2", "127.0.0.3", "127.0.0.4"
PROXY = "127.0.0.1"


def build_geoip(path) -> str:
    """A GeoIP2-Country database as MaxMind ships them (IPv6 tree with IPv4 mapped), two entries."""
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-Country", languages=["en"],
                        description="AllToken test fixture")
    writer.insert_network(IPSet([f"{IRAN}/32", "203.0.113.0/24"]),
                          {"country": {"iso_code": "IR", "names": {"en": "Iran"}}})
    writer.insert_network(IPSet([f"{GERMANY}/32"]), {"country": {"iso_code": "DE", "names": {"en": "Germany"}}})
    writer.to_db_file(str(path))
    return str(path)


def scope(peer: str, headers: dict | None = None) -> dict:
    return {"type": "http", "path": "/v1/models", "client": (peer, 50000),
            "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}


def origin(**settings) -> ClientOrigin:
    return ClientOrigin(RegionSettings(**settings))


# --- where a request comes from ---------------------------------------------------------------------------------

def test_the_country_header_counts_only_from_a_trusted_proxy():
    from ipaddress import ip_network

    found = origin(country_header="CF-IPCountry", trusted_proxies=(ip_network("10.0.0.0/8"),))
    assert found.country(scope("10.1.2.3", {"CF-IPCountry": "ir"})) == "IR"
    assert found.country(scope("192.0.2.7", {"CF-IPCountry": "IR"})) is None   # anyone could send it
    assert found.country(scope("10.1.2.3", {"CF-IPCountry": "XX"})) is None    # the proxy does not know
    assert found.country(scope("10.1.2.3", {"CF-IPCountry": "T1"})) is None    # Tor, not a country
    assert found.country(scope("10.1.2.3")) is None
    assert origin(country_header="CF-IPCountry").country(scope("10.1.2.3", {"CF-IPCountry": "IR"})) is None


def test_the_client_address_is_the_peer_or_the_nearest_untrusted_forwarded_address():
    from ipaddress import ip_network

    proxies = origin(trusted_proxies=(ip_network("10.0.0.0/8"), ip_network("fd00::/8")))
    assert proxies.address(scope("192.0.2.7", {"X-Forwarded-For": "198.51.100.1"})) == "192.0.2.7"
    assert proxies.address(scope("10.0.0.1")) == "10.0.0.1"
    assert proxies.address(scope("10.0.0.1", {"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.0.0.2"})) \
        == "203.0.113.9"   # the left entries are whatever the client claimed
    assert proxies.address(scope("fd00::1", {"X-Forwarded-For": "2001:DB8::5"})) == "2001:db8::5"
    assert proxies.address(scope("10.0.0.1", {"X-Forwarded-For": "10.0.0.9, 10.0.0.2"})) == "10.0.0.9"
    assert proxies.address(scope("10.0.0.1", {"X-Forwarded-For": "not-an-address"})) is None
    assert origin().address(scope("10.0.0.1", {"X-Forwarded-For": "198.51.100.1"})) == "10.0.0.1"
    assert origin().address({"type": "http", "headers": []}) is None


def test_a_geoip_database_gives_the_country_of_the_client_address(tmp_path):
    from ipaddress import ip_network

    found = origin(geoip_database=build_geoip(tmp_path / "countries.mmdb"), country_header="CF-IPCountry",
                   trusted_proxies=(ip_network(f"{PROXY}/32"),))
    assert found.country(scope(IRAN)) == "IR" and found.country(scope("203.0.113.40")) == "IR"
    assert found.country(scope(GERMANY)) == "DE"
    assert found.country(scope(NOT_IN_DATABASE)) is None
    assert found.country(scope(PROXY, {"X-Forwarded-For": GERMANY})) == "DE"
    assert found.country(scope(PROXY, {"CF-IPCountry": "FR", "X-Forwarded-For": IRAN})) == "FR"  # header first
    assert found.country(scope(PROXY, {"CF-IPCountry": "XX", "X-Forwarded-For": IRAN})) == "IR"  # else database
    assert found.country(scope(IRAN, {"CF-IPCountry": "FR"})) == "IR"   # an untrusted peer's header is ignored
    found.close()


def test_unknown_countries_are_allowed_unless_configured_otherwise():
    assert RegionPolicy(RegionSettings(blocked_countries=frozenset({"IR"}))).refusal(None) is None
    refused = RegionPolicy(RegionSettings(unknown_country="block")).refusal(None)
    assert shape(refused).status == 403 and refused.code == "region_blocked"
    assert "could not determine" in refused.message
    blocked = RegionPolicy(RegionSettings(blocked_countries=frozenset({"IR"}))).refusal("IR")
    assert blocked.code == "region_blocked" and "(IR)" in blocked.message
    assert RegionPolicy(RegionSettings(blocked_countries=frozenset({"IR"}))).refusal("DE") is None


@pytest.mark.parametrize("section,message", [
    ("{blocked_countries: [IRN]}", "alpha-2"),
    ("{blocked_countries: IR}", "alpha-2"),
    ("{trusted_proxies: [10.0.0.0/33]}", "trusted_proxies"),
    ("{geoip_database: /nowhere/countries.mmdb}", "file not found"),
    ("{unknown_country: maybe}", "allow or block"),
    ("{blocked_country: [IR]}", "expected a mapping"),
])
def test_region_settings_are_checked(tmp_path, section, message):
    path = tmp_path / "alltoken.yaml"
    path.write_text(f"regions: {section}\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(str(path), env={})


def test_a_file_that_is_not_a_geoip_database_is_refused_at_start(tmp_path):
    bogus = tmp_path / "countries.mmdb"
    bogus.write_bytes(b"not a MaxMind database" * 10)
    with pytest.raises(ConfigError, match="cannot open"):
        origin(geoip_database=bogus)


def test_without_blocked_countries_requests_do_not_pass_through_the_gate(tmp_path):
    from alltoken.http.region_gate import RegionGate
    from alltoken.server.app import create_app

    def gate_installed(config: str) -> bool:
        path = tmp_path / "alltoken.yaml"
        path.write_text(f"database_url: sqlite:///{tmp_path}/a.db\n{config}")
        return any(m.cls is RegionGate for m in create_app(load_settings(str(path), env={})).user_middleware)

    assert not gate_installed("")
    assert not gate_installed("regions: {country_header: CF-IPCountry, trusted_proxies: [10.0.0.0/8]}\n")
    assert gate_installed("regions: {blocked_countries: [IR]}\n")
    assert gate_installed("regions: {unknown_country: block}\n")


# --- end to end ---------------------------------------------------------------------------------------------------

def client(gateway: Gateway, key: str, peer: str = PROXY, country: str | None = None,
           forwarded_for: str | None = None) -> openai.OpenAI:
    headers = {k: v for k, v in (("CF-IPCountry", country), ("X-Forwarded-For", forwarded_for)) if v}
    transport = httpx.Client(transport=httpx.HTTPTransport(local_address=peer), timeout=30)
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, default_headers=headers,
                         http_client=transport)


def chat(sdk: openai.OpenAI) -> str:
    return sdk.chat.completions.create(model="alltoken/demo", messages=[{"role": "user", "content": "hi"}]).id


def refused(sdk: openai.OpenAI) -> openai.PermissionDeniedError:
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(sdk)
    assert caught.value.code == "region_blocked"
    return caught.value


@pytest.fixture(scope="module")
def header_gateway(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("regions-header"), {"regions": {
        "blocked_countries": ["IR", "KP"], "country_header": "CF-IPCountry", "trusted_proxies": [f"{PROXY}/32"]}})
    yield gateway.start()
    gateway.stop()


def test_a_blocked_country_named_by_a_trusted_proxy_is_refused(header_gateway):
    _, key = header_gateway.new_key()
    error = refused(client(header_gateway, key, country="IR"))
    assert "not available in your country or region (IR)" in error.message
    refused(client(header_gateway, key, country="kp"))
    assert chat(client(header_gateway, key, country="DE"))


def test_the_same_header_from_an_untrusted_peer_is_ignored(header_gateway):
    _, key = header_gateway.new_key()
    assert chat(client(header_gateway, key, peer=IRAN, country="IR"))


def test_an_unknown_country_is_served_by_default(header_gateway):
    _, key = header_gateway.new_key()
    assert chat(client(header_gateway, key))
    assert chat(client(header_gateway, key, country="XX"))


def test_every_api_endpoint_is_gated_in_its_own_error_shape(header_gateway):
    _, key = header_gateway.new_key()
    blocked = {"CF-IPCountry": "IR", "Authorization": f"Bearer {key}"}
    for method, path in (("GET", "/v1/models"), ("GET", "/v1/credits"), ("GET", "/api/terms"),
                         ("POST", "/api/account/delete"), ("GET", "/api/openapi.json")):
        response = httpx.request(method, header_gateway.url + path, headers=blocked)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "region_blocked" and response.headers["x-request-id"]
    assert httpx.get(header_gateway.url + "/health/ready", headers=blocked).status_code == 200
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        anthropic.Anthropic(base_url=header_gateway.url, api_key=key, max_retries=0, default_headers={
            "CF-IPCountry": "IR"}).messages.create(model="alltoken/demo", max_tokens=10,
                                                   messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == "permission_error"
    assert "(IR)" in caught.value.body["error"]["message"]


def test_a_sign_up_from_a_blocked_country_is_refused(header_gateway):
    with pytest.raises(CliError) as caught:
        header_gateway.cli("accounts", "create", "--email", "embargoed@example.com", "--country", "ir")
    assert "region_blocked" in caught.value.stderr and "(IR)" in caught.value.stderr
    created = header_gateway.cli("accounts", "create", "--email", "allowed@example.com", "--country", "de")
    assert created["status"] == "active"
    refusal_left_nothing = header_gateway.cli("accounts", "create", "--email", "embargoed@example.com")
    assert refusal_left_nothing["email"] == "embargoed@example.com"


def test_console_sign_ups_and_sign_ins_are_audited_with_the_address_behind_the_trusted_proxy(header_gateway):
    email = new_email()
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    with httpx.Client(base_url=header_gateway.url + "/api", headers=forwarded, timeout=15) as through_proxy:
        user_id = through_proxy.post("/auth/signup", json={"email": email, "password": PASSWORD}).json()["user_id"]
    with httpx.Client(base_url=header_gateway.url + "/api", headers=forwarded, timeout=15,
                      transport=httpx.HTTPTransport(local_address=IRAN)) as untrusted_peer:
        untrusted_peer.post("/auth/login", json={"email": email, "password": PASSWORD})
    audited = header_gateway.cli("audit-log")
    addresses = [(e["action"], e["address"]) for e in audited if e["actor"] == f"user:{user_id}"]
    assert addresses == [("auth.signup", "203.0.113.9"), ("auth.sign_in", IRAN)]


@pytest.fixture(scope="module")
def geoip_gateway(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("regions-geoip")
    gateway = Gateway(workdir, {"regions": {
        "blocked_countries": ["IR"], "geoip_database": build_geoip(workdir / "countries.mmdb"),
        "trusted_proxies": [f"{PROXY}/32"], "unknown_country": "block"}})
    yield gateway.start()
    gateway.stop()


def test_a_blocked_country_found_in_the_geoip_database_is_refused(geoip_gateway):
    _, key = geoip_gateway.new_key()
    assert "(IR)" in refused(client(geoip_gateway, key, peer=IRAN)).message
    assert chat(client(geoip_gateway, key, peer=GERMANY))


def test_behind_a_trusted_proxy_the_forwarded_address_is_looked_up(geoip_gateway):
    _, key = geoip_gateway.new_key()
    refused(client(geoip_gateway, key, forwarded_for=IRAN))
    assert chat(client(geoip_gateway, key, forwarded_for=GERMANY))
    assert chat(client(geoip_gateway, key, peer=GERMANY, forwarded_for=IRAN))  # an untrusted peer's claim


def test_an_unknown_country_is_refused_when_configured_to_be(geoip_gateway):
    _, key = geoip_gateway.new_key()
    error = refused(client(geoip_gateway, key, peer=NOT_IN_DATABASE))
    assert "could not determine your country" in error.message
