# The image registry (distribution) from Debian's package, on the stack image; configured as the
# official image is (its config file's path, REGISTRY_* variables over it, data in /var/lib/registry).
ARG STACK_IMAGE=paas/stack:bookworm
FROM ${STACK_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry curl \
    && rm -rf /var/lib/apt/lists/* && ln -s /usr/bin/docker-registry /usr/local/bin/registry
COPY deploy/compose/registry.yml /etc/docker/registry/config.yml
CMD ["registry", "serve", "/etc/docker/registry/config.yml"]
