"""Per-user quotas: how many apps, add-ons, dynos, one-off dynos at once and API tokens
(authorizations) a user may have. The defaults are the settings' `quota_*`; an admin sets other
values for a user (`users.quotas`). Admins, the platform's operators, have none.

What an app uses counts against its owner (the user who made it, a team's app too), whoever
asks: a collaborator who scales an app spends its owner's dynos. A check locks the owner's row,
so two requests at once cannot both take the last unit. Over a quota the answer names it and
how to raise it (`QuotaExceeded`, 422); one-off dynos are a count of what runs now, so over
that one it is 429: try again when one has ended.

These functions touch only the database; one-off dynos are counted by the caller (in Redis).
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paas.domain.errors import InvalidParams, PaasError
from paas.domain.models import Addon, ApiToken, App, Formation, User
from paas.settings import Settings

QUOTAS = ("apps", "addons", "dynos", "one_off_dynos", "authorizations")
MAX_QUOTA = 1_000_000
WORDS = {"apps": "apps", "addons": "add-ons", "dynos": "dynos", "one_off_dynos": "one-off dynos at once",
         "authorizations": "API tokens"}
FREE_ONE = {"apps": "destroy an app", "addons": "destroy an add-on", "dynos": "scale a process type down",
            "one_off_dynos": "wait for one to end", "authorizations": "revoke a token"}


class QuotaExceeded(PaasError):
    status = 422
    id = "quota_exceeded"


class BusyQuotaExceeded(QuotaExceeded):
    """Over a quota of things going on now (one-off dynos): it frees up on its own."""

    status = 429


def limit(settings: Settings, user: User, quota: str) -> int | None:
    """The user's quota (None: no limit, for admins)."""
    if user.is_admin:
        return None
    return (user.quotas or {}).get(quota, getattr(settings, f"quota_{quota}"))


def used(db: Session, user: User, quota: str) -> int:
    """What the user has now, of a quota kept in the database (every one but one-off dynos)."""
    owned = select(App.id).where(App.owner_id == user.id)
    counts = {
        "apps": lambda: select(func.count()).select_from(App).where(App.owner_id == user.id),
        "addons": lambda: select(func.count()).select_from(Addon).where(Addon.app_id.in_(owned)),
        "dynos": lambda: select(func.coalesce(func.sum(Formation.quantity), 0)).where(Formation.app_id.in_(owned)),
        "authorizations": lambda: select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id),
    }
    return int(db.scalar(counts[quota]()))


def lock(db: Session, user: User) -> None:
    """Checks of one user's quotas one at a time, until the caller's transaction ends."""
    db.execute(select(User.id).where(User.id == user.id).with_for_update())


def require_room(db: Session, settings: Settings, user: User, quota: str, adding: int = 1, in_use: int | None = None,
                 actor: User | None = None) -> None:
    """Refuse (QuotaExceeded) if `adding` more would take the user past their quota. `in_use`:
    what the user has now when the caller counted it (one-off dynos); `actor`: who asks, when
    it is not the quota's owner (a collaborator)."""
    most = limit(settings, user, quota)
    if most is None:
        return
    if in_use is None:
        lock(db, user)
        in_use = used(db, user, quota)
    if in_use + adding > most:
        raise _exceeded(user, quota, most, in_use, actor)


def refuse_growth(db: Session, settings: Settings, user: User, quota: str, before: int, actor: User | None = None) -> None:
    """After a change (flushed, not committed): refuse it if it raised what the user has past
    their quota. What shrinks or stays is let through, also over a quota lowered since."""
    most = limit(settings, user, quota)
    if most is None:
        return
    now = used(db, user, quota)
    if now > before and now > most:
        raise _exceeded(user, quota, most, before, actor)


def _exceeded(user: User, quota: str, most: int, in_use: int, actor: User | None) -> QuotaExceeded:
    whose = "Your" if actor is None or actor.id == user.id else f"{user.email}'s"
    error = BusyQuotaExceeded if quota == "one_off_dynos" else QuotaExceeded
    return error(
        f"{whose} quota of {WORDS[quota]} is {most} ({quota}: {most}; in use: {in_use}). To go on, {FREE_ONE[quota]}, "
        f"or ask an admin to raise it: PATCH /accounts/{user.email}/quotas {{\"{quota}\": {most + 1}}}."
    )


def quotas_of(settings: Settings, user: User) -> dict[str, int | None]:
    return {quota: limit(settings, user, quota) for quota in QUOTAS}


def set_quotas(db: Session, user: User, changes: object) -> User:
    """An admin's change: `{"apps": 5, "dynos": null}` (null: back to the default)."""
    if not isinstance(changes, dict) or not changes:
        raise InvalidParams(f'Give the quotas to set: {{"apps": 10, "dynos": null}} (null: the default); quotas: {", ".join(QUOTAS)}.')
    unknown = set(changes) - set(QUOTAS)
    if unknown:
        raise InvalidParams(f"Unknown quota: {', '.join(sorted(unknown))}; the quotas are {', '.join(QUOTAS)}.")
    merged = dict(user.quotas or {})
    for quota, value in changes.items():
        if value is None:
            merged.pop(quota, None)
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_QUOTA:
            raise InvalidParams(f"{quota} must be a number from 0 to {MAX_QUOTA}, or null for the default.")
        else:
            merged[quota] = value
    user.quotas = merged  # a new dict: JSONB columns notice assignments, not changes in place
    db.flush()
    return user
