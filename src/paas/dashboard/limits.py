"""How many sign-ins may fail, counted in Redis (shared by every API process) over WINDOW:

- per email and client address: `attempts` (one guesser at one account);
- per client address: 5x that (one guesser trying many accounts);
- per email: 10x that (many addresses at one account), so that nobody locks a user out with a
  handful of wrong passwords, yet a spread-out guesser is still slowed to a crawl.

Each attempt is counted before its password is checked (concurrent tries cannot slip past a
limit), and uncounted when it succeeds. Emails are keyed by an HMAC under the platform's key, so
Redis holds no address book.
"""

import hashlib
import hmac

from paas.domain.errors import TooManyRequests

WINDOW = 900  # seconds


class SignInLimits:
    def __init__(self, redis, key: bytes, attempts: int):
        self.redis, self.key, self.attempts = redis, key, attempts

    def _keys(self, email: str, address: str) -> dict[str, int]:
        who = hmac.new(self.key, b"sign-in\0" + email.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]
        return {f"paas:sign-in:pair:{who}:{address}": self.attempts, f"paas:sign-in:client:{address}": 5 * self.attempts,
                f"paas:sign-in:email:{who}": 10 * self.attempts}

    def attempt(self, email: str, address: str) -> None:
        keys = self._keys(email, address)
        with self.redis.pipeline() as pipe:
            for key in keys:
                pipe.incr(key).expire(key, WINDOW, nx=True)
            counts = pipe.execute()[::2]
        if any(count > most for count, most in zip(counts, keys.values())):
            raise TooManyRequests(f"Too many failed sign-ins: try again in {WINDOW // 60} minutes.")

    def succeeded(self, email: str, address: str) -> None:
        with self.redis.pipeline() as pipe:
            for key in self._keys(email, address):
                pipe.decr(key)
            pipe.execute()
