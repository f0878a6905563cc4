"""Heroku's buildpack registry, as far as the Heroku CLI asks it, so that with
HEROKU_BUILDPACK_REGISTRY_URL=<api>/buildpack-registry it resolves names such as `heroku/python`
here instead of at Heroku. Public, as Heroku's registry is.

A name resolves to itself, and the platform's buildpack check then takes it or says which
buildpacks it has: the CLI reads a registry's 404 as a blob_url of `undefined`."""

from fastapi import APIRouter

from paas.domain import buildpacks

router = APIRouter()


@router.get("/buildpack-registry/buildpacks/{namespace}/{name}")
def registry_buildpack(namespace: str, name: str):
    slug = f"{namespace}/{name}"
    built_in = namespace == "heroku" and name in buildpacks.BUILTIN
    return {"name": slug, "namespace": namespace, "blob_url": slug, "two_factor_authentication": False,
            "description": f"paas's built-in {name} buildpack" if built_in else "not a buildpack of this platform"}
