#!/usr/bin/env bash
# The include graph of the library's modules (the folders under src/), and the two rules it keeps:
#   1. no module includes another module's private header, and tools/ includes no header of src/;
#   2. no cycle between modules.
#
# Headers and who may include them:
#   include/wsss/H.h        public: anyone. It belongs to the module that implements it (the folder
#                           of src/**/H.c, else the folder that defines most of the functions it
#                           declares), so an include of it is an edge to that module.
#   src/M/**/X.h            M's internal interface: other modules of the library may include it
#                           (e.g. ops calls the kernels of backend), tools/ may not.
#   src/M/**/*_internal.h,  private to M: only files under src/M/ may include them.
#   src/M/**/*_impl.h
# tests/, fuzz/ and bench/ are white-box and not checked.
#
# Prints "module -> module: via headers" per edge, then the violations; exits 1 if there is any
# (private include or cycle), 0 otherwise. Usage: scripts/include_graph.sh [REPO_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
export LC_ALL=C

# Quoted includes of a file, one per line.
includes_of() { sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"; }
# The top folder under src/ of a path src/M/...
module_of() { local p=${1#src/}; echo "${p%%/*}"; }

# Functions defined (not static) in src/, as "name module".
defs=$(find src -name '*.c' | sort | while read -r f; do
    m=$(module_of "$f")
    sed -n 's/^[A-Za-z_][A-Za-z0-9_ *]*[ *]\(wsss_[A-Za-z0-9_]*\)(.*[^;]$/\1/p' "$f" | grep -v '^$' |
        sed "s/\$/ $m/"
done | sort -u)

# owner of include/wsss/H.h
declare -A owner
for h in include/wsss/*.h; do
    b=$(basename "$h" .h)
    impl=$(find src -name "$b.c")
    if [ "$(printf '%s\n' "$impl" | grep -c .)" = 1 ]; then
        owner[$b]=$(module_of "$impl")
        continue
    fi
    # the module defining most of the functions the header declares
    o=$(grep -v '^[[:space:]]*\(/\*\|\*\|#\)' "$h" | grep -o 'wsss_[A-Za-z0-9_]*[[:space:]]*(' | tr -d ' (' | sort -u |
        join - <(printf '%s\n' "$defs") | awk '{print $2}' | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
    if [ -z "$o" ]; then
        echo "include_graph: $h: no module implements it (no src/**/$b.c, no function of it defined in src/)" >&2
        exit 1
    fi
    owner[$b]=$o
done

edges=$(mktemp)
violations=$(mktemp)
trap 'rm -f "$edges" "$violations"' EXIT

# edge FROM_MODULE INCLUDE_TEXT INCLUDER
classify() {
    local from=$1 inc=$2 file=$3
    case "$inc" in
    wsss/*.h)
        local b
        b=$(basename "$inc" .h)
        if [ -f "include/$inc" ]; then
            if [ "${owner[$b]}" != "$from" ]; then echo "$from ${owner[$b]} $inc" >>"$edges"; fi
        elif [ -f "src/$inc" ] && [ "$from" != wsss ]; then
            echo "$file includes src/$inc, a private header of src/wsss" >>"$violations"
        fi
        ;;
    */*)
        local to=${inc%%/*}
        [ -f "src/$inc" ] || return 0
        [ "$to" = "$from" ] && return 0
        if [ "$from" = tools ]; then
            echo "$file includes src/$inc (tools use only the public headers of include/wsss)" >>"$violations"
        elif [[ $inc == *_internal.h || $inc == *_impl.h ]]; then
            echo "$file includes src/$inc, a private header of src/$to" >>"$violations"
        else
            echo "$from $to $inc" >>"$edges"
        fi
        ;;
    esac
}

while read -r f; do
    m=$(module_of "$f")
    while read -r inc; do classify "$m" "$inc" "$f"; done < <(includes_of "$f")
done < <(find src -name '*.c' -o -name '*.h' | sort)
for h in include/wsss/*.h; do
    m=${owner[$(basename "$h" .h)]}
    while read -r inc; do classify "$m" "$inc" "$h"; done < <(includes_of "$h")
done
for f in tools/*.c tools/*.h; do
    while read -r inc; do classify tools "$inc" "$f"; done < <(includes_of "$f")
done

echo "include graph of src/ modules (module -> module it includes: via headers):"
sort -u "$edges" | awk '$1 != "tools" {
    k = $1 " -> " $2
    if (!(k in via)) { order[++n] = k; via[k] = $3 } else via[k] = via[k] ", " $3
} END { for (i = 1; i <= n; i++) print "  " order[i] ": " via[order[i]] }'
echo "tools -> $(awk '$1 == "tools" {print $2}' "$edges" | sort -u | tr '\n' ' ')"

status=0
if [ -s "$violations" ]; then
    echo "private headers included from outside their module:"
    sort -u "$violations" | sed 's/^/  /'
    status=1
else
    echo "private headers included from outside their module: none"
fi
# tsort fails on a cycle and names its members on stderr
if cycle=$(awk '$1 != "tools" {print $1, $2}' "$edges" | sort -u | tsort 2>&1 >/dev/null); [ -z "$cycle" ]; then
    echo "cycles between modules: none"
else
    # tsort prints one loop per "input contains a loop:" line, then its members
    echo "cycles between modules (the modules of each loop):"
    printf '%s\n' "$cycle" | sed 's/^tsort: //' | awk '/input contains a loop/ { if (l) print "  " l; l = ""; next }
        { l = l (l ? ", " : "") $0 } END { if (l) print "  " l }'
    status=1
fi
exit $status
