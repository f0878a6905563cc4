"""Messages over the tests' own Redis database: one-off runs' listing and channel."""

import redis

from paas import messages


def test_runs_are_listed_until_they_end_or_a_new_runner_starts(api_settings):
    client = redis.Redis.from_url(api_settings.redis_url, decode_responses=True)
    messages.publish_run(client, "app1", "run.1", {"name": "run.1"})
    messages.publish_run(client, "app1", "run.2", {"name": "run.2"})
    messages.publish_run(client, "app1", "run.1", None)
    assert messages.read_runs(client, "app1") == [{"name": "run.2"}]
    messages.forget_runs(client)
    assert messages.read_runs(client, "app1") == []


def test_a_run_is_taken_once_and_its_channel_expires_after_it_ends(api_settings):
    client = redis.Redis.from_url(api_settings.redis_url, decode_responses=True)
    channel = messages.RunChannel(client, "r1")
    channel.ask({"command": "env", "env": {"SECRET": "x"}})
    assert channel.take() == {"command": "env", "env": {"SECRET": "x"}} and channel.take() is None
    channel.output(b"\x00\xffbytes")
    channel.hang_up()
    assert next(channel.inputs(block=0.1)) == "hangup"
    channel.exited(3)
    assert 0 < client.ttl(channel.output_key) <= messages.ENDED_RUN_TTL
    client.delete(channel.output_key, channel.input_key, messages.RUN_QUEUE)
