"""The hosts the platform runs processes on (`GET /nodes`, admins only), as the runner last saw
them: on the swarm backend the swarm's nodes, on the docker backend its one engine's host."""

from datetime import datetime, timezone

from fastapi import APIRouter

from paas.channels.dynos import read_nodes
from paas.domain import accounts
from paas.domain.errors import InvalidParams
from paas.platform.deps import RedisDep, UserDep

router = APIRouter()


@router.get("/nodes")
def list_nodes(user: UserDep, redis: RedisDep):
    accounts.require_admin(user)
    seen = read_nodes(redis)
    at = datetime.fromtimestamp(seen.at, timezone.utc).isoformat().replace("+00:00", "Z") if seen.at else None
    return [{**node, "updated_at": at} for node in seen.nodes]


@router.get("/nodes/join")
def join_nodes(user: UserDep, redis: RedisDep):
    """How another host joins as a worker node: the swarm's `docker swarm join` command."""
    accounts.require_admin(user)
    join = read_nodes(redis).join
    if join is None:
        raise InvalidParams("This platform runs on one Docker engine (PAAS_RUNNER_BACKEND=docker): no node can join it.")
    return {"command": join}
