"""A build without a Dockerfile: buildpacks compile the source into a slug, and the app's image is
the stack's run image plus that slug as one layer, assembled in the registry (no docker build)."""

import time
from pathlib import Path

import docker

from paas.builder.buildpacks import BuildError
from paas.builder.buildpacks.fetch import resolve_buildpack
from paas.builder.buildpacks.runner import run_buildpacks
from paas.builder.buildpacks.select import choose_stack
from paas.builder.cache import app_cache
from paas.builder.job import BuildResult, Job
from paas.builder.registry import append_layer
from paas.builder.slug import SlugStore, make_slug
from paas.builder.stack import ensure_stack
from paas.domain.buildpacks import canonical
from paas.domain.errors import InvalidParams
from paas.settings import Settings


def build_slug_image(
    settings: Settings, client: docker.DockerClient, slugs: SlugStore, job: Job, source_dir: Path, workdir: Path, emit,
    network: str | None = None,
) -> BuildResult:
    """`network`: the builds' bridge the buildpacks' container sits on (`Sandboxes.network()`)."""
    wanted = job.buildpacks or ([job.env["BUILDPACK_URL"]] if job.env.get("BUILDPACK_URL") else [])
    try:  # a config var is not checked when it is set: BUILDPACK_URL passes the same test here
        wanted = [canonical(entry) for entry in wanted]
    except InvalidParams as error:
        raise BuildError(f"BUILDPACK_URL: {error.message}") from None
    fetched = settings.build_cache_root / "buildpacks"
    buildpacks = [resolve_buildpack(settings, entry, fetched, emit) for entry in wanted] or None
    stack, python_version, warnings = choose_stack(source_dir, job.stack, [b.name for b in buildpacks or []])
    for warning in warnings:
        emit(f" !     {warning}")
    images = ensure_stack(settings, client, stack.name, emit)
    extra_env = {"STACK": stack.name}
    if python_version:
        extra_env["PAAS_PYTHON_VERSION"] = python_version
    with app_cache(settings, job, stack.name, emit) as cache:
        result = run_buildpacks(
            client, build_id=job.build_id.hex, image=images.build, source_dir=source_dir,
            cache_dir=cache, env=job.env, buildpacks=buildpacks, extra_env=extra_env,
            emit=emit, user=settings.dyno_ids, memory=settings.build_memory, cpus=settings.build_cpus, pids=settings.build_pids,
            timeout=settings.build_timeout, output_limit=settings.build_output_limit,
            network=network,
        )
    emit("-----> Compressing the slug")
    started = time.monotonic()
    slug = make_slug(source_dir, workdir / "slug.tgz", size_limit=settings.slug_size_limit, owner=settings.dyno_ids)
    key = slugs.put(job.app, str(job.build_id), slug.path)
    emit(f"       Done: {slug.size / 2**20:.1f} MB in {time.monotonic() - started:.1f} s")
    emit(f"-----> Adding the slug to the {stack.name} run image")
    image = append_layer(settings.registry, images.run_registry_ref, job.app, str(job.build_id), slug,
                         auth=settings.registry_auth("builder"))
    emit(f"       {image}")
    return BuildResult(
        image=image, process_types=result.process_types, stack=stack.name, buildpacks=result.buildpacks,
        slug_key=key, slug_size=slug.size,
    )
