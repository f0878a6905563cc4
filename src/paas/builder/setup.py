"""The worker's part of an app setup: fetch the source, read its app.json, and make what it
declares (paas.domain.app_setups.configure). A source or manifest that cannot be used fails the
setup, listing every problem, and nothing it made stays."""

import json
import logging
import shutil
import tempfile
import uuid
from pathlib import Path

from paas.builder import source
from paas.builder.errors import BuildFailed
from paas.builder.files import read_beneath
from paas.domain import app_setups, events, manifest
from paas.domain.errors import PaasError
from paas.domain.manifest import Manifest, ManifestErrors
from paas.domain.models import AppSetup
from paas.repos import delete_repository, repository_path

log = logging.getLogger(__name__)


def prepare_setup(w, setup_id: uuid.UUID, fetch_tarball, queue_build) -> None:
    """`fetch_tarball(w, url, directory)` and `queue_build(build_id)` are the worker's own."""
    with w.sessionmaker() as db:
        setup = db.get(AppSetup, setup_id)
        if setup is None or setup.status != "pending" or setup.phase != "prepare":
            return
        url, environment, app_name, version = setup.source_url, setup.environment, setup.app_name, setup.source_version
    workdir = Path(tempfile.mkdtemp(prefix=f"paas-setup-{setup_id.hex}-"))
    files = workdir / "source"
    files.mkdir()
    try:
        try:
            if url is None:  # a review app's: the pushed commit, in its own repository
                source.from_commit(repository_path(w.settings, app_name), version, files,
                                   source.Limits(w.settings.source_unpacked_limit, w.settings.source_files_limit))
            else:
                fetch_tarball(w, url, files)
            text = read_beneath(files, "app.json", manifest.MAX_BYTES)
            parsed = manifest.parse(text, environment, w.settings.dyno_sizes) if text is not None else Manifest()
            raw = json.loads(text) if text is not None else {}
        except ManifestErrors as refused:
            return finish(w, setup_id, "app.json has problems", refused.errors)
        except BuildFailed as failure:
            return finish(w, setup_id, f"the source could not be used: {failure}")
        with w.sessionmaker() as db:
            setup = db.get(AppSetup, setup_id, with_for_update=True)
            if setup is None or setup.phase != "prepare":
                return
            events.act_as(db, setup.user)
            try:
                build = app_setups.configure(db, w.cipher, setup, parsed, raw, w.settings.dyno_sizes)
            except ManifestErrors as refused:
                db.rollback()
                return finish(w, setup_id, "app.json has problems", refused.errors)
            except PaasError as refused:  # a quota, a name taken by a setup at the same time...
                db.rollback()
                return finish(w, setup_id, refused.message)
            build_id = build.id if build else None
            db.commit()
        if build_id is not None:
            queue_build(build_id)
    except Exception as error:
        log.exception("setup %s failed", setup_id)
        finish(w, setup_id, f"the setup failed inside paas: {error}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def finish(w, setup_id: uuid.UUID, message: str, errors: list[str] | None = None) -> None:
    with w.sessionmaker() as db:
        setup = db.get(AppSetup, setup_id, with_for_update=True)
        if setup is not None and setup.status == "pending":
            events.act_as(db, setup.user)
            app_setups.fail(db, w.cipher, setup, message, errors)
            db.commit()
            delete_repository(w.settings, setup.app_name)  # a review app's pushed commit
