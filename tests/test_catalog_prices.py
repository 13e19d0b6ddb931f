"""Catalog entries with announced price changes and regional prices."""

from datetime import UTC, datetime

import pytest
import yaml

from alltoken.catalog import models as catalog
from alltoken.config import load_settings
from alltoken.routing.models import build_model_table, next_price_change
from alltoken.runtime.gateway import Gateway

CHANGE_AT = datetime(2027, 3, 1, tzinfo=UTC)
BEFORE, AFTER = datetime(2027, 2, 28, 23, 59, 59, tzinfo=UTC), CHANGE_AT

ENTRY = {
    "id": "acme/model", "upstream_model": "acme-1", "name": "Acme 1", "kind": "chat",
    "pricing": {"prompt": "0.000001", "completion": "0.000004"},
    "region_pricing": {"eu-central-1": {"prompt": "0.0000011", "completion": "0.0000044"}},
    "price_changes": [{"from": "2027-03-01T00:00:00Z", "pricing": {"prompt": "0.0000005", "completion": "0.000002"}}],
    "source": "https://example.test/pricing", "as_of": "2026-11-26",
}


@pytest.fixture
def acme_catalog(tmp_path, monkeypatch):
    """A catalog with one family, `openai_compatible`, holding ENTRY."""
    directory = tmp_path / "catalog"
    directory.mkdir()
    (directory / "acme.yaml").write_text(yaml.safe_dump(
        {"version": "test", "provider": "openai_compatible", "models": [ENTRY]}))
    monkeypatch.setattr(catalog, "CATALOG_DIR", directory)
    catalog.load_catalog.cache_clear()
    yield
    catalog.load_catalog.cache_clear()


def _settings(tmp_path):
    path = tmp_path / "alltoken.yaml"
    path.write_text(yaml.safe_dump({"providers": [
        {"id": "us", "type": "openai_compatible", "base_url": "http://127.0.0.1:1/v1", "region": "us-east-1"},
        {"id": "eu", "type": "openai_compatible", "base_url": "http://127.0.0.1:1/v1", "region": "eu-central-1"},
    ]}))
    return load_settings(str(path), env={})


def test_each_region_pays_its_own_price_and_a_change_starts_at_its_time(acme_catalog, tmp_path):
    settings = _settings(tmp_path)
    providers = Gateway.build(settings).providers
    before = {r.provider.id: r.price for r in build_model_table(settings, providers, now=BEFORE)
              .get("acme/model").routes}
    assert (before["us"].prompt, before["us"].completion) == (1_000_000, 4_000_000)
    assert (before["eu"].prompt, before["eu"].completion) == (1_100_000, 4_400_000)
    after = {r.provider.id: r.price for r in build_model_table(settings, providers, now=AFTER)
             .get("acme/model").routes}
    # The change restates no regional price, so both regions pay its default from then on.
    assert after["us"] == after["eu"] and (after["us"].prompt, after["us"].completion) == (500_000, 2_000_000)


def test_the_server_knows_when_the_next_catalog_price_starts(acme_catalog, tmp_path):
    settings = _settings(tmp_path)
    assert next_price_change(settings, [], BEFORE) == CHANGE_AT
    assert next_price_change(settings, [], AFTER) is None
    # A family no provider serves schedules nothing.
    assert next_price_change(load_settings(env={}), [], BEFORE) is None


@pytest.mark.parametrize("bad", [
    {"price_changes": [{"pricing": {"prompt": "1", "completion": "1"}}]},                          # no 'from'
    {"price_changes": [{"from": "2027-03-01", "pricing": {"prompt": "1", "completion": "1"}}]},    # no timezone
    {"price_changes": [{"from": "2027-03-01T00:00:00Z", "prompt": "1", "completion": "1"}]},       # not nested
    {"region_pricing": {"eu": {"prompt": "x", "completion": "1"}}},                                 # not a price
])
def test_a_malformed_catalog_entry_is_refused_with_its_file_and_id(tmp_path, monkeypatch, bad):
    (tmp_path / "acme.yaml").write_text(yaml.safe_dump(
        {"version": "test", "provider": "openai_compatible", "models": [{**ENTRY, **bad}]}))
    monkeypatch.setattr(catalog, "CATALOG_DIR", tmp_path)
    catalog.load_catalog.cache_clear()
    try:
        with pytest.raises(ValueError, match="acme.yaml: acme/model: bad pricing"):
            catalog.load_catalog()
    finally:
        catalog.load_catalog.cache_clear()
