"""Open answers' access checks: right, and shared by the answers of one user on one app."""

import asyncio
from types import SimpleNamespace

from paas.domain import accounts
from paas.platform.grants import SHARED_FOR, Grants


def test_answers_of_one_user_on_one_app_share_each_check(client, test_sessionmaker):
    app_id = client.post("/apps", json={"name": "checked"}).json()["id"]
    mine = client.get("/account").json()["id"]
    with test_sessionmaker() as db:
        stranger = str(accounts.ensure_user(db, "stranger@example.com").id)
        db.commit()
    opened = []

    def counting_sessions():
        opened.append(1)
        return test_sessionmaker()

    grants = Grants(SimpleNamespace(sessionmaker=counting_sessions))

    async def scenario():
        assert all(await asyncio.gather(*(grants.user_may(mine, app_id) for _ in range(200))))
        assert len(opened) == 1  # one check for all of them
        assert not await grants.user_may(stranger, app_id)  # someone else's check is their own
        assert len(opened) == 2
        await asyncio.sleep(SHARED_FOR + 0.1)
        assert await grants.user_may(mine, app_id) and len(opened) == 3  # asked again once it is old

    asyncio.run(scenario())
