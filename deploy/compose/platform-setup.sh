#!/bin/sh
# The compose stack's one-shot setup (its `migrate` service): the registry's users, as
# scripts/services.sh makes them for `make up` (passwords in $PAAS_HOME/registry-users, the
# htpasswd file from them), the schema, and the admin user with $PAAS_HOME/admin-token's token.
set -eu
users="$PAAS_HOME/registry-users"
mkdir -p "$users" /auth && chmod 700 "$users"
: >/auth/htpasswd.new
for role in builder runner; do
    [ -s "$users/$role" ] || (umask 077 && openssl rand -hex 24 >"$users/$role")
    htpasswd -Bbn "$role" "$(cat "$users/$role")" | sed '/^$/d' >>/auth/htpasswd.new
done
mv /auth/htpasswd.new /auth/htpasswd
cd /srv/paas
alembic upgrade head
python -m paas.platform.bootstrap
