# Shared set-up of the shell-driven CLI tests (tests/unit/*.sh), sourced after `set -u` with the
# script's own arguments: . "$(dirname "$0")/../cli_test_lib.sh"
# Sets WSSS (the CLI) and TMP (a fresh temp dir) from "$1" "$2" and defines:
#   check "what" command...   counts the command's success in pass, its failure in fails (and says FAIL)
#   has FILE TEXT             FILE contains TEXT (else prints the file)
#   rc_is WANT command...     the command exits with WANT (its output goes to $TMP/out, printed if not)
#   cli_summary NAME [NOTE]   prints "NAME: N passed, M failed [NOTE]"; fails if any check failed,
#                             else removes TMP (WSSS_KEEP_TEST_TMP=1 keeps it): the suite's disk use
#                             stays at what the tests running at once need
#   tiny_voc_py ROOT <<'EOF'  runs the here-document with /usr/bin/python3, ROOT as sys.argv[1] and
#                             tests/tiny_voc.py importable (a tiny VOC folder); a failure ends the script
# Not a test itself: it lives outside the globbed tests/unit and tests/e2e folders.
WSSS="$1"
TMP="$2"
rm -rf "$TMP" && mkdir -p "$TMP"
fails=0
pass=0
check() { # check "what" command...
    local what="$1"
    shift
    if "$@"; then pass=$((pass + 1)); else fails=$((fails + 1)); echo "FAIL: $what"; fi
}
has() { grep -qF -- "$2" "$1" || { echo "--- $1 lacks: $2"; cat "$1"; return 1; }; }
rc_is() { # rc_is WANT command... (stdout/stderr to $TMP/out)
    local want="$1"
    shift
    "$@" >"$TMP/out" 2>&1
    local rc=$?
    [ "$rc" = "$want" ] || { echo "--- exit $rc, expected $want: $*"; cat "$TMP/out"; return 1; }
}
cli_summary() { # cli_summary NAME [NOTE]
    echo "$1: $pass passed, $fails failed${2:+ $2}"
    [ "$fails" -eq 0 ] || return 1
    [ "${WSSS_KEEP_TEST_TMP:-0}" = 1 ] || rm -rf "$TMP"
}
TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tiny_voc_py() { # tiny_voc_py ROOT <<'EOF' ... EOF
    PYTHONPATH="$TESTS_DIR" /usr/bin/python3 - "$@" || { echo "FAIL: cannot build $1 with /usr/bin/python3 + PIL"; exit 1; }
}
# a JSON value of a file, by a Python expression on `j`
json_is() { # json_is FILE EXPR WANT
    /usr/bin/python3 - "$@" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
got = eval(sys.argv[2], {"j": j, "json": json})
ok = str(got) == sys.argv[3]
if not ok:
    print("--- %s: %s is %r, want %s" % (sys.argv[1], sys.argv[2], got, sys.argv[3]))
sys.exit(0 if ok else 1)
EOF
}
# a safetensors file's header as JSON: python expression on `h` (tensors) and `m` (metadata)
st_is() { # st_is FILE EXPR WANT
    /usr/bin/python3 - "$@" <<'EOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
h = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])
m = h.pop("__metadata__", {})
got = eval(sys.argv[2], {"h": h, "m": m})
ok = str(got) == sys.argv[3]
if not ok:
    print("--- %s: %s is %r, want %s" % (sys.argv[1], sys.argv[2], got, sys.argv[3]))
sys.exit(0 if ok else 1)
EOF
}
