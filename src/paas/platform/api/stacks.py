from fastapi import APIRouter

from paas.domain import stacks
from paas.domain.errors import NotFound
from paas.platform.deps import UserDep
from paas.shapes import stack_json

router = APIRouter()


@router.get("/stacks")
def list_stacks(user: UserDep):
    return [stack_json(stacks.STACKS[name]) for name in stacks.STACK_ORDER]


@router.get("/stacks/{ident}")
def get_stack(ident: str, user: UserDep):
    stack = stacks.get_stack(ident) or next((s for s in stacks.STACKS.values() if s.id == ident), None)
    if stack is None:
        raise NotFound(f"Couldn't find that stack: {ident}")
    return stack_json(stack)
