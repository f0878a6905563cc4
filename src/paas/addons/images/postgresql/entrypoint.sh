#!/bin/sh
# First start: the data directory from the image's template, a certificate of its own, and the
# add-on's role and database (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, as the official
# image takes them). The role is not a superuser. Then the server, over TLS only from outside.
# Runs as postgres (the image's USER), which owns the data volume: nothing to chown or switch.
set -eu
BIN=/usr/lib/postgresql/15/bin
DATA="${PGDATA:-/var/lib/paas-postgresql/data}"
umask 077
if [ ! -s "$DATA/PG_VERSION" ]; then
    : "${POSTGRES_USER:?}" "${POSTGRES_PASSWORD:?}" "${POSTGRES_DB:?}"
    mkdir -p "$DATA"
    cp -a /usr/share/paas-postgresql/template/. "$DATA/"
    openssl req -new -x509 -days 3650 -nodes -newkey rsa:2048 -subj "/CN=${POSTGRES_HOST:-postgres}" \
        -keyout "$DATA/server.key" -out "$DATA/server.crt" 2>/dev/null
    chmod 600 "$DATA/server.key"
    cat >> "$DATA/postgresql.conf" <<CONF
listen_addresses = '*'
ssl = on
shared_buffers = ${POSTGRES_SHARED_BUFFERS:-16MB}
max_connections = ${POSTGRES_MAX_CONNECTIONS:-40}
CONF
    # From other hosts: TLS and a password, or nothing (Heroku Postgres requires TLS too).
    echo "hostssl all all all scram-sha-256" >> "$DATA/pg_hba.conf"
    chmod 700 "$DATA"
    "$BIN/postgres" --single -D "$DATA" postgres >/dev/null <<SQL
CREATE ROLE "$POSTGRES_USER" LOGIN PASSWORD '$POSTGRES_PASSWORD'
CREATE DATABASE "$POSTGRES_DB" OWNER "$POSTGRES_USER"
REVOKE ALL ON DATABASE postgres FROM PUBLIC
REVOKE ALL ON DATABASE "$POSTGRES_DB" FROM PUBLIC
SQL
fi
exec "$BIN/postgres" -D "$DATA"
