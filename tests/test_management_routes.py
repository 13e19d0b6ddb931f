"""Routes edited at run time through the management API: applied at once, in every process, and kept."""

import httpx
import pytest

from .harness import Gateway, gateway_pair, wait_for
from .test_routing_e2e import config


@pytest.fixture(scope="module")
def gateways(tmp_path_factory, fakes):
    with gateway_pair(tmp_path_factory.mktemp("mgmt"), config(*fakes)) as pair:
        yield pair


def served_by(gateway, key, model="acme/m") -> str:
    response = httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                          json={"model": model, "messages": [{"role": "user", "content": "x"}]}, timeout=10)
    assert response.status_code == 200, response.text
    return response.headers["x-alltoken-provider"]


def test_only_administrators_may_use_it(gateways):
    first, _ = gateways
    _, user_key = first.new_key()
    assert first.api("GET", "/admin/models/acme/m/routes", user_key).json()["error"]["code"] == "admin_only"
    assert httpx.get(first.url + "/api/admin/models/acme/m/routes").status_code == 401


def test_routes_change_at_run_time_in_every_process_and_survive_a_restart(gateways, admin_key, tmp_path):
    first, second = gateways
    _, key = first.new_key()
    before = first.api("GET", "/admin/models/acme/m/routes", admin_key).json()
    assert [r["provider"] for r in before["routes"]] == ["primary", "backup"] and before["strategy"] == "priority"
    changed = first.api("PUT", "/admin/models/acme/m/routes", admin_key, json={
        "strategy": "price", "routes": [{"provider": "backup", "model": "b-model",
                                         "pricing": {"prompt": "0.000001", "completion": "0.000001"}}]})
    assert changed.status_code == 200 and changed.json()["routes"][0]["pricing"]["prompt"] == "0.000001"
    assert served_by(first, key) == "backup"
    assert wait_for(lambda: served_by(second, key) == "backup", timeout=1.5)
    restarted = Gateway(first.workdir, first_config(first)).start()
    try:
        assert served_by(restarted, key) == "backup"
    finally:
        restarted.stop()
    assert first.api("DELETE", "/admin/models/acme/m/routes", admin_key).status_code == 204
    assert served_by(first, key) == "primary"
    assert wait_for(lambda: served_by(second, key) == "primary", timeout=1.5)
    assert first.api("DELETE", "/admin/models/acme/m/routes", admin_key).status_code == 404


def first_config(gateway):
    import yaml

    return yaml.safe_load(gateway.config_path.read_text())


@pytest.mark.parametrize("body,fragment", [
    ({"routes": [{"provider": "ghost", "model": "m"}]}, "unknown provider"),
    ({"routes": [{"provider": "primary", "model": "unpriced"}]}, "no price known"),
    ({"routes": []}, "routes"),
    ({"strategy": "fastest", "routes": [{"provider": "primary", "model": "m"}]}, "strategy"),
    ({"routes": [{"provider": "primary", "model": "m", "pricing": {"prompt": "x", "completion": "1"}}]}, "decimal"),
])
def test_bad_route_changes_are_400_and_change_nothing(gateways, admin_key, body, fragment):
    first, _ = gateways
    response = first.api("PUT", "/admin/models/acme/m/routes", admin_key, json=body)
    assert response.status_code == 400 and fragment in response.json()["error"]["message"]
    assert [r["provider"] for r in first.api("GET", "/admin/models/acme/m/routes", admin_key).json()["routes"]] \
        == ["primary", "backup"]


def test_openapi_and_route_health(gateways, admin_key):
    first, _ = gateways
    spec = httpx.get(first.url + "/api/openapi.json").json()
    assert "/admin/models/{model_id}/routes" in spec["paths"] and "/admin/routes/health" in spec["paths"]
    health = first.api("GET", "/admin/routes/health", admin_key).json()["routes"]
    assert {row["route"] for row in health} >= {"primary/p-model", "backup/b-model"}
