"""Messages over the tests' own Redis database: one-off runs' listing and channel."""

import redis
from paas.channels.dynos import forget_runs, publish_run, read_runs
from paas.channels.runner import RUN_QUEUE
from paas.channels.runs import ENDED_RUN_TTL, RunChannel



def test_runs_are_listed_until_they_end_or_a_new_runner_starts(api_settings):
    client = redis.Redis.from_url(api_settings.redis_url, decode_responses=True)
    publish_run(client, "app1", "run.1", {"name": "run.1"})
    publish_run(client, "app1", "run.2", {"name": "run.2"})
    publish_run(client, "app1", "run.1", None)
    assert read_runs(client, "app1") == [{"name": "run.2"}]
    forget_runs(client)
    assert read_runs(client, "app1") == []


def test_a_run_is_taken_once_and_its_channel_expires_after_it_ends(api_settings):
    client = redis.Redis.from_url(api_settings.redis_url, decode_responses=True)
    channel = RunChannel(client, "r1")
    channel.ask({"command": "env", "env": {"SECRET": "x"}})
    assert channel.take() == {"command": "env", "env": {"SECRET": "x"}} and channel.take() is None
    channel.output(b"\x00\xffbytes")
    channel.hang_up()
    assert next(channel.inputs(block=0.1)) == "hangup"
    channel.exited(3)
    assert 0 < client.ttl(channel.output_key) <= ENDED_RUN_TTL
    client.delete(channel.output_key, channel.input_key, RUN_QUEUE)
