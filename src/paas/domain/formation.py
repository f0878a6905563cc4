"""Formation: how many processes of each type an app runs.

These functions touch only the database; callers commit, then send messages.
"""


from sqlalchemy import select
from sqlalchemy.orm import Session

from paas.domain.models import App, Formation


def ensure_formation(db: Session, app: App, process_type: str, quantity: int) -> Formation:
    formation = db.scalar(select(Formation).where(Formation.app_id == app.id, Formation.type == process_type))
    if formation is None:
        formation = Formation(app_id=app.id, type=process_type, quantity=quantity)
        db.add(formation)
        db.flush()
    return formation


def formation(db: Session, app: App) -> dict[str, int]:
    return {f.type: f.quantity for f in db.scalars(select(Formation).where(Formation.app_id == app.id))}
