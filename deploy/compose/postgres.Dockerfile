# Postgres from Debian's package, on the stack image; used much as the official image is
# (POSTGRES_USER, POSTGRES_PASSWORD or _FILE, POSTGRES_DB, PGDATA; `postgres ARGS` as its command),
# but POSTGRES_USER is no superuser (see the entrypoint).
ARG STACK_IMAGE=paas/stack:bookworm
FROM ${STACK_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY deploy/compose/postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["docker-entrypoint.sh"]
# Postgres's fast shutdown (SIGTERM would wait for every client to leave), as the official image.
STOPSIGNAL SIGINT
CMD ["postgres"]
