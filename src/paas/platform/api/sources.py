"""Sources (Heroku's Source resource): a place to upload a tarball to build from, without git.

`POST /sources` answers a signed `put_url` to upload the tarball to and a `get_url` that a build
(`POST /apps/{app}/builds`) then downloads it from. Each works an hour; the upload goes once a
build has used it, or when its URLs expire (`paas.source_files.remove_spent`)."""

import os
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from paas.domain.errors import NotFound, PaasError
from paas.platform.deps import PlatformDep, UserDep
from paas.source_files import SOURCE_TTL, source_file

router = APIRouter()


class TooLarge(PaasError):
    status = 413
    id = "request_entity_too_large"


def source_path(platform, source_id: str):
    try:
        return source_file(platform.settings, source_id)
    except ValueError:
        raise NotFound(f"Couldn't find that source: {source_id}") from None




def check(platform, method: str, source_id: str, signature: str | None, expires: str | None) -> None:
    if not platform.signer.valid(method, f"/sources/{source_id}", signature, expires):
        raise NotFound(f"Couldn't find that source: {source_id} (or its URL has expired)")


@router.post("/sources", status_code=201)
def create_source(user: UserDep, platform: PlatformDep):
    path, base = f"/sources/{uuid.uuid4()}", platform.settings.api_url
    return JSONResponse({"source_blob": {
        "get_url": platform.signer.signed(base, path, "GET", ttl=SOURCE_TTL),
        "put_url": platform.signer.signed(base, path, "PUT", ttl=SOURCE_TTL),
    }}, status_code=201)


@router.put("/sources/{source_id}")
async def upload_source(source_id: str, request: Request, platform: PlatformDep,
                        signature: Annotated[str | None, Query()] = None, expires: Annotated[str | None, Query()] = None):
    check(platform, "PUT", source_id, signature, expires)
    path = source_path(platform, source_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial, size, limit = path.with_suffix(".partial"), 0, platform.settings.source_size_limit
    try:
        with partial.open("wb") as f:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"Sources are limited to {limit // 2**20} MB.")
                f.write(chunk)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return JSONResponse({}, status_code=200)


@router.get("/sources/{source_id}")
def download_source(source_id: str, platform: PlatformDep, signature: Annotated[str | None, Query()] = None,
                    expires: Annotated[str | None, Query()] = None):
    check(platform, "GET", source_id, signature, expires)
    path = source_path(platform, source_id)
    if not path.exists():
        raise NotFound(f"Nothing was uploaded to source {source_id} yet.")
    return FileResponse(path, media_type="application/gzip")

