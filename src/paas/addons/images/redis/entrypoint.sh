#!/bin/sh
# First start writes the server's config into its data volume (REDIS_PASSWORD, REDIS_MAXMEMORY),
# so a new password set with CONFIG SET + CONFIG REWRITE outlives restarts.
set -eu
DATA=/var/lib/paas-redis
CONF="$DATA/redis.conf"
mkdir -p "$DATA"
if [ ! -s "$CONF" ]; then
    : "${REDIS_PASSWORD:?}"
    cat > "$CONF" <<CONF
bind 0.0.0.0
port 6379
protected-mode no
requirepass $REDIS_PASSWORD
dir $DATA
appendonly yes
maxmemory ${REDIS_MAXMEMORY:-50mb}
maxmemory-policy noeviction
CONF
fi
chown -R redis:redis "$DATA"
exec setpriv --reuid=redis --regid=redis --init-groups redis-server "$CONF"
