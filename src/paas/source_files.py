"""Where uploaded sources (`POST /sources`) are kept: one file per source id. Apart from the API
module so that the build worker, which reads them, does not import the web framework.

A source goes once it is used (a build started from its URL has ended: it has read it), or
once its URLs have expired (an hour after it was made, so at the latest an hour after its
upload): the runner's sweep removes them (`remove_spent`)."""

import logging
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from paas.domain.models import Build, Status
from paas.signing import Signer
from paas.settings import Settings

log = logging.getLogger(__name__)
# As Heroku's: a source's URLs work for an hour; so long is an unused upload kept.
SOURCE_TTL = 3600.0


def source_file(settings: Settings, source_id: str) -> Path:
    """The file of a source; ValueError when `source_id` is not one's."""
    return settings.sources_dir / f"{uuid.UUID(source_id)}.tgz"


def uploaded_file(settings: Settings, signer: Signer, url: str) -> Path | None:
    """The file behind one of this platform's own source `get_url`s, if `url` is one, valid and
    uploaded: builds read it where it is rather than fetch it from the API over the network (which
    the outbound rule would refuse: the API is on the host's loopback). FileNotFoundError: it is
    one of ours, but not a valid one, or its file is gone."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != settings.api_url or not parts.path.startswith("/sources/"):
        return None
    query = dict(parse_qsl(parts.query))
    if not signer.valid("GET", parts.path, query.get("signature"), query.get("expires")):
        raise FileNotFoundError("its URL is not signed, or has expired")
    try:
        path = source_file(settings, parts.path.removeprefix("/sources/"))
    except ValueError:
        raise FileNotFoundError("no such source") from None
    if not path.is_file():  # never uploaded, or built from once already, or expired: all gone
        raise FileNotFoundError("nothing was uploaded to it, or a build used it already")
    return path


def remove_spent(settings: Settings, sessions: sessionmaker[Session], now: float | None = None) -> list[str]:
    """Remove the sources that builds have used and those no URL reaches any more (half-written
    uploads too); answers the names of the files removed."""
    now = time.time() if now is None else now
    try:
        files = [f for f in settings.sources_dir.iterdir() if f.is_file()]
    except FileNotFoundError:
        return []
    if not files:
        return []
    spent = {f for f in files if f.stat().st_mtime < now - SOURCE_TTL}
    with sessions() as db:
        used = used_sources(db, settings, datetime.fromtimestamp(now - 2 * SOURCE_TTL, timezone.utc))
    spent |= {f for f in files if f.suffix == ".tgz" and f.stem in used}
    for file in spent:
        file.unlink(missing_ok=True)
    if spent:
        log.info("removed %d uploaded sources (used by their builds, or expired)", len(spent))
    return sorted(f.name for f in spent)


def used_sources(db: Session, settings: Settings, since: datetime) -> set[str]:
    """Ids of this platform's sources that builds made since `since` were started from, and
    which have ended. (An older build's source has expired anyway.)"""
    prefix = f"{settings.api_url}/sources/"
    urls = db.scalars(select(Build.source_url).where(
        Build.created_at >= since, Build.status != Status.pending, Build.source_url.startswith(prefix, autoescape=True)))
    return {url.removeprefix(prefix).split("?", 1)[0] for url in urls}
