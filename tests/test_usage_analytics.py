"""Usage analytics: daily rollups kept with the usage records, their backfill, the summary and
generations reads on both databases, and the /api/usage endpoints end to end."""

import csv
import io
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import select

from alltoken.analytics.events import UsageEvent
from alltoken.analytics.recorder import UsageRecorder
from alltoken.analytics.rollups import COUNTERS
from alltoken.analytics.usage_queries import Position, generations_page, usage_summary
from alltoken.governance.deletion import detach_usage
from alltoken.money import usd_to_units
from alltoken.store.db import session_factory
from alltoken.store.models import UsageDaily, UsageRecord

from .harness import wait_for
from .test_teams_store import _alembic

DAY_ONE = datetime(2026, 3, 1, 23, 59, 59, 999000, tzinfo=UTC)
DAY_TWO = datetime(2026, 3, 2, 0, 0, 0, 1000, tzinfo=UTC)


def _event(n: int, created_at: datetime, *, account="acct_a", key="key_1", model="m/one", provider="p1",
           status="ok", cost=1000) -> UsageEvent:
    return UsageEvent(id=f"gen-{account}-{n}", account_id=account, key_id=key, model=model, provider=provider,
                      upstream_model="up", endpoint="chat", streamed=False, prompt_tokens=10 + n,
                      completion_tokens=n, cached_tokens=0, cache_write_tokens=0, reasoning_tokens=0,
                      cost_units=cost + n, latency_ms=5 + n, ttft_ms=None, status=status,
                      http_status=200 if status == "ok" else 502, error_code=None, finish_reason=None,
                      attempts=None, created_at=created_at)


def _events() -> list[UsageEvent]:
    """Two UTC days (a millisecond either side of midnight), two models, a failure, no key, no provider,
    and another account."""
    return [_event(0, DAY_ONE), _event(1, DAY_ONE, model="m/two"), _event(2, DAY_ONE, status="error", cost=0),
            _event(3, DAY_TWO), _event(4, DAY_TWO, key=None, provider=None), _event(5, DAY_TWO, key="key_2"),
            _event(6, DAY_TWO, account="acct_b")]


async def _record(sessions, events: list[UsageEvent]) -> None:
    """Through the real recorder, in two batches, so the second adds to rollups the first made."""
    recorder = UsageRecorder(sessions)
    for batch in (events[::2], events[1::2]):
        for event in batch:
            recorder.record(event)
        assert await recorder.flush()


async def _rollups(sessions) -> dict[tuple, tuple]:
    async with sessions() as session:
        rows = await session.execute(select(UsageDaily))
        return {(r.account_id, r.day.isoformat(), r.model, r.provider, r.key_id): tuple(getattr(r, c) for c in COUNTERS)
                for r in rows.scalars()}


async def _grouped_raw_records(sessions) -> dict[tuple, tuple]:
    """The same counters, summed straight from usage_records."""
    totals: dict[tuple, list[int]] = {}
    async with sessions() as session:
        for r in (await session.execute(select(UsageRecord))).scalars():
            key = (r.account_id, r.created_at.date().isoformat(), r.model, r.provider or "", r.key_id or "")
            row = totals.setdefault(key, [0] * len(COUNTERS))
            for i, value in enumerate((1, r.status == "error", r.prompt_tokens, r.completion_tokens, r.cost_units,
                                       r.latency_ms)):
                row[i] += value
    return {key: tuple(row) for key, row in totals.items()}


async def test_rollups_equal_the_sums_of_the_usage_records_written_with_them(engine):
    sessions = session_factory(engine)
    await _record(sessions, _events())
    rollups = await _rollups(sessions)
    assert rollups == await _grouped_raw_records(sessions)
    assert len(rollups) == 6                                   # 7 records, two of them share a rollup
    assert rollups[("acct_a", "2026-03-01", "m/one", "p1", "key_1")] == (2, 1, 22, 2, 1002, 12)
    assert ("acct_a", "2026-03-02", "m/one", "", "") in rollups


async def test_the_migration_backfills_rollups_from_existing_records(engine):
    sessions = session_factory(engine)
    await _record(sessions, _events())
    kept = await _rollups(sessions)
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: _alembic(c, command.downgrade, "0016"))
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: _alembic(c, command.upgrade, "head"))
    assert await _rollups(sessions) == kept


async def test_deleting_an_account_folds_its_rollups_into_keyless_ones_as_its_records(engine):
    sessions = session_factory(engine)
    await _record(sessions, _events())
    async with sessions.begin() as session:
        await detach_usage(session, ["acct_a"])
    rollups = await _rollups(sessions)
    assert rollups == await _grouped_raw_records(sessions)
    assert {key[4] for key in rollups if key[0] == "acct_a"} == {""}
    assert ("acct_b", "2026-03-02", "m/one", "p1", "key_1") in rollups          # another account keeps its keys
    assert sum(counters[0] for key, counters in rollups.items() if key[0] == "acct_a") == 6


async def test_summary_groups_by_day_model_provider_and_key_within_the_range(engine):
    sessions = session_factory(engine)
    await _record(sessions, _events())
    first, second = DAY_ONE.date(), DAY_TWO.date()
    async with sessions() as session:
        by_day = await usage_summary(session, "acct_a", first, second, "day")
        by_model = await usage_summary(session, "acct_a", first, second, "model")
        by_provider = await usage_summary(session, "acct_a", first, second, "provider")
        by_key = await usage_summary(session, "acct_a", second, second, "key")
        before = await usage_summary(session, "acct_a", first - timedelta(days=9), first - timedelta(days=1), "day")
    assert [(day, t.requests) for day, t in by_day.groups] == [("2026-03-01", 3), ("2026-03-02", 3)]
    assert by_day.totals.cost_units == sum(1000 + n for n in (0, 1, 3, 4, 5)) + 2
    assert by_day.totals.failed_requests == 1
    assert [(model, t.requests) for model, t in by_model.groups] == [("m/one", 5), ("m/two", 1)]
    assert [(p, t.requests) for p, t in by_provider.groups] == [("", 1), ("p1", 5)]
    assert [(key, t.requests) for key, t in by_key.groups] == [("", 1), ("key_1", 1), ("key_2", 1)]
    assert by_key.totals.prompt_tokens == 13 + 14 + 15
    assert before.groups == [] and before.totals.requests == 0


async def test_generation_pages_return_each_record_once_newest_first(engine):
    sessions = session_factory(engine)
    same_instant = [_event(n, DAY_TWO) for n in range(7)]               # ties broken by id
    earlier = [_event(n, DAY_ONE - timedelta(seconds=n)) for n in range(7, 12)]
    await _record(sessions, [*same_instant, *earlier, _event(0, DAY_TWO, account="acct_b")])
    seen, after = [], None
    async with sessions() as session:
        while True:
            page = await generations_page(session, "acct_a", 3, after)
            seen += page
            if len(page) < 3:
                break
            after = Position.decode(Position(page[-1].created_at, page[-1].id).encode())
    assert [row.id for row in seen] == sorted((e.id for e in same_instant), reverse=True) + [e.id for e in earlier]
    assert [row.created_at for row in seen] == sorted((row.created_at for row in seen), reverse=True)


# End to end: the real gateway, the official openai SDK, the demo model.

def _chat(gateway, key: str, n: int) -> None:
    for _ in range(n):
        gateway.sdk(key).chat.completions.create(model="alltoken/demo", max_tokens=8,
                                                  messages=[{"role": "user", "content": "hello"}])


def test_usage_endpoints_report_the_requests_made_through_the_sdk(demo_gateway):
    account, first_key = demo_gateway.new_key(usd="5")
    second_key = demo_gateway.cli("keys", "create", "--account", account)["key"]
    _chat(demo_gateway, first_key, 3)
    _chat(demo_gateway, second_key, 2)
    assert wait_for(lambda: _summary(demo_gateway, first_key)["totals"]["requests"] == 5)

    generations = _all_generations(demo_gateway, first_key, limit=2)
    assert len(generations) == len({g["id"] for g in generations}) == 5
    assert {g["model"] for g in generations} == {"alltoken/demo"} and all(g["status"] == "ok" for g in generations)
    cost = sum(usd_to_units(g["cost_usd"]) for g in generations)
    assert cost > 0

    summary = _summary(demo_gateway, first_key)
    assert usd_to_units(summary["totals"]["cost_usd"]) == cost
    assert summary["totals"]["prompt_tokens"] == sum(g["prompt_tokens"] for g in generations)
    by_key = _summary(demo_gateway, second_key, group="key")["data"]
    assert sorted(row["requests"] for row in by_key) == [2, 3]
    by_model = _summary(demo_gateway, first_key, group="model")["data"]
    assert [(row["model"], row["requests"]) for row in by_model] == [("alltoken/demo", 5)]

    exported = demo_gateway.api("GET", "/usage/generations.csv", first_key)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["id"] for row in rows] == [g["id"] for g in generations]
    assert sum(usd_to_units(row["cost_usd"]) for row in rows) == cost

    _, stranger = demo_gateway.new_key(usd="1")
    assert _summary(demo_gateway, stranger)["totals"]["requests"] == 0
    assert demo_gateway.api("GET", "/usage/generations", stranger).json()["data"] == []
    assert demo_gateway.api("GET", "/usage/generations.csv", stranger).text.count("\n") == 1   # the header only


def test_bad_usage_queries_are_400s_in_the_api_error_shape(demo_gateway):
    _, key = demo_gateway.new_key(usd="1")
    for path, param in [("/usage/summary?from=2026-13-01", "from"), ("/usage/summary?to=yesterday", "to"),
                        ("/usage/summary?from=20260101", "from"),
                        ("/usage/summary?from=2026-03-02&to=2026-03-01", "from"),
                        ("/usage/summary?from=2024-01-01&to=2026-01-01", "from"),
                        ("/usage/summary?group=week", "group"), ("/usage/generations?cursor=nope", "cursor"),
                        ("/usage/generations?limit=0", "limit"), ("/usage/generations?limit=501", "limit")]:
        answer = demo_gateway.api("GET", path, key)
        assert answer.status_code == 400, path
        assert answer.json()["error"]["param"].endswith(param), path
    assert demo_gateway.api("GET", "/usage/summary", "not-a-key").status_code == 401


def _summary(gateway, key: str, **params) -> dict:
    answer = gateway.api("GET", "/usage/summary", key, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _all_generations(gateway, key: str, limit: int) -> list[dict]:
    found, cursor = [], None
    while True:
        page = gateway.api("GET", "/usage/generations", key, params={"limit": limit, **({"cursor": cursor} if cursor
                                                                                          else {})}).json()
        found += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


