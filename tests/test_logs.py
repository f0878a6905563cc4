"""The log store on a real Redis (the tests' own database)."""

import asyncio
import secrets
from types import SimpleNamespace

import pytest
import redis
import redis.asyncio
from hypothesis import given
from hypothesis import strategies as st

from paas.logs import MAX_LINE_BYTES, LogFilter, LogLine, LogStore, api_lines, follow, key, router_key
from tests.waiting import wait_until


@pytest.fixture
def store(api_settings):
    client = redis.Redis.from_url(api_settings.redis_url, decode_responses=True)
    keys = [key("app1"), key("app2"), router_key("app1"), router_key("app2")]
    client.delete(*keys)
    yield LogStore(client, max_lines=500)
    client.delete(*keys)


def line(i: int, dyno: str = "web.1", source: str = "app") -> LogLine:
    return LogLine(1_796_000_000 + i, source, dyno, f"line {i}")


def follower(api_settings) -> tuple[redis.asyncio.Redis, str]:
    """A Redis client for a follower, by a name of its own (CLIENT LIST shows it)."""
    name = "follower-" + secrets.token_hex(4)
    return redis.asyncio.Redis.from_url(api_settings.redis_url, decode_responses=True, client_name=name), name


async def blocked_in_xread(store: LogStore, *names: str) -> None:
    """Until each follower waits in XREAD for new lines (so what is written next, it reads live)."""
    def waiting() -> bool:
        clients = {c["name"]: c for c in store.client.client_list()}
        return all(n in clients and "b" in clients[n]["flags"] and clients[n]["cmd"] == "xread" for n in names)

    await asyncio.to_thread(wait_until, waiting, 5, f"{', '.join(names)} waiting in XREAD")


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

    client, name = follower(api_settings)

    async def follow_to_the_end() -> list:
        try:
            return [item async for item in follow(client, "app1", last, LogFilter()) if item is not None]
        finally:
            await client.aclose()

    async def main():
        task = asyncio.create_task(follow_to_the_end())
        await blocked_in_xread(store, name)  # else the delete would trim line 2 away before it is read
        await asyncio.to_thread(store.append, "app1", [line(2)])
        await asyncio.to_thread(store.delete, "app1")
        return await asyncio.wait_for(task, 5)

    assert [l.text for l in asyncio.run(main())] == ["line 2"]
    store.append("app1", [line(3)])  # a process of the deleted app, still stopping
    assert 0 < store.client.ttl(key("app1")) <= 600
    assert 0 < store.client.ttl(router_key("app1")) <= 600  # late router lines expire too
    assert [l.text for l in store.recent("app1", 10)[0]] == ["line 3"]


def test_following_sees_only_lines_after_the_id_it_starts_from(store, api_settings):
    store.append("app1", [line(1), line(2)])
    _, last = store.recent("app1", 0)

    client, name = follower(api_settings)

    async def first_new() -> LogLine:
        try:
            async for item in follow(client, "app1", last, LogFilter(dyno="worker")):
                if item is not None:
                    return item
        finally:
            await client.aclose()

    async def main():
        task = asyncio.create_task(first_new())
        await blocked_in_xread(store, name)
        await asyncio.to_thread(store.append, "app1", [line(3, "web.1"), line(4, "worker.1")])
        return await asyncio.wait_for(task, 5)

    assert asyncio.run(main()).text == "line 4"


@given(st.text(max_size=MAX_LINE_BYTES * 2))
def test_a_stored_line_is_at_most_the_limit_and_valid_text(text):
    stored = LogLine(0, "app", "web.1", text).fields()["text"]
    assert len(stored.encode()) <= MAX_LINE_BYTES and text.startswith(stored)


def test_router_lines_have_a_store_of_their_own_so_a_flood_of_requests_keeps_the_apps_lines(store):
    store.append("app1", [line(i) for i in range(100)])
    store.append("app1", [line(1000 + i, "router", "heroku") for i in range(3000)])  # outside traffic
    own, _ = store.recent("app1", 1000, LogFilter(source="app"))
    assert [l.text for l in own] == [f"line {i}" for i in range(100)]  # not one pushed out
    assert 500 <= store.client.xlen(router_key("app1")) < 3000  # the router's lines are bounded alike
    assert [l.text for l in store.recent("app1", 2)[0]] == ["line 3998", "line 3999"]  # both read as one log
    # The control: the app's own flood does push its old lines out (the store is bounded).
    store.append("app1", [line(5000 + i) for i in range(3000)])
    assert "line 0" not in [l.text for l in store.recent("app1", 1000, LogFilter(source="app"))[0]]


def test_both_streams_read_back_and_followed_in_the_order_written(store, api_settings):
    written = [line(1), line(2, "router", "heroku"), line(3, "web.2"), line(4, "router", "heroku")]
    for each in written:
        store.append("app1", [each])
    assert [l.text for l in store.recent("app1", 3)[0]] == ["line 2", "line 3", "line 4"]
    assert [l.text for l in store.recent("app1", 10, LogFilter(dyno="router"))[0]] == ["line 2", "line 4"]
    _, last = store.recent("app1", 0)

    (everything_client, everything_name), (own_client, own_name) = follower(api_settings), follower(api_settings)

    async def followed(client: redis.asyncio.Redis, wanted: LogFilter, count: int) -> list[str]:
        seen = []
        try:
            async for item in follow(client, "app1", last, wanted):
                if item is not None:
                    seen.append(item.text)
                if len(seen) == count:
                    return seen
        finally:
            await client.aclose()

    async def main():
        everything = asyncio.create_task(followed(everything_client, LogFilter(), 4))
        own = asyncio.create_task(followed(own_client, LogFilter(source="app"), 2))
        await blocked_in_xread(store, everything_name, own_name)
        for i, each in enumerate(written):
            await asyncio.to_thread(store.append, "app1", [LogLine(each.at, each.source, each.dyno, f"new {i}")])
        return await asyncio.wait_for(asyncio.gather(everything, own), 5)

    assert asyncio.run(main()) == [["new 0", "new 1", "new 2", "new 3"], ["new 0", "new 2"]]


def test_the_api_lines_of_events_are_herokus():
    def event(resource, action, data, previous=None, actor="x@example.com"):
        return SimpleNamespace(resource=resource, action=action, data=data, previous_data=previous or {},
                               actor={"id": "1", "email": actor} if actor else None)

    user = {"email": "dev@example.com"}
    assert api_lines(event("build", "create", {"user": user})) == ["Build started by dev@example.com"]
    assert api_lines(event("build", "update", {"status": "failed"}, {"status": "pending"}, actor=None)) == ["Build failed"]
    assert api_lines(event("build", "update", {"status": "succeeded"}, {"updated_at": "t"})) == []
    assert api_lines(event("release", "create", {"description": "Set A config vars", "version": 5, "user": user})) == [
        "Set A config vars by dev@example.com", "Release v5 created by dev@example.com"]
    assert api_lines(event("formation", "update", {"type": "web", "quantity": 2, "size": "basic"}, {"quantity": 1})) == [
        "Scaled to web@2:basic by x@example.com"]
    assert api_lines(event("domain", "create", {})) == []
