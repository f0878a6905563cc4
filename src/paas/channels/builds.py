"""A build worker's sign of life, by which a build whose worker died is found and failed."""

import redis


class Heartbeat:
    """A build worker's sign of life: a key that expires unless the worker keeps renewing it."""

    def __init__(self, client: redis.Redis, build_id: object, ttl: float):
        self.client, self.key, self.ttl = client, f"paas:build:{build_id}:alive", ttl

    def beat(self) -> None:
        self.client.set(self.key, "1", px=int(self.ttl * 1000))

    def alive(self) -> bool:
        return bool(self.client.exists(self.key))

    def stop(self) -> None:
        self.client.delete(self.key)
