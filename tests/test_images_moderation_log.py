"""The image moderation log: one record per image request with exactly the five fields, listed and
exported by admins only (management API, CLI), and purged after its retention period."""

import csv
import io
import sqlite3
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from alltoken.ids import utcnow
from alltoken.images import moderation_log
from alltoken.images.moderation_log import ModerationRecord
from alltoken.store.db import session_factory

from .harness import CliError, wait_for
from .image_helpers import db_rows, images_gateway, mask, moderation_records, picture, uploader

FIELDS = {"moderation", "account_id", "task_id", "timestamp", "model"}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_openai_images):
    gateway = images_gateway(tmp_path_factory.mktemp("images-log"), fake_openai_images,
                             moderation_log_retention_days=30, purge_interval_seconds=0.2)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def admin_key(gateway):
    ((account,),) = db_rows(gateway, "SELECT account_id FROM users WHERE is_admin")
    return gateway.cli("keys", "create", "--account", account)["key"]


def admin_get(gateway, path, key, **params) -> httpx.Response:
    return httpx.get(gateway.url + "/api/admin/moderation-log" + path, params=params, timeout=10,
                     headers={"Authorization": f"Bearer {key}"})


def test_the_table_holds_exactly_the_five_fields(gateway):
    with sqlite3.connect(gateway.db_path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(image_moderation_log)")}
    assert columns == {"moderation", "account_id", "task_id", "created_at", "model"}


def test_every_request_that_reaches_a_provider_leaves_exactly_one_record(gateway, fake_openai_images):
    fake_openai_images.reset()
    account, key = uploader(gateway)
    sdk = gateway.sdk(key)
    made = [sdk.images.generate(model="openai/gpt-image-1", prompt="a", moderation="low")._request_id,
            sdk.images.generate(model="openai/gpt-image-2", prompt="b")._request_id,
            sdk.images.edit(model="openai/gpt-image-1", prompt="c", image=("a.png", picture(), "image/png"),
                            mask=("m.png", mask(), "image/png"))._request_id]
    fake_openai_images.plan(status=503)
    failed = httpx.post(gateway.url + "/v1/images/generations", headers={"Authorization": f"Bearer {key}"},
                        json={"model": "openai/gpt-image-1", "prompt": "d", "moderation": "auto"})
    refused = httpx.post(gateway.url + "/v1/images/generations", headers={"Authorization": f"Bearer {key}"},
                         json={"model": "openai/gpt-image-1", "prompt": "e", "n": 0})
    assert failed.status_code == 502 and refused.status_code == 400
    assert moderation_records(gateway, account) == [
        (made[0], "low", "openai/gpt-image-1"), (made[1], None, "openai/gpt-image-2"),
        (made[2], None, "openai/gpt-image-1"), (failed.headers["x-request-id"], "auto", "openai/gpt-image-1")]
    # the log mirrors the usage records: one each for the same requests, and none for the refused one
    assert wait_for(lambda: sorted(r[0] for r in db_rows(gateway, "SELECT id FROM usage_records WHERE account_id = ?",
                                                           account)) == sorted([*made, failed.headers["x-request-id"]]),
                    timeout=3)


def test_admins_list_the_log_a_page_at_a_time_and_others_cannot(gateway, admin_key):
    account, key = gateway.new_key()
    for level in ("auto", "low", "auto"):
        gateway.sdk(key).images.generate(model="openai/gpt-image-1", prompt="x", moderation=level)
    first = admin_get(gateway, "", admin_key, account_id=account, limit=2).json()
    assert [entry["moderation"] for entry in first["data"]] == ["auto", "low"] and first["next_cursor"]
    assert all(set(entry) == FIELDS and entry["account_id"] == account for entry in first["data"])
    second = admin_get(gateway, "", admin_key, account_id=account, limit=2, cursor=first["next_cursor"]).json()
    assert [entry["moderation"] for entry in second["data"]] == ["auto"] and second["next_cursor"] is None
    assert admin_get(gateway, "", key).json()["error"]["code"] == "admin_only"
    assert admin_get(gateway, "/export", key).status_code == 403
    assert httpx.get(gateway.url + "/api/admin/moderation-log").status_code == 401
    assert admin_get(gateway, "", admin_key, cursor="garbage").status_code == 400
    assert admin_get(gateway, "", admin_key, since="2026-01-01T00:00:00").status_code == 400   # no timezone


def test_admins_export_it_as_csv_or_json_lines(gateway, admin_key):
    account, key = gateway.new_key()
    gateway.sdk(key).images.generate(model="openai/gpt-image-1", prompt="x", moderation="low")
    gateway.sdk(key).images.generate(model="openai/gpt-image-2", prompt="y")
    exported = admin_get(gateway, "/export", admin_key, account_id=account)
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["moderation"], r["model"]) for r in rows] == [("low", "openai/gpt-image-1"), ("", "openai/gpt-image-2")]
    assert set(rows[0]) == FIELDS
    lines = admin_get(gateway, "/export", admin_key, account_id=account, format="jsonl").text.splitlines()
    entries = [orjson.loads(line) for line in lines]
    assert [e["moderation"] for e in entries] == ["low", None] and all(set(e) == FIELDS for e in entries)
    since = entries[1]["timestamp"]
    assert len(admin_get(gateway, "/export", admin_key, account_id=account, since=since).text.splitlines()) == 2


def test_the_cli_prints_the_contract_shape(gateway):
    account, key = gateway.new_key()
    gateway.sdk(key).images.generate(model="openai/gpt-image-1", prompt="x", moderation="low")
    everything = gateway.cli("moderation-log")
    mine = [entry for entry in everything if entry["account_id"] == account]
    assert len(mine) == 1 and set(mine[0]) == FIELDS and mine[0]["moderation"] == "low"
    assert mine[0]["model"] == "openai/gpt-image-1"
    later = (datetime.fromisoformat(mine[0]["timestamp"]) + timedelta(microseconds=1)).isoformat()
    assert all(entry["account_id"] != account for entry in gateway.cli("moderation-log", "--since", later))
    assert mine[0] in gateway.cli("moderation-log", "--since", mine[0]["timestamp"])
    with pytest.raises(CliError):
        gateway.cli("moderation-log", "--since", "yesterday")


def test_records_past_the_retention_period_are_purged(gateway):
    old, recent = utcnow() - timedelta(days=31), utcnow() - timedelta(days=29)
    with sqlite3.connect(gateway.db_path) as db:
        for task_id, at in (("gen-old-record", old), ("gen-recent-record", recent)):
            db.execute("INSERT INTO image_moderation_log (task_id, account_id, model, moderation, created_at) "
                       "VALUES (?, 'acct_x', 'openai/gpt-image-1', 'low', ?)",
                       (task_id, at.replace(tzinfo=None).isoformat(sep=" ")))
    remaining = lambda: {row[0] for row in db_rows(gateway, "SELECT task_id FROM image_moderation_log")}  # noqa: E731
    assert wait_for(lambda: "gen-old-record" not in remaining(), timeout=5)
    assert "gen-recent-record" in remaining()


async def test_the_log_reads_pages_filters_and_purges_on_every_database(engine, monkeypatch):
    monkeypatch.setattr(moderation_log, "PAGE", 3)
    sessions = session_factory(engine)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    written = [ModerationRecord(f"gen-{i}", "acct_a" if i % 2 else "acct_b", "alltoken/demo-image",
                                "low" if i % 3 else None, start + timedelta(hours=i // 2)) for i in range(7)]
    for record in reversed(written):
        await moderation_log.write(sessions, record)
    async with sessions() as session:
        assert await moderation_log.records(session) == written
        page = await moderation_log.records(session, limit=3)
        assert await moderation_log.records(session, after=page[-1].cursor(), limit=3) == written[3:6]
        assert await moderation_log.records(session, account_id="acct_a", since=start + timedelta(hours=1),
                                            until=start + timedelta(hours=3)) == [written[3], written[5]]
    assert [r async for r in moderation_log.every_record(sessions)] == written
    async with sessions.begin() as session:
        assert await moderation_log.purge(session, start + timedelta(hours=2)) == 4
    async with sessions() as session:
        assert await moderation_log.records(session) == written[4:]
