#!/usr/bin/env bash
# `make check-install`: the install steps of a new user, run on a bare Debian 12.
#
# A machine that ran the install before hides a broken step, so this runs them in a root that
# has nothing but Debian 12 minbase and `make`, with deb822 apt sources only (the machine's own
# debian.sources, no sources.list), as a new Debian 12 machine has. The bare root is made once
# with debootstrap and cached as a tarball in the cache directory; every run unpacks a fresh copy,
# copies the checkout's tracked files into it and runs, as root in a chroot:
#
#   scripts/services.sh install   apt packages, Docker Compose v2, the build user
#   scripts/services.sh tools     what the tests use (pebble, wrk, chromium, Node.js >= 20 with npm)
#   make install                  the virtualenv and the project
#
# then checks what they should have left behind. Any failure fails the run. Nothing may be
# started in the chroot (a policy-rc.d refuses every service start, as in the stack images); a
# process left running there fails the run too. The copy is removed afterwards, even on failure.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${PAAS_CACHE_DIR:-/var/cache/paas}"  # same contract as settings.cache_dir
SUITE=bookworm
# Bump when the bare root's recipe changes: a tarball of an older recipe is made again.
RECIPE=1
BARE_TARBALL="$CACHE_DIR/bare-$SUITE.tar"
SOURCES=/etc/apt/sources.list.d/debian.sources
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf -- '-----> %s\n' "$*"; }
info() { printf -- '       %s\n' "$*"; }
die() { printf -- ' !     %s\n' "$*" >&2; exit 1; }

(($(id -u) == 0)) || die "check-install needs root (debootstrap, chroot, mounts)"
if ! command -v debootstrap >/dev/null; then
    log "Installing debootstrap (on this machine: it makes the bare root)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >/dev/null ||
        die "apt-get install debootstrap failed"
fi

# The mirror debootstrap fetches from: the first non-security one of the machine's sources.
host_mirror() {
    cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
        grep -E '^(URIs:|deb )' | grep -v security | grep -oE 'https?://[^ ]+' | head -n 1 || true
}

# Debian 12 minbase with make, the machine's deb822 sources and nothing else, as a tarball.
make_bare_tarball() {
    local dir=$1 started=$SECONDS mirror output
    mirror=$(host_mirror)
    log "Making a bare Debian 12 root (debootstrap $SUITE minbase + make, once; cached in $BARE_TARBALL)"
    output=$(mktemp)
    if ! debootstrap --variant=minbase --include=make "$SUITE" "$dir" "${mirror:-http://deb.debian.org/debian}" >"$output" 2>&1; then
        tail -n 20 "$output" >&2
        rm -f "$output"
        die "debootstrap failed"
    fi
    rm -f "$output"
    # deb822 sources only, as on a new Debian 12 machine.
    rm -f "$dir/etc/apt/sources.list"
    if [[ -f "$SOURCES" ]]; then
        cp "$SOURCES" "$dir/etc/apt/sources.list.d/debian.sources"
    else
        printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n\n' \
            "${mirror:-http://deb.debian.org/debian}" "$SUITE" "$SUITE" /usr/share/keyrings/debian-archive-keyring.gpg \
            >"$dir/etc/apt/sources.list.d/debian.sources"
        printf 'Types: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
            http://deb.debian.org/debian-security "$SUITE" /usr/share/keyrings/debian-archive-keyring.gpg \
            >>"$dir/etc/apt/sources.list.d/debian.sources"
    fi
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin
    tar -C "$dir" --numeric-owner -cf "$BARE_TARBALL.partial" .
    mv "$BARE_TARBALL.partial" "$BARE_TARBALL"
    echo "$RECIPE" >"$BARE_TARBALL.recipe"
    info "made in $((SECONDS - started)) s"
}

bare_tarball_current() {
    [[ -f "$BARE_TARBALL" && "$(cat "$BARE_TARBALL.recipe" 2>/dev/null)" == "$RECIPE" ]]
}

# The machine's own trust anchors (an egress proxy's CA, say): the certificates of its bundle that
# Debian's ca-certificates does not ship. A new machine here has them; written into directory $1,
# one file each, where update-ca-certificates adds them when apt installs ca-certificates.
copy_local_cas() {
    local bundle=/etc/ssl/certs/ca-certificates.crt
    [[ -f "$bundle" ]] || return 0
    mkdir -p "$1"
    find /usr/share/ca-certificates -name '*.crt' -exec cat {} + 2>/dev/null | awk -v dir="$1" '
        /-----BEGIN CERTIFICATE-----/ { block = ""; inside = 1 }
        inside { block = block $0 "\n" }
        /-----END CERTIFICATE-----/ {
            inside = 0
            if (FILENAME == "-") { known[block] = 1 }
            else if (!(block in known)) { printf "%s", block > (dir "/machine-" ++n ".crt") }
        }' - "$bundle"
}

# Everything mounted at or below $1, deepest first.
mounts_below() {
    awk -v root="$1" '$2 == root || index($2, root "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

# Processes whose root directory is $1 (started in the chroot).
processes_in() {
    local proc
    for proc in /proc/[0-9]*; do
        [[ "$(readlink "$proc/root" 2>/dev/null)" == "$1" ]] && echo "${proc#/proc/}"
    done
    return 0
}

ROOT=""
teardown() {
    [[ -n "$ROOT" && -d "$ROOT" ]] || return 0
    local pid mountpoint
    for pid in $(processes_in "$ROOT"); do kill -KILL "$pid" 2>/dev/null || true; done
    for mountpoint in $(mounts_below "$ROOT"); do umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" || true; done
    if [[ -n "$(mounts_below "$ROOT")" ]]; then
        info "warning: $ROOT still has mounts; left in place"
        return 0
    fi
    # --one-file-system: never into anything still mounted there
    rm -rf --one-file-system "$ROOT"
}
trap teardown EXIT

mkdir -p "$CACHE_DIR"
started=$SECONDS
(
    # Two runs at once make the tarball once.
    flock -w 900 9 || die "another check-install has been making $BARE_TARBALL for 15 minutes"
    if ! bare_tarball_current; then
        work=$(mktemp -d "$CACHE_DIR/bare-$SUITE.XXXXXX")
        trap 'rm -rf --one-file-system "$work"' EXIT
        make_bare_tarball "$work"
    fi
) 9>"$CACHE_DIR/bare-$SUITE.lock"

ROOT=$(mktemp -d /var/tmp/paas-check-install.XXXXXX)
log "Unpacking a fresh copy of the bare root into $ROOT"
tar -C "$ROOT" --numeric-owner -xf "$BARE_TARBALL"
# What a booted machine has (the chroot has no init): its own /proc, /sys, /dev, a /run, and the
# host's name servers.
# /dev is a tmpfs of its own with the usual nodes, not the host's /dev bound in.
mount -t proc proc "$ROOT/proc"
mount -t sysfs -o ro sysfs "$ROOT/sys"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$ROOT/dev"
for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
    IFS=: read -r name major minor <<<"$node"
    mknod -m 666 "$ROOT/dev/$name" c "$major" "$minor"
done
mkdir -p "$ROOT/dev/pts" "$ROOT/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$ROOT/dev/pts"
ln -s pts/ptmx "$ROOT/dev/ptmx"
ln -s /proc/self/fd "$ROOT/dev/fd"
for fd in stdin:0 stdout:1 stderr:2; do ln -s "/proc/self/fd/${fd#*:}" "$ROOT/dev/${fd%:*}"; done
mount -t tmpfs -o mode=0755 tmpfs "$ROOT/run"
mkdir -p "$ROOT/run/lock"
rm -f "$ROOT/etc/resolv.conf"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
copy_local_cas "$ROOT/usr/local/share/ca-certificates"
# No service may start: invoke-rc.d and deb-systemd-invoke ask this first.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"

# The checkout's tracked files (not .venv, .paas or anything else it made), as a clone has them.
mkdir -p "$ROOT/root/paas"
git -C "$REPO_ROOT" ls-files -z |
    while IFS= read -r -d '' path; do [[ -e "$REPO_ROOT/$path" || -L "$REPO_ROOT/$path" ]] && printf '%s\0' "$path"; done |
    tar -C "$REPO_ROOT" --null -T - -cf - | tar -C "$ROOT/root/paas" -xf -

in_root() {
    chroot "$ROOT" /usr/bin/env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 TERM=dumb \
        /bin/bash -euo pipefail -c "$1"
}

steps_started=$SECONDS
log "In the bare root: scripts/services.sh install, scripts/services.sh tools, make install"
in_root 'cd /root/paas && scripts/services.sh install && scripts/services.sh tools && make --no-print-directory install'

log "Checking what the install left behind"
in_root '
cd /root/paas
fail() { printf " !     %s\n" "$*" >&2; exit 1; }
source <(grep -E "^(PACKAGES|TOOL_PACKAGES|BUILD_USER)=" scripts/services.sh)
for pkg in "${PACKAGES[@]}" "${TOOL_PACKAGES[@]}"; do
    dpkg-query -W -f="\${Status}" "$pkg" 2>/dev/null | grep -q "install ok installed" || fail "package $pkg is not installed"
done
docker compose version >/dev/null 2>&1 || fail "docker compose (v2) does not run"
id -u "$BUILD_USER" >/dev/null || fail "no build user $BUILD_USER"
grep -q "^$BUILD_USER:" /etc/subuid && grep -q "^$BUILD_USER:" /etc/subgid || fail "$BUILD_USER has no subordinate ids"
PATH=/var/cache/paas/node/bin:$PATH
major=$(node -p "process.versions.node.split(\".\")[0]") && ((major >= 20)) || fail "no node >= 20 for make test"
npm --version >/dev/null || fail "npm does not run"
for tool in pebble wrk ab chromium; do command -v "$tool" >/dev/null || fail "$tool is missing"; done
.venv/bin/pip check >/dev/null || fail "the virtualenv lacks some of the project'"'"'s dependencies (pip check)"
.venv/bin/paas --help >/dev/null || fail "the paas CLI does not run"
'
left=$(processes_in "$ROOT")
if [[ -n "$left" ]]; then
    ps -o pid,args -p "$(echo $left | tr ' ' ,)" >&2 || true
    die "the install started processes in the bare root (they are killed now)"
fi
log "check-install passed: install steps $((SECONDS - steps_started)) s, in all $((SECONDS - started)) s"
