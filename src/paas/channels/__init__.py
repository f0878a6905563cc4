"""The Redis channels between the platform's processes, one module per feature that owns one:

- `output`: a build's and a release's output, written by the builder and the runner, followed
  by the git receiver and the API;
- `builds`: a build worker's heartbeat, by which the lost builds are found;
- `runner`: the runner's inbox (wake-ups, one-off runs, add-on jobs), which its consumer of
  events and the API fill;
- `dynos`: what runs, as the runner last saw it (dynos, one-off runs, nodes), restarts asked
  for, and one-off run numbers;
- `runs`: one one-off run's request, output and input, between the API and the runner;
- `addon_jobs`: the add-on jobs the runner does, and their outcomes.
"""

import redis

from paas.settings import Settings


def connect(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url, decode_responses=True)
