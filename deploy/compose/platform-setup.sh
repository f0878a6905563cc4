#!/bin/sh
# The compose stack's one-shot setup (its `migrate` service): the registry's users and the key
# that signs their tokens, as scripts/services.sh makes them for `make up` (passwords in
# $PAAS_HOME/registry-users, the key and the certificate the registry trusts in
# $PAAS_HOME/registry-token), the schema, and the admin user with $PAAS_HOME/admin-token's token.
set -eu
users="$PAAS_HOME/registry-users" keys="$PAAS_HOME/registry-token"
mkdir -p "$users" "$keys" && chmod 700 "$users" "$keys"
for role in builder runner; do
    [ -s "$users/$role" ] || (umask 077 && openssl rand -hex 24 >"$users/$role")
done
if [ ! -s "$keys/key.pem" ] || [ ! -s "$keys/cert.pem" ]; then
    (umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$keys/key.pem.new" &&
        openssl req -x509 -new -key "$keys/key.pem.new" -sha256 -days 3650 -subj "/CN=paas registry tokens" \
            -out "$keys/cert.pem" 2>/dev/null && mv "$keys/key.pem.new" "$keys/key.pem")
fi
cd /srv/paas
alembic upgrade head
python -m paas.platform.bootstrap
