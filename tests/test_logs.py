"""The log store on a real Redis (the tests' own database)."""

import asyncio

import pytest
import redis
import redis.asyncio
from hypothesis import given
from hypothesis import strategies as st

from paas.logs import MAX_LINE_BYTES, LogFilter, LogLine, LogStore, follow, key


@pytest.fixture
def store(api_settings):
    client = redis.Redis.from_url(api_settings.redis_url, decode_responses=True)
    client.delete(key("app1"), key("app2"))
    yield LogStore(client, max_lines=500)
    client.delete(key("app1"), key("app2"))


def line(i: int, dyno: str = "web.1", source: str = "app") -> LogLine:
    return LogLine(1_796_000_000 + i, source, dyno, f"line {i}")


def test_lines_read_back_newest_last_in_heroku_format_and_bounded(store):
    store.append("app1", [line(i) for i in range(2000)])
    recent, _ = store.recent("app1", 3)
    assert [l.text for l in recent] == ["line 1997", "line 1998", "line 1999"]
    assert recent[0].format() == "2026-11-30T01:26:37.000000+00:00 app[web.1]: line 1997"
    assert 500 <= store.client.xlen(key("app1")) < 2000  # trimmed to about max_lines
    assert store.recent("app2", 10)[0] == []


def test_filters_by_source_dyno_and_process_type_across_many_entries(store):
    store.max_lines = 5000
    store.append("app1", [line(0, "web.1"), line(1, "web.2"), line(2, "worker.1"), line(3, "router", "heroku")]
                 + [line(10 + i, "web.1") for i in range(1500)])
    assert [l.dyno for l in store.recent("app1", 2, LogFilter(dyno="web"))[0]] == ["web.1", "web.1"]
    assert [l.text for l in store.recent("app1", 5, LogFilter(dyno="worker"))[0]] == ["line 2"]
    assert [l.text for l in store.recent("app1", 5, LogFilter(source="heroku"))[0]] == ["line 3"]
    assert [l.text for l in store.recent("app1", 5, LogFilter(dyno="web.2"))[0]] == ["line 1"]
    assert store.recent("app1", 5, LogFilter(dyno="we"))[0] == []


def test_a_deleted_apps_late_lines_expire_and_its_followers_end(store, api_settings):
    store.append("app1", [line(1)])
    _, last = store.recent("app1", 0)

    async def follow_to_the_end() -> list:
        client = redis.asyncio.Redis.from_url(api_settings.redis_url, decode_responses=True)
        try:
            return [item async for item in follow(client, "app1", last, LogFilter()) if item is not None]
        finally:
            await client.aclose()

    async def main():
        task = asyncio.create_task(follow_to_the_end())
        await asyncio.sleep(0.2)
        await asyncio.to_thread(store.append, "app1", [line(2)])
        await asyncio.to_thread(store.delete, "app1")
        return await asyncio.wait_for(task, 5)

    assert [l.text for l in asyncio.run(main())] == ["line 2"]
    store.append("app1", [line(3)])  # a process of the deleted app, still stopping
    assert 0 < store.client.ttl(key("app1")) <= 600
    assert [l.text for l in store.recent("app1", 10)[0]] == ["line 3"]


def test_following_sees_only_lines_after_the_id_it_starts_from(store, api_settings):
    store.append("app1", [line(1), line(2)])
    _, last = store.recent("app1", 0)

    async def first_new() -> LogLine:
        client = redis.asyncio.Redis.from_url(api_settings.redis_url, decode_responses=True)
        try:
            async for item in follow(client, "app1", last, LogFilter(dyno="worker")):
                if item is not None:
                    return item
        finally:
            await client.aclose()

    async def main():
        task = asyncio.create_task(first_new())
        await asyncio.sleep(0.2)
        await asyncio.to_thread(store.append, "app1", [line(3, "web.1"), line(4, "worker.1")])
        return await asyncio.wait_for(task, 5)

    assert asyncio.run(main()).text == "line 4"


@given(st.text(max_size=MAX_LINE_BYTES * 2))
def test_a_stored_line_is_at_most_the_limit_and_valid_text(text):
    stored = LogLine(0, "app", "web.1", text).fields()["text"]
    assert len(stored.encode()) <= MAX_LINE_BYTES and text.startswith(stored)
