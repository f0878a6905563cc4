#!/usr/bin/env bash
# Operator bring-up of the services the platform talks to:
# dockerd, the image registry, Postgres, Redis and Caddy (the router).
#
#   scripts/services.sh install  install what is missing (packages, compose, the build user); start nothing
#   scripts/services.sh up       install, then start what is not running
#   scripts/services.sh engine   install, then start only dockerd (`make stack`: the compose path)
#   scripts/services.sh down     stop them gracefully; all data stays
#   scripts/services.sh tools    install what the tests and benchmarks use (`make test` runs it)
#
# All are idempotent. There is no systemd here, so the daemons run in the
# background with pid files under $PAAS_HOME/run and logs under $PAAS_HOME/logs.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Same contract as src/paas/settings.py: PAAS_HOME defaults to .paas (here: at the repo root).
PAAS_HOME="${PAAS_HOME:-.paas}"
case "$PAAS_HOME" in /*) ;; *) PAAS_HOME="$REPO_ROOT/$PAAS_HOME" ;; esac
RUN_DIR="$PAAS_HOME/run"
LOG_DIR="$PAAS_HOME/logs"

REGISTRY_ADDR="${PAAS_REGISTRY:-127.0.0.1:5000}"
# Caddy's admin API on a socket of the platform's (not a TCP port: a Dockerfile build's `ADD` can
# fetch any http:// URL of the host's loopback). Same contract as settings.caddy_admin.
CADDY_ADMIN_URL="${PAAS_CADDY_ADMIN_URL:-unix/$RUN_DIR/caddy-admin.sock}"
CADDY_ADMIN_ADDR="${CADDY_ADMIN_URL#http://}"
PG_VERSION=15
PG_CLUSTER=main
REDIS_PORT=6379
# Same contract as settings.router_dns / router_hosts_dir.
ROUTER_DNS="${PAAS_ROUTER_DNS:-127.0.0.1:5353}"
ROUTER_HOSTS_DIR="$PAAS_HOME/router/hosts.d"
ROUTER_UNKNOWN_ADDRESS="${PAAS_ROUTER_UNKNOWN_ADDRESS:-127.0.0.4}"

# python3-venv: Debian's python3 cannot `python3 -m venv` without it, and `make up` creates
# .venv right after this script (a bare Debian 12 without pyenv lacks it).
# buildah and uidmap: Dockerfile builds (rootless buildah, in user namespaces).
PACKAGES=(docker.io docker-registry caddy postgresql redis-server dnsmasq-base debootstrap git curl python3-venv openssl apache2-utils buildah uidmap)
# Same contract as settings.build_user: Dockerfile builds run as this user, which may not use Docker.
BUILD_USER="${PAAS_BUILD_USER:-paasbuild}"
BUILD_SUBIDS=1000000000-1000065535

# What tests and benchmarks run besides the platform: pebble (an ACME server, for the custom
# domains' certificates), wrk (load), chromium (the browser the dashboard's tests drive, through
# Playwright: its own browser download cannot be fetched here). ab comes with apache2-utils, in
# PACKAGES for htpasswd.
TOOL_PACKAGES=(pebble wrk chromium)
# Same contract as settings.cache_dir.
CACHE_DIR="${PAAS_CACHE_DIR:-/var/cache/paas}"
# Node.js and npm for the official Heroku CLI (heroku@11 needs node >= 20; bookworm's nodejs is
# 18). Where the machine has none that new, both come from the npm registry (tarballs pinned by
# sha512), into NODE_DIR, whose bin/ `make test` puts first on PATH.
NODE_DIR="$CACHE_DIR/node"
NODE_VERSION=20.20.2
NODE_SHA512_x64=3de1d033cc007661ed640d66068732819c6ce4b8945adb097b3413901774898f7cecaa46ac3d4edad544c9dbcc662b9771e45a9f1b7bae34e70c407038fba3a1
NODE_SHA512_arm64=2c25c99cd4c58b21ae601c36819488e4e04531b92300fb7cb2a0ff34aad6a04d90983812b9b4ea16783a19a349f4427c1e9c413067165a96db72ce15a3e0a71a
NPM_VERSION=10.9.9
NPM_SHA512=d60fba8cb42f688b81e33c2f1cbef2ad7b977166700ec0ad057f1b6d60ea6ef2524abf673e20c35931cd8305d1dbb8887134d6eefdc0e7b8435bd458bf65b862

log() { printf -- '-----> %s\n' "$*"; }
info() { printf -- '       %s\n' "$*"; }
die() { printf -- ' !     %s\n' "$*" >&2; exit 1; }

# --- helpers ---------------------------------------------------------------

# The Debian dockerd is 20.10 (API 1.41); a newer client earlier on PATH
# (/usr/local/bin/docker) may not negotiate down, so prefer Debian's own.
docker_cli() {
    if [[ -x /usr/bin/docker ]]; then /usr/bin/docker "$@"; else docker "$@"; fi
}

# Waits up to $2 seconds for the probe "$4..." to succeed; names the log on failure.
wait_until() {
    local name=$1 timeout=$2 logfile=$3
    shift 3
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            [[ -f "$logfile" ]] && tail -n 20 "$logfile" >&2
            die "$name is not ready after ${timeout}s; see $logfile"
        fi
        sleep 0.5
    done
}

pid_alive() {
    local pidfile=$1
    [[ -s "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# A password made once into file $1 (0600), kept from then on.
make_password() { [[ -s "$1" ]] || (umask 077 && openssl rand -hex 24 >"$1"); }

# Starts "$3..." detached (own session, so it outlives the calling shell or CI step)
# and records its pid. setsid does not fork here: a background job is no group leader.
# 9>&- : a daemon must not inherit the lock (see take_lock), or it holds it forever.
spawn() {
    local name=$1 logfile=$2
    shift 2
    setsid "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
    echo $! >"$RUN_DIR/$name.pid"
}

# SIGTERM, then SIGKILL if the process is still there after $2 seconds.
stop_pidfile() {
    local name=$1 timeout=$2 pidfile="$RUN_DIR/$1.pid"
    if ! pid_alive "$pidfile"; then
        rm -f "$pidfile"
        return 0
    fi
    local pid
    pid=$(cat "$pidfile")
    info "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            info "$name did not stop after ${timeout}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    rm -f "$pidfile"
}

# Several sessions share this machine's daemons: serialise up/down machine-wide.
# Every daemon is started with fd 9 closed, so the lock ends with this script.
LOCK_FILE=/run/lock/paas-services.lock
take_lock() {
    exec 9>"$LOCK_FILE"
    flock -n 9 && return 0
    info "waiting for another services.sh to finish ($LOCK_FILE)"
    flock -w 600 9 || die "another services.sh has held $LOCK_FILE for 10 minutes"
}

# --- packages ----------------------------------------------------------------

# Runs "$@" with its output kept aside: shown (the last lines) only if it fails. apt's and
# dpkg's hundreds of lines per install would bury everything else in a CI log.
quietly() {
    local output status=0
    output=$(mktemp)
    "$@" >"$output" 2>&1 || status=$?
    ((status == 0)) || tail -n 25 "$output" >&2
    rm -f "$output"
    return "$status"
}

# Installs those of the packages "$@" that are missing, with apt.
install_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    log "Installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    quietly apt-get update -q || die "apt-get update failed"
    quietly apt-get install -y -q "${missing[@]}" || die "apt-get install ${missing[*]} failed"
}

# Docker Compose v2 (the `docker compose` plugin) for the compose stack: bookworm has only v1;
# trixie's package (one static binary, needing only libc6) installs here. Fetched with apt from
# a trixie source of its own (the machine's Debian mirror), so the machine's sources stay
# bookworm's; installed with apt, which resolves its dependencies. `make up` does not need it:
# failing here is a warning.
install_compose() {
    docker_cli compose version >/dev/null 2>&1 && return 0
    log "Installing Docker Compose v2 (docker-compose from trixie)"
    local dir mirror
    # deb822 .sources files (a bare Debian 12 has only these) or a one-line sources.list; a
    # missing file is no error (`|| true`: under pipefail a failed grep would end the script).
    mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
        grep -E '^(URIs:|deb )' | grep -v security | grep -oE 'https?://[^ ]+' | head -n 1 || true)
    dir=$(mktemp -d)
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
    echo "deb ${mirror:-http://deb.debian.org/debian} trixie main" >"$dir/trixie.list"
    local options=(-o "Dir::Etc::SourceList=$dir/trixie.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o APT::Sandbox::User=root)
    if quietly apt-get "${options[@]}" update -q && (cd "$dir" && quietly apt-get "${options[@]}" download -q docker-compose) &&
        DEBIAN_FRONTEND=noninteractive quietly apt-get install -y -q "$dir"/docker-compose_*.deb &&
        docker_cli compose version >/dev/null 2>&1; then
        info "$(docker_cli compose version)"
    else
        info "warning: Docker Compose v2 could not be installed; the compose stack (docker-compose.yml) needs it"
    fi
    rm -rf "$dir"
}

# On a host booted with systemd, installing docker-registry and caddy also enables and starts
# their packaged units: Debian's registry (:5000, htpasswd auth) and a system Caddy (admin on
# localhost:2019, a Caddyfile on :80). Our readiness probes would take those for ours (the wrong
# registry config; the router would program the system Caddy), so turn them off before starting
# our own. Without systemd as PID 1 (containers, this script's usual home) there is nothing to do.
disable_packaged_units() {
    command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]] || return 0
    local unit
    for unit in docker-registry caddy; do
        if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
            info "disabling the packaged $unit.service (ours runs from $PAAS_HOME instead)"
            # One unit per call: a missing unit must not stop the other from being disabled.
            systemctl disable --now --quiet "$unit" >/dev/null 2>&1 || true
        fi
    done
}

# --- dockerd -----------------------------------------------------------------

docker_ready() { docker_cli info; }

docker_up() {
    if docker_ready >/dev/null 2>&1; then
        info "dockerd already running"
        return 0
    fi
    log "Starting dockerd"
    # A dockerd killed hard leaves its default pid file behind and then refuses to start.
    if [[ -s /var/run/docker.pid ]] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    spawn dockerd "$LOG_DIR/dockerd.log" dockerd
    wait_until dockerd 60 "$LOG_DIR/dockerd.log" docker_ready
}

# dockerd stops its containers first, so give it time.
docker_down() { stop_pidfile dockerd 60; }

# --- registry ----------------------------------------------------------------

# Up once /v2/ answers at all: with auth on, it answers 401 to a caller without credentials.
registry_ready() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY_ADDR/v2/" 2>/dev/null) || return 1
    [[ "$code" == 200 || "$code" == 401 ]]
}

# The builder and the runner each have a user of their own: the API's token endpoint checks
# their passwords (made once, into $PAAS_HOME/registry-users, 0600) and gives the builder pull and
# push, the runner pull only (paas.registry_auth). The key that signs the tokens is made once too,
# with a self-signed certificate that the registry trusts (registry-token/cert.pem).
write_registry_users() {
    local users="$PAAS_HOME/registry-users" keys="$PAAS_HOME/registry-token" role
    mkdir -p "$users" "$keys" && chmod 700 "$users" "$keys"
    for role in builder runner; do
        [[ -s "$users/$role" ]] || (umask 077 && openssl rand -hex 24 >"$users/$role")
    done
    if [[ ! -s "$keys/key.pem" || ! -s "$keys/cert.pem" ]]; then
        (umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$keys/key.pem.new" &&
            openssl req -x509 -new -key "$keys/key.pem.new" -sha256 -days 3650 -subj "/CN=paas registry tokens" \
                -out "$keys/cert.pem" && mv "$keys/key.pem.new" "$keys/key.pem") >/dev/null 2>&1 ||
            die "could not make the registry's token key in $keys"
    fi
    rm -f "$PAAS_HOME/registry/htpasswd"  # the password-only auth of before: every user had every right
}

# Clients without a token are sent to the realm, the API's token endpoint: every client that
# pulls must reach it (on a swarm, set PAAS_REGISTRY_TOKEN_REALM to an address every node reaches).
write_registry_config() {
    local realm="${PAAS_REGISTRY_TOKEN_REALM:-http://127.0.0.1:${PAAS_API_PORT:-5100}/registry/token}"
    mkdir -p "$PAAS_HOME/registry"
    write_registry_users
    cat >"$PAAS_HOME/registry.yml" <<EOF
# Written by scripts/services.sh: local-only, and only the platform's builder and runner get in.
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $PAAS_HOME/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
auth:
  token:
    realm: $realm
    service: paas-registry
    issuer: paas
    rootcertbundle: $PAAS_HOME/registry-token/cert.pem
EOF
}

registry_up() {
    if registry_ready; then
        info "registry already running at $REGISTRY_ADDR"
        return 0
    fi
    log "Starting the registry at $REGISTRY_ADDR"
    write_registry_config
    spawn registry "$LOG_DIR/registry.log" docker-registry serve "$PAAS_HOME/registry.yml"
    wait_until registry 30 "$LOG_DIR/registry.log" registry_ready
}

registry_down() { stop_pidfile registry 30; }

# --- postgres ----------------------------------------------------------------

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432; }

# From / so that psql does not complain it cannot read the caller's directory.
as_postgres() { (cd / && runuser -u postgres -- "$@"); }

pg_cluster_exists() {
    pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c { found = 1 } END { exit !found }'
}

pg_up() {
    if pg_ready; then
        info "postgres already running"
    else
        log "Starting postgres $PG_VERSION"
        # The package normally creates the cluster; a trimmed install may not have.
        pg_cluster_exists || pg_createcluster "$PG_VERSION" "$PG_CLUSTER"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start 9>&-
        wait_until postgres 60 "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log" pg_ready
    fi
    pg_provision
}

# Same contract as settings.database_url: a URL without a password gets this file's.
PG_PASSWORD_FILE="$PAAS_HOME/postgres-password"

# Postgres listens on loopback only (Debian's default, listen_addresses = localhost).
pg_check_listen() {
    local listen address
    listen=$(as_postgres psql -tAc 'SHOW listen_addresses')
    for address in ${listen//,/ }; do
        [[ "$address" == localhost || "$address" == 127.0.0.1 || "$address" == ::1 ]] ||
            die "postgres listens on '$listen' (listen_addresses in /etc/postgresql/$PG_VERSION/$PG_CLUSTER/postgresql.conf): paas wants loopback only, localhost"
    done
}

# Role and database `paas`: the role may log in with the password made once into
# $PAAS_HOME/postgres-password (set again every time, which also converts an installation that
# had the password `paas`), and nothing more (no CREATEDB: the tests make their databases as the
# postgres superuser). The password goes to psql on stdin, never on a command line. Then prove
# a password login over TCP.
pg_provision() {
    pg_check_listen
    make_password "$PG_PASSWORD_FILE"
    if [[ -z "$(as_postgres psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'paas'")" ]]; then
        info "creating role paas"
        as_postgres psql -qc "CREATE ROLE paas LOGIN"
    fi
    printf "ALTER ROLE paas LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '%s';\n" "$(cat "$PG_PASSWORD_FILE")" |
        as_postgres psql -q -v ON_ERROR_STOP=1 >/dev/null
    if [[ -z "$(as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'paas'")" ]]; then
        info "creating database paas"
        as_postgres createdb -O paas paas
    fi
    PGPASSWORD=$(cat "$PG_PASSWORD_FILE") psql -h 127.0.0.1 -U paas -d paas -qtAc 'SELECT 1' >/dev/null ||
        die "cannot log in to postgres as paas over TCP; check /etc/postgresql/$PG_VERSION/$PG_CLUSTER/pg_hba.conf"
}

pg_down() {
    pg_ready || return 0
    info "stopping postgres"
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop
}

# --- redis -------------------------------------------------------------------

# Redis asks for the password made once into $PAAS_HOME/redis-password (same contract as
# settings.redis_url: a URL without a password gets this file's). It is in Redis's config file
# (0600), never on a command line, which `ps` shows; redis-cli takes it from REDISCLI_AUTH.
REDIS_PASSWORD_FILE="$PAAS_HOME/redis-password"

redis_cli() { REDISCLI_AUTH=$(cat "$REDIS_PASSWORD_FILE" 2>/dev/null) redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
redis_ready() { [[ "$(redis_cli ping 2>/dev/null)" == PONG ]]; }
# A Redis started before it had a password answers anyone.
redis_open() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

redis_up() {
    make_password "$REDIS_PASSWORD_FILE"
    if redis_open; then
        info "redis runs without a password: restarting it with one"
        redis_down
    elif redis_ready; then
        info "redis already running"
        return 0
    fi
    log "Starting redis"
    mkdir -p "$PAAS_HOME/redis"
    # A snapshot that cannot be written (its directory gone) must not stop the platform's writes.
    (umask 077 && cat >"$PAAS_HOME/redis.conf") <<EOF
# Written by scripts/services.sh (0600: it holds the password).
daemonize yes
bind 127.0.0.1
port $REDIS_PORT
dir "$PAAS_HOME/redis"
stop-writes-on-bgsave-error no
pidfile "$RUN_DIR/redis.pid"
logfile "$LOG_DIR/redis.log"
requirepass $(cat "$REDIS_PASSWORD_FILE")
EOF
    redis-server "$PAAS_HOME/redis.conf" 9>&-
    wait_until redis 30 "$LOG_DIR/redis.log" redis_ready
}

# SHUTDOWN saves the dataset before exiting.
redis_down() {
    redis_ready || return 0
    info "stopping redis"
    redis_cli shutdown >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 30))
    while redis_ready && ((SECONDS < deadline)); do sleep 0.5; done
    rm -f "$RUN_DIR/redis.pid"
}

# --- caddy -------------------------------------------------------------------

caddy_ready() {
    if [[ "$CADDY_ADMIN_URL" == unix/* ]]; then
        curl -fsS -o /dev/null --unix-socket "${CADDY_ADMIN_URL#unix/}" http://localhost/config/ 2>/dev/null
    else
        curl -fsS -o /dev/null "$CADDY_ADMIN_URL/config/" 2>/dev/null
    fi
}

caddy_up() {
    if caddy_ready; then
        info "caddy already running (admin at $CADDY_ADMIN_URL)"
        return 0
    fi
    log "Starting caddy (admin at $CADDY_ADMIN_URL)"
    # Only the admin endpoint: the router adds its own HTTP server through the admin API. On a
    # socket, clients send Host: localhost, which Caddy must be told to accept.
    mkdir -p "$RUN_DIR"
    printf '{"admin": {"listen": "%s", "origins": ["localhost"]}}\n' "$CADDY_ADMIN_ADDR" >"$PAAS_HOME/caddy.json"
    # An autosave made with another admin address would bring that address back: drop it.
    local autosave="$PAAS_HOME/caddy/config/caddy/autosave.json"
    if [[ -f "$autosave" ]] && ! grep -qF "\"listen\":\"$CADDY_ADMIN_ADDR\"" "$autosave"; then
        rm -f "$autosave"
    fi
    # Keep caddy's autosave and certificate storage out of root's home.
    # --resume: load that autosave (the last config the router pushed, app routes included) in
    # preference to caddy.json, so a restarted Caddy serves the apps again without waiting for
    # the runner to re-program it. With no autosave yet, caddy.json is used.
    spawn caddy "$LOG_DIR/caddy.log" \
        env XDG_CONFIG_HOME="$PAAS_HOME/caddy/config" XDG_DATA_HOME="$PAAS_HOME/caddy/data" \
        caddy run --config "$PAAS_HOME/caddy.json" --resume
    wait_until caddy 30 "$LOG_DIR/caddy.log" caddy_ready
}

caddy_down() { stop_pidfile caddy 30; }

# --- the router's name server ---------------------------------------------------
# dnsmasq answers only from the router's hosts directory (one file per app, re-read as soon as
# it changes) and never forwards a query anywhere. --local: it is the authority for the zone, so
# an AAAA question about an app gets "no such record" rather than REFUSED (which Go's resolver in
# Caddy takes as a failed lookup).

dns_ready() { pid_alive "$RUN_DIR/dnsmasq.pid"; }

dns_up() {
    if dns_ready; then
        info "dnsmasq already running (router names at $ROUTER_DNS)"
        return 0
    fi
    log "Starting dnsmasq (router names at $ROUTER_DNS)"
    mkdir -p "$ROUTER_HOSTS_DIR"
    spawn dnsmasq "$LOG_DIR/dnsmasq.log" \
        dnsmasq --keep-in-foreground --log-facility=- --port "${ROUTER_DNS##*:}" \
        --listen-address "${ROUTER_DNS%:*}" --bind-interfaces --no-resolv --no-hosts --no-poll \
        --hostsdir "$ROUTER_HOSTS_DIR" --local=/paas.internal/ \
        --address="/paas.internal/$ROUTER_UNKNOWN_ADDRESS" --local-ttl 0 --user=root
    wait_until dnsmasq 10 "$LOG_DIR/dnsmasq.log" dns_ready
}

dns_down() { stop_pidfile dnsmasq 10; }

# --- the build user -----------------------------------------------------------

build_user_up() {
    if ! id -u "$BUILD_USER" >/dev/null 2>&1; then
        log "Creating the build user $BUILD_USER"
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$BUILD_USER"
    fi
    # The user namespaces of its builds map 65536 ids, far above any regular user's range.
    grep -q "^$BUILD_USER:" /etc/subuid 2>/dev/null || usermod --add-subuids "$BUILD_SUBIDS" "$BUILD_USER"
    grep -q "^$BUILD_USER:" /etc/subgid 2>/dev/null || usermod --add-subgids "$BUILD_SUBIDS" "$BUILD_USER"
}

# --- the tests' tools ----------------------------------------------------------

node_ok() {
    local major
    major=$(PATH="$NODE_DIR/bin:$PATH" node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || return 1
    ((major >= 20)) && PATH="$NODE_DIR/bin:$PATH" npm --version >/dev/null 2>&1
}

# Fetches the npm registry's tarball of package $1 at version $2 into file $4; dies unless its
# sha512 is $3.
npm_tarball() {
    local package=$1 version=$2 sha512=$3 file=$4
    curl -fsS --retry 3 -o "$file" "https://registry.npmjs.org/$package/-/$package-$version.tgz" ||
        die "could not fetch $package $version from registry.npmjs.org"
    [[ "$(sha512sum "$file" | cut -d ' ' -f 1)" == "$sha512" ]] || die "$package-$version.tgz does not match its pinned sha512"
}

install_node() {
    node_ok && return 0
    local arch sha512 work
    case "$(uname -m)" in
    x86_64) arch=x64 sha512=$NODE_SHA512_x64 ;;
    aarch64) arch=arm64 sha512=$NODE_SHA512_arm64 ;;
    *) die "no Node.js $NODE_VERSION for $(uname -m) here: install Node.js 20 or newer with npm yourself" ;;
    esac
    log "Installing Node.js $NODE_VERSION and npm $NPM_VERSION from the npm registry into $NODE_DIR"
    mkdir -p "$CACHE_DIR"
    work=$(mktemp -d "$CACHE_DIR/node.XXXXXX")
    npm_tarball "node-linux-$arch" "$NODE_VERSION" "$sha512" "$work/node.tgz"
    npm_tarball npm "$NPM_VERSION" "$NPM_SHA512" "$work/npm.tgz"
    mkdir -p "$work/bin" "$work/lib/node_modules/npm"
    tar -xzf "$work/node.tgz" -C "$work" --strip-components=1 --no-same-owner package/bin/node
    tar -xzf "$work/npm.tgz" -C "$work/lib/node_modules/npm" --strip-components=1 --no-same-owner
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/bin/npx"
    rm -f "$work/node.tgz" "$work/npm.tgz"
    chmod 755 "$work"
    rm -rf "$NODE_DIR"
    mv "$work" "$NODE_DIR"
    node_ok || die "the Node.js installed in $NODE_DIR does not run"
    info "node $("$NODE_DIR/bin/node" --version), npm $(PATH="$NODE_DIR/bin:$PATH" npm --version) (first on PATH in make test)"
}

# --- commands ----------------------------------------------------------------

# What `up` needs installed, and nothing started: `make check-install` runs this on a bare root.
install_all() {
    install_packages "${PACKAGES[@]}"
    install_compose || info "warning: Docker Compose v2 could not be installed; the compose stack (docker-compose.yml) needs it"
    build_user_up
}

tools() {
    install_packages "${TOOL_PACKAGES[@]}"
    install_node
}

# What `make stack` needs, where `make up` never ran or after `make down`: the Docker engine.
engine() {
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    install_all
    docker_up
}

# $PAAS_HOME is root's alone: directories 0700 and files 0600 (what `up` starts, and the
# platform's processes, run with umask 077; this fixes a home made before). Left as they are: the
# public CA certificates (0644 is harmless: nobody else passes the home's 0700); buildah's
# shared configuration (build-cache/images/config), which the build user reads; and what the
# image stores, build caches and fetched buildpacks hold (build-cache/images/*/,
# build-cache/apps/*/*/, build-cache/buildpacks/*/*/), whose modes are those of the images', apps'
# and buildpacks' own files. Each store, cache and buildpack is made 0700 itself.
# Never through a link: chmod would change what it points at.
private_home() {
    local cache="$PAAS_HOME/build-cache"
    chmod 700 "$PAAS_HOME"
    find "$PAAS_HOME" \( -path "$PAAS_HOME/router-ca.crt" -o -path "$PAAS_HOME/rendezvous-ca.crt" \
        -o -path "$cache/images/config" \) -prune \
        -o \( -path "$cache/images/*" -o -path "$cache/apps/*/*" -o -path "$cache/buildpacks/*/*" \) -type d -prune \
        -perm /077 -exec chmod go-rwx {} + \
        -o ! -type l -perm /077 -exec chmod go-rwx {} +
}

up() {
    install_all
    # Everything started from here on makes its files private (dockerd sets its own umask).
    umask 077
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    disable_packaged_units
    docker_up
    registry_up
    pg_up
    redis_up
    dns_up
    caddy_up
    # Last: a daemon started before (or stopped just now, as a Redis without a password) may
    # have written its files with a looser umask.
    private_home
    log "Services up (PAAS_HOME=$PAAS_HOME)"
}

down() {
    log "Stopping services (PAAS_HOME=$PAAS_HOME)"
    caddy_down
    dns_down
    registry_down
    redis_down
    pg_down
    docker_down
}

main() {
    case "${1:-}" in
    install) take_lock; install_all ;;
    engine) take_lock; engine ;;
    up) take_lock; up ;;
    down) take_lock; down ;;
    tools) take_lock; tools ;;
    *) echo "usage: $0 install|up|down|engine|tools" >&2; exit 2 ;;
    esac
}

main "$@"
