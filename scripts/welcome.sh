#!/usr/bin/env bash
# Printed at the end of `make up`: where paas answers and how to deploy a first app.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PAAS_HOME=${PAAS_HOME:-$ROOT/.paas}
API="http://${PAAS_API_HOST:-127.0.0.1}:${PAAS_API_PORT:-5100}"
# The token itself is never printed (make up's output ends up in CI logs): commands read the file.
TOKEN_FILE="$PAAS_HOME/admin-token"
cat <<TEXT

-----> paas is up
       API:          $API
       Admin token:  in $TOKEN_FILE (0600; it is not printed)
       Apps answer at http://<app>.localhost:${PAAS_ROUTER_PORT:-8080}
                  and https://<app>.localhost:${PAAS_ROUTER_TLS_PORT:-8443} (trust $PAAS_HOME/router-ca.crt,
                  the router's own CA, written once the runner has started: curl --cacert ...)

       Deploy an app from its git checkout (a Dockerfile FROM paas/stack:bookworm):
         curl -s -H "Authorization: Bearer \$(cat $TOKEN_FILE)" -H 'Content-Type: application/json' -d '{"name":"myapp"}' $API/apps
         git remote add paas "http://paas:\$(cat $TOKEN_FILE)@${API#http://}/myapp.git"
         git push paas main

       or with the CLI, which keeps the token out of the remote's URL:
         $ROOT/.venv/bin/paas login --token "\$(cat $TOKEN_FILE)"
         $ROOT/.venv/bin/paas apps create myapp
         git push paas main
TEXT
