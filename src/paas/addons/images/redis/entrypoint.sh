#!/bin/sh
# First start writes the server's config into its data volume (REDIS_PASSWORD, REDIS_MAXMEMORY;
# REDIS_TLS=1: TLS only, with a certificate of its own), so a new password set with CONFIG SET +
# CONFIG REWRITE outlives restarts. Runs as redis (the image's USER), which owns the data volume.
set -eu
DATA=/var/lib/paas-redis
CONF="$DATA/redis.conf"
umask 077
if [ ! -s "$CONF" ]; then
    : "${REDIS_PASSWORD:?}"
    if [ "${REDIS_TLS:-}" = 1 ]; then
        openssl req -new -x509 -days 3650 -nodes -newkey rsa:2048 -subj "/CN=${REDIS_HOST:-redis}" \
            -keyout "$DATA/tls.key" -out "$DATA/tls.crt" 2>/dev/null
        LISTEN="port 0
tls-port 6379
tls-cert-file $DATA/tls.crt
tls-key-file $DATA/tls.key
tls-auth-clients no"
    else
        LISTEN="port 6379"
    fi
    cat > "$CONF" <<CONF
bind 0.0.0.0
$LISTEN
protected-mode no
requirepass $REDIS_PASSWORD
dir $DATA
appendonly yes
maxmemory ${REDIS_MAXMEMORY:-50mb}
maxmemory-policy noeviction
CONF
fi
exec redis-server "$CONF"
