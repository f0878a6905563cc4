# Redis from Debian's package, on the stack image; `redis-server ARGS` as the official image's.
ARG STACK_IMAGE=paas/stack:bookworm
FROM ${STACK_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /data
CMD ["redis-server"]
