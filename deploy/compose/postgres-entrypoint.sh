#!/bin/sh
# A new data directory gets its cluster and database first; then postgres runs as its user.
# Unlike the official image's, POSTGRES_USER is no superuser: it owns POSTGRES_DB and may log in
# with its password, nothing more (the superuser, postgres, logs in only inside the container).
# POSTGRES_PASSWORD_FILE (the platform's home holds it) instead of POSTGRES_PASSWORD; the password
# is set again at every start, so that the file and the role always agree.
set -eu
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
# SQL to postgres in single-user mode (statements end with a semicolon and a blank line); its echo
# is dropped, as it would show the password.
single() { as_postgres postgres --single -D "$PGDATA" -j postgres >/dev/null; }
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    as_postgres initdb -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    printf 'CREATE ROLE "%s" LOGIN;\n\nCREATE DATABASE "%s" OWNER "%s";\n\n' \
        "$POSTGRES_USER" "${POSTGRES_DB:-$POSTGRES_USER}" "$POSTGRES_USER" | single
fi
printf 'ALTER ROLE "%s" LOGIN NOCREATEDB PASSWORD '"'"'%s'"'"';\n\n' "$POSTGRES_USER" "$POSTGRES_PASSWORD" | single
exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"
