#!/usr/bin/env bash
# The README's front door on a bare machine: build a minimal Debian 12 root (debootstrap
# --variant=minbase bookworm), put this repository's committed HEAD in it (/root/wsss) and, in a
# chroot as root, run what a new user runs: `make test`, then `WSSS_QUICK=1 make demo` (the full
# demo is too long for a check). A package the tests or the demo need that the Makefile does not
# install fails here even when every developer machine happens to have it.
# Prints how long each step took; exits non-zero when any step fails.
#
# Usage: bash scripts/fresh_check.sh          (as root: debootstrap, mount and chroot need it)
# Environment:
#   WSSS_FRESH_MIRROR=URL   Debian mirror (default: the first bookworm URI of this machine's apt sources)
#   WSSS_FRESH_DIR=DIR      where the temporary root is made (default /var/tmp)
#   WSSS_FRESH_KEEP=1       keep the root afterwards (default: removed)
# Uncommitted changes are not tested (a warning lists them). proc, sys, dev, dev/pts and dev/shm
# are mounted in the root for the chroot (dev is a tmpfs of its own, not the host's); they are
# unmounted on every exit, interrupts included, and the root is removed only when nothing is left
# mounted in it.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SUITE=bookworm
KEEP=${WSSS_FRESH_KEEP:-0}
say() { echo "fresh-check: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, mount and chroot need it); try: sudo make fresh-check"
for tool in debootstrap git chroot setsid mount umount; do
    command -v "$tool" >/dev/null || die "'$tool' not found (make fresh-check installs debootstrap and git)"
done

# The first deb URI serving $SUITE in this machine's apt sources, read in apt's order: one-line
# entries (sources.list, *.list) and deb822 stanzas (*.sources: Types/URIs/Suites/Enabled).
mirror_from_apt() {
    local f uri
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
        [ -f "$f" ] || continue
        case "$f" in
        *.list)
            uri=$(awk -v suite="$SUITE" '
                { sub(/#.*/, "") }
                $1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                              if ($(i + 1) == suite) { print $i; exit } }' "$f") ;;
        *.sources)
            uri=$(awk -v suite="$SUITE" '
                function flush() {
                    if (deb && on && has && uri != "" && !found) { print uri; found = 1; exit }
                    deb = 0; on = 1; has = 0; uri = ""
                }
                BEGIN { on = 1 }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
                tolower($1) == "uris:" { uri = $2 }
                tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
                tolower($1) == "enabled:" { on = (tolower($2) != "no") }
                END { flush() }' "$f") ;;
        *) uri="" ;;
        esac
        if [ -n "$uri" ]; then echo "$uri"; return; fi
    done
}
MIRROR=${WSSS_FRESH_MIRROR:-$(mirror_from_apt)}
[ -n "$MIRROR" ] || die "no Debian '$SUITE' URI in /etc/apt/sources.list{,.d/*.list,.d/*.sources}; set WSSS_FRESH_MIRROR=URL"

# (safe.directory: under sudo the repository belongs to another user)
git_repo() { git -c safe.directory="$REPO" -C "$REPO" "$@"; }
COMMIT=$(git_repo rev-parse HEAD)
dirty=$(git_repo status --porcelain)
if [ -n "$dirty" ]; then
    say "warning: the work tree has uncommitted changes; they are NOT tested (only commit ${COMMIT:0:12} is):"
    echo "$dirty" | head -20 >&2
fi

BASE=${WSSS_FRESH_DIR:-/var/tmp}
mkdir -p "$BASE"
ROOT=$(cd "$(mktemp -d "$BASE/wsss-fresh.XXXXXX")" && pwd -P)
chmod 755 "$ROOT" # the root's "/": apt's unprivileged _apt user must be able to traverse it
CHILD=""    # the running step's process (and session) id
CURRENT=""  # ... and its name
RESULTS=()  # "name  seconds  status" of every finished step
FAILED=0

summary() { # summary EXIT_CODE
    if [ "${#RESULTS[@]}" != 0 ]; then
        say "summary (commit ${COMMIT:0:12}, mirror $MIRROR):"
        printf 'fresh-check:   %s\n' "${RESULTS[@]}" >&2
    fi
    if [ -n "$CURRENT" ]; then say "  cut short during: $CURRENT"; fi
    if [ "$1" = 0 ]; then
        say "ok: make test and WSSS_QUICK=1 make demo pass on a bare $SUITE root"
    else
        say "FAILED (exit $1): the README's commands did not both pass on a bare $SUITE root"
    fi
}

# Mount points under the root, deepest first (whoever mounted them: us, or debootstrap's own).
mounts_under_root() { awk -v r="$ROOT/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r; }
cleanup() {
    local rc=$? pid p left
    trap - EXIT INT TERM
    summary "$rc"
    # the running step's process group, then anything else whose root is the chroot (daemons a
    # package started) so that nothing keeps the mounts busy
    if [ -n "$CHILD" ]; then
        kill -TERM -- "-$CHILD" 2>/dev/null || true
        sleep 2
    fi
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] || continue
        pid=${p#/proc/}
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ -n "$CHILD" ]; then wait "$CHILD" 2>/dev/null || true; fi
    for m in $(mounts_under_root); do umount "$m" 2>/dev/null || umount -l "$m" || true; done
    left=$(mounts_under_root)
    if [ -n "$left" ]; then
        say "still mounted, $ROOT left in place: $left"
        [ "$rc" != 0 ] || rc=1
    elif [ "$KEEP" = 1 ]; then
        say "kept the root: $ROOT (chroot $ROOT bash)"
    else
        say "removing $ROOT"
        rm -rf --one-file-system "$ROOT"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# step NAME COMMAND...: run COMMAND in a session of its own (so that an interrupt can end all of it
# and the traps run at once, not after it), print and record its time and status.
step() {
    local name=$1 t0 rc=0 status=ok
    shift
    say "== $name"
    t0=$(date +%s)
    CURRENT=$name
    setsid "$@" &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=""
    CURRENT=""
    [ "$rc" = 0 ] || { status="FAILED (exit $rc)"; FAILED=1; }
    RESULTS+=("$(printf '%-24s %5d s  %s' "$name" $(($(date +%s) - t0)) "$status")")
    say "$name: $status"
    return "$rc"
}

# a login shell in the bare root as a new user has it: root, none of our environment variables
IN_ROOT=(chroot "$ROOT" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}"
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -lc)

say "commit ${COMMIT:0:12} of $REPO; bare $SUITE root in $ROOT from $MIRROR"
include=()
# an https mirror needs the CA certificates inside (plumbing for the mirror, not a project dependency)
case "$MIRROR" in https:*) include=(--include=ca-certificates) ;; esac
step "debootstrap minbase" debootstrap --variant=minbase "${include[@]}" "$SUITE" "$ROOT" "$MIRROR" || exit 1

mkdir -p "$ROOT/root/wsss"
# shellcheck disable=SC2016 # the inner script's own arguments
step "checkout" bash -c 'git -C "$1" init -q && git -C "$1" -c safe.directory="$2" fetch -q "$2" "$3" &&
    git -C "$1" checkout -q --detach FETCH_HEAD' _ "$ROOT/root/wsss" "$REPO" "$COMMIT" || exit 1

mount -t proc proc "$ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys"
# /dev of its own (a tmpfs with the usual nodes, a private devpts, a fresh /dev/shm), not a bind of
# the host's: a stray `rm -rf` of the root can then never delete this machine's device nodes
mount -t tmpfs -o mode=755,nosuid tmpfs "$ROOT/dev"
for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
    IFS=: read -r name major minor <<<"$node"
    mknod -m 666 "$ROOT/dev/$name" c "$major" "$minor"
done
mkdir "$ROOT/dev/pts" "$ROOT/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$ROOT/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$ROOT/dev/shm"
ln -s pts/ptmx "$ROOT/dev/ptmx"
ln -s /proc/self/fd "$ROOT/dev/fd"
for i in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${i%%:*}" "$ROOT/dev/${i#*:}"; done

# `make` itself is the one thing a user installs by hand before the README's commands (README,
# "Quick start"); everything else must come from the Makefile.
step "apt-get install make" "${IN_ROOT[@]}" 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q make' || exit 1
step "make test" "${IN_ROOT[@]}" 'cd /root/wsss && make test' || true
step "WSSS_QUICK=1 make demo" "${IN_ROOT[@]}" 'cd /root/wsss && WSSS_QUICK=1 make demo' || true
[ "$FAILED" = 0 ] # the verdict and the times: cleanup's summary
