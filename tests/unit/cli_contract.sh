#!/usr/bin/env bash
# The CLI contract (tools/cli.h) of every command `wsss --help` lists, and of every subcommand a
# command's help lists, so a new command is covered without an edit here:
#   --help: exit 0, "usage: wsss CMD" on stdout, nothing on stderr; `wsss help CMD` prints the same;
#     no empty default ("(default )") and no test-only option in it;
#   an unknown option: exit 2, "wsss CMD: ... '--no-such-option'";
#   each required option left out (the other required ones given): exit 2, the option named;
#   a required positional argument left out: exit 2, the argument named;
#   each integer option's range from its help ("LO..HI") exceeded on both sides and by a value no
#     int holds, and each number option's range ("LO <= F < HI") exceeded: exit 2,
#     "wsss CMD: --OPT VALUE: out of range (expected RANGE)";
#   every line on stderr of those failures starts with the one prefix "wsss CMD: ";
#   shared options keep one help line everywhere (--quiet, --brief, --run); --out is always a DIR
#   and --samples always a count N.
# Usage: bash cli_contract.sh <path-to-wsss> <tmpdir>
set -u
. "$(dirname "$0")/../cli_test_lib.sh"

# every stderr line of the last rc_is carries the prefix, and the output holds each TEXT
says() { # says CMD TEXT...
    local cmd="$1" t
    shift
    [ -s "$TMP/out" ] || { echo "--- no message"; return 1; }
    if grep -vq "^wsss $cmd: " "$TMP/out"; then echo "--- a line without the prefix 'wsss $cmd: '"; cat "$TMP/out"; return 1; fi
    for t in "$@"; do has "$TMP/out" "$t" || return 1; done
}

# ---- the commands ----
"$WSSS" --help >"$TMP/top" 2>&1
check "wsss --help: exit 0" test $? -eq 0
commands=()
for c in $(awk '/^commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }' "$TMP/top"); do
    commands+=("$c")
    "$WSSS" "$c" --help >"$TMP/h" 2>/dev/null
    for s in $(awk '/^subcommands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }' "$TMP/h"); do commands+=("$c $s"); done
done
check "at least 14 commands found (got ${#commands[@]}: ${commands[*]})" test "${#commands[@]}" -ge 14

n_int=0 n_num=0 n_req=0 n_pos=0
: >"$TMP/shared"
for cmd in "${commands[@]}"; do
    read -r -a w <<<"$cmd"
    help="$TMP/help_${cmd// /_}"

    # --help and `wsss help CMD`
    "$WSSS" "${w[@]}" --help >"$help" 2>"$TMP/help.err"
    check "$cmd --help: exit 0" test $? -eq 0
    check "$cmd --help: usage on stdout" grep -q "^usage: wsss $cmd " "$help"
    check "$cmd --help: nothing on stderr" test ! -s "$TMP/help.err"
    "$WSSS" help "${w[@]}" >"$TMP/help2" 2>&1
    check "wsss help $cmd: exit 0" test $? -eq 0
    check "wsss help $cmd: the same text" cmp -s "$help" "$TMP/help2"
    check "$cmd --help: no empty default" bash -c "! grep -E 'default ?[,)]' '$help'"
    check "$cmd --help: no test-only option" bash -c "! grep -iE '^  --[a-z-]+ .*tests?:' '$help'"

    # an unknown option
    check "$cmd --no-such-option: exit 2" rc_is 2 "$WSSS" "${w[@]}" --no-such-option
    check "$cmd --no-such-option: named" says "$cmd" "'--no-such-option'"

    # required options and positional arguments, from the help
    req=($(grep -E '^  --[a-z0-9-]+ [^ ]+ .*\(required' "$help" | awk '{ print substr($1, 3) }'))
    for r in ${req[@]+"${req[@]}"}; do
        args=()
        for o in "${req[@]}"; do [ "$o" = "$r" ] || args+=(--"$o" "$TMP/dummy"); done
        check "$cmd without --$r: exit 2" rc_is 2 "$WSSS" "${w[@]}" ${args[@]+"${args[@]}"}
        check "$cmd without --$r: named" says "$cmd" "--$r" "required"
        n_req=$((n_req + 1))
    done
    all_req=()
    for o in ${req[@]+"${req[@]}"}; do all_req+=(--"$o" "$TMP/dummy"); done
    for p in $(head -1 "$help" | sed -e 's/(.*//' -e "s/^usage: wsss $cmd //" -e 's/\[[^]]*\]//g'); do
        check "$cmd without $p: exit 2" rc_is 2 "$WSSS" "${w[@]}" ${all_req[@]+"${all_req[@]}"}
        check "$cmd without $p: named" says "$cmd" "${p%...}"
        n_pos=$((n_pos + 1))
    done

    # integer ranges "(... LO..HI, ...)": beyond both ends and beyond any int
    while read -r name lo hi; do
        for v in $((hi + 1)) $((lo - 1)) 99999999999; do
            check "$cmd --$name $v: exit 2" rc_is 2 "$WSSS" "${w[@]}" --"$name" "$v"
            check "$cmd --$name $v: named" says "$cmd" "--$name $v: out of range (expected $lo..$hi)"
        done
        n_int=$((n_int + 1))
    done < <(sed -nE 's/^  --([a-z0-9-]+) [^ ]+ .*[(, ](-?[0-9]+)\.\.(-?[0-9]+)[,)].*/\1 \2 \3/p' "$help")

    # number ranges "(... LO <= F < HI, ...)": above and below
    while read -r name lo op1 meta op2 hi; do
        for v in $(awk -v h="$hi" -v l="$lo" 'BEGIN { print 2 * h + 1, l - 1 }'); do
            check "$cmd --$name $v: exit 2" rc_is 2 "$WSSS" "${w[@]}" --"$name" "$v"
            check "$cmd --$name $v: named" says "$cmd" "--$name $v: out of range (expected $lo $op1 $meta $op2 $hi)"
        done
        n_num=$((n_num + 1))
    done < <(sed -nE 's/^  --([a-z0-9-]+) [^ ]+ .*[(, ](-?[0-9.e+]+) (<=?) ([A-Z]+) (<=?) (-?[0-9.e+]+)[,)].*/\1 \2 \3 \4 \5 \6/p' "$help")

    # one vocabulary: the shared options' help lines, --out's and --samples' metavars
    grep -E '^  --(quiet|brief|run) ' "$help" | sed "s/^/$cmd|/" >>"$TMP/shared"
    if grep -qE '^  --out ' "$help"; then check "$cmd --out is a DIR" grep -qE '^  --out DIR ' "$help"; fi
    if grep -qE '^  --samples ' "$help"; then check "$cmd --samples is a count N" grep -qE '^  --samples N ' "$help"; fi
done

for o in quiet brief run; do
    n=$(grep -E "^[^|]*\|  --$o " "$TMP/shared" | cut -d'|' -f2 | sort -u | wc -l)
    check "--$o: one help line in every command (got $n)" test "$n" -eq 1
done
check "--quiet is shared by at least 8 commands" test "$(grep -c '|  --quiet ' "$TMP/shared")" -ge 8
check "required options found ($n_req)" test "$n_req" -ge 10
# (data check's ROOT became optional with COCO's --coco-annotations form; coco_cli.sh checks it alone)
check "required arguments found ($n_pos)" test "$n_pos" -ge 3
check "integer options found ($n_int)" test "$n_int" -ge 30
check "number options found ($n_num)" test "$n_num" -ge 30

# the example of the issue: a bad value is named once, with one prefix
check "train-cls --batch -3: exit 2" rc_is 2 "$WSSS" train-cls --data "$TMP" --batch -3
check "train-cls --batch -3: one prefix, the value and the range" says train-cls \
    "wsss train-cls: --batch -3: out of range (expected 1..4096)"
check "not an integer: exit 2" rc_is 2 "$WSSS" train-seg --data "$TMP" --epochs two
check "not an integer: named" says train-seg "--epochs two: not an integer (expected 1..1000000)"
check "a flag with a value: exit 2" rc_is 2 "$WSSS" cam --data "$TMP" --quiet=1
check "a flag with a value: named" says cam "--quiet takes no value"
check "a missing value: exit 2" rc_is 2 "$WSSS" eval-cam --data
check "a missing value: named" says eval-cam "--data needs a value"
check "an extra argument: exit 2" rc_is 2 "$WSSS" eval-cam --data "$TMP" extra
check "an extra argument: named" says eval-cam "unexpected argument 'extra'"
check "wsss help NOPE: exit 2" rc_is 2 "$WSSS" help nope
check "wsss help NOPE: named" has "$TMP/out" "unknown command 'nope'"

cli_summary cli_contract "(${#commands[@]} commands)"
