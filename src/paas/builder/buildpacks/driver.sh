#!/bin/bash
# Runs inside the build container (mounted read-only), as the build user with no capabilities:
# detect, compile and release of each buildpack in order, as Heroku's buildpack API describes them.
#
#   driver.sh <build dir> <mode: auto|listed> <number of buildpacks>
#
# A copy of buildpack i, the build user's, is at /tmp/buildpacks/<i>; CACHE_DIR is /tmp/cache,
# ENV_DIR /tmp/env; the build dir is bound at /app too.
# What the host needs back goes to /tmp/paas-out, never into the build dir (it becomes the slug):
#   used       one line per buildpack that ran: "<i> <name it detected as>"
#   release-<i>.yml  the output of its bin/release
#   failure    why the build failed, for the pusher (the host raises it)
set -uo pipefail

build_dir=$1 mode=$2 count=$3
cache_dir=/tmp/cache env_dir=/tmp/env out=/tmp/paas-out

fail() {
    printf '%s\n' "$1" > "$out/failure"
    exit 1
}

# Virtualenvs and shebangs must say /app, where the slug runs: /app is the build dir.
[ /app -ef "$build_dir" ] || fail "/app is not the build dir"
cd "$build_dir" || fail "the build dir is missing"
# The build user has no home of its own: one outside the slug, so caches kept there never bloat it.
export HOME=/tmp/home
mkdir -p "$HOME" || fail "could not make the build's HOME"

for ((i = 1; i <= count; i++)); do
    chmod -f u+rx /tmp/buildpacks/"$i"/bin/* 2>/dev/null  # bits lost on the way must not stop it
done

# The name a buildpack detected as: the first line of bin/detect's output (or "App").
detect() {
    local bp=$1 output status
    output=$(cd "$build_dir" && "$bp/bin/detect" "$build_dir" 2>&1)
    status=$?
    detected=$(printf '%s\n' "$output" | head -n 1 | tr -d '\r')
    [ -n "$detected" ] || detected=App
    return $status
}

selected=()
names=()
if [ "$mode" = auto ]; then
    for ((i = 1; i <= count; i++)); do
        if detect "/tmp/buildpacks/$i"; then
            selected=("$i")
            names=("$detected")
            break
        fi
    done
    [ ${#selected[@]} -eq 1 ] || fail "no buildpack applies to this app: add requirements.txt or pyproject.toml (Python), package.json (Node.js), index.html (a static site) or a Procfile, or set a buildpack"
else
    for ((i = 1; i <= count; i++)); do
        detect "/tmp/buildpacks/$i"
        status=$?
        [ $status -eq 0 ] || fail "buildpack $i does not apply to this app: its bin/detect exited with $status"
        selected+=("$i")
        names+=("$detected")
    done
fi

exports=()
for k in "${!selected[@]}"; do
    i=${selected[$k]}
    bp=/tmp/buildpacks/$i
    echo "-----> ${names[$k]} app detected"
    (
        # Earlier buildpacks hand their environment on through their `export` files.
        for file in "${exports[@]}"; do
            # shellcheck disable=SC1090
            . "$file"
        done
        cd "$build_dir" && exec "$bp/bin/compile" "$build_dir" "$cache_dir" "$env_dir"
    )
    status=$?
    [ $status -eq 0 ] || fail "buildpack $i (${names[$k]}): bin/compile failed with exit code $status"
    [ -f "$bp/export" ] && exports+=("$bp/export")
    if [ -e "$bp/bin/release" ]; then
        (cd "$build_dir" && "$bp/bin/release" "$build_dir") > "$out/release-$i.yml"
        status=$?
        [ $status -eq 0 ] || fail "buildpack $i (${names[$k]}): bin/release failed with exit code $status"
    fi
    printf '%s %s\n' "$i" "${names[$k]}" >> "$out/used"
done
exit 0
