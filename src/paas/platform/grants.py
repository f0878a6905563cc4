"""Long answers (build and release output, attached one-off runs) are allowed when they open and
asked again every RECHECK seconds while they last: a revoked token, a disabled user or one no
longer a collaborator ends them within seconds. Answers of one user (or token) on one app share
each check, so a thousand open streams cost one query every few seconds, not a thousand."""

import asyncio
import time
from collections.abc import Callable

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from paas.domain import access, accounts, sign_in
from paas.domain.errors import Forbidden, NotFound

RECHECK = 5.0  # seconds between checks of an open answer
SHARED_FOR = 1.0  # seconds one check's answer serves every answer that asks


def user_may(db: Session, user_id: str, app_id: str, permission: str = access.VIEW) -> bool:
    """Is the user (by id) still active, with `permission` on the app?"""
    try:
        access.app_for(db, app_id, accounts.find_user(db, user_id), permission)
    except (NotFound, Forbidden):
        return False
    return True


class Grants:
    def __init__(self, platform):
        self.platform = platform
        self.recent: dict[tuple, tuple[float, asyncio.Future]] = {}
        self.pruned = 0.0

    async def user_may(self, user_id: str, app_id: str, permission: str = access.VIEW) -> bool:
        return await self._shared(("user", user_id, app_id, permission), lambda db: user_may(db, user_id, app_id, permission))

    async def session_may(self, session_hash: str, app_id: str, permission: str = access.VIEW) -> bool:
        """The dashboard's: is the session still live, its user with `permission` on the app?"""
        def check(db: Session) -> bool:
            user = sign_in.session_user_by_hash(db, session_hash)
            return user is not None and user_may(db, str(user.id), app_id, permission)
        return await self._shared(("session", session_hash, app_id, permission), check)

    async def token_may(self, token_hash: str, app_id: str, permission: str) -> bool:
        return await self._shared(("token", token_hash, app_id, permission),
                                  lambda db: access.token_still_may(db, token_hash, app_id, permission))

    async def _shared(self, key: tuple, check: Callable[[Session], bool]) -> bool:
        now, loop = time.monotonic(), asyncio.get_running_loop()
        found = self.recent.get(key)
        if found is None or now - found[0] > SHARED_FOR or found[1].get_loop() is not loop:
            if now - self.pruned > SHARED_FOR:  # forget old answers, at most once a SHARED_FOR
                self.recent, self.pruned = {k: v for k, v in self.recent.items() if now - v[0] <= SHARED_FOR}, now
            found = self.recent[key] = (now, asyncio.ensure_future(run_in_threadpool(self._ask, check)))
        if found[1].done():
            return found[1].result()
        return await asyncio.shield(found[1])

    def _ask(self, check: Callable[[Session], bool]) -> bool:
        with self.platform.sessionmaker() as db:
            return check(db)
