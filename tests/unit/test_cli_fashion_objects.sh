#!/usr/bin/env bash
# `wsss data fashion-objects` end to end at a tiny size: ImageFolder layout and class folders, the
# per-class counts it prints, same seed same bytes, --classes, --label-noise (the same images, a
# share of the train ones in a wrong class folder), refusing to overwrite a split, and
# clear errors (exit 1 naming the file or pool, exit 2 for bad options) with one message prefix.
# Usage: test_cli_fashion_objects.sh WSSS_BIN TMPDIR
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../cli_test_lib.sh"
check "dataset-fashion-mnist installed (make deps)" test -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

gen() { "$WSSS" data fashion-objects --size 32 --quiet "$@"; }
check "generate exits 0" rc_is 0 gen --out "$TMP/a" --train 30 --val 10 --seed 3
cp "$TMP/out" "$TMP/a.out"
check "--quiet: only the per-class lines" test "$(wc -l < "$TMP/a.out")" -eq 2
check "train count line" has "$TMP/a.out" "train images by class: t-shirt-top:"
check "30 train and 10 val JPEGs" test "$(find "$TMP/a/train" -name '*.jpg' | wc -l)" -eq 30 -a \
    "$(find "$TMP/a/val" -name '*.jpg' | wc -l)" -eq 10
# every class folder is one of the spec's names; the printed counts are the folders' file counts
names=" t-shirt-top trouser pullover dress coat sandal shirt sneaker bag ankle-boot "
bad=0
for d in "$TMP"/a/train/* "$TMP"/a/val/*; do
    case "$names" in *" $(basename "$d") "*) ;; *) echo "unexpected folder $d"; bad=1 ;; esac
done
check "class folder names" test $bad -eq 0
counted=$(for d in "$TMP"/a/train/*; do printf ' %s:%s' "$(basename "$d")" "$(ls "$d" | wc -l)"; done | tr ' ' '\n' | sort | tr '\n' ' ')
printed=$(grep '^train' "$TMP/a.out" | cut -d: -f2- | tr ' ' '\n' | grep -v ':0$' | sed 's/^/ /' | tr -d ' ' | sort | tr '\n' ' ')
check "printed counts match the folders" test "$(echo $counted)" = "$(echo $printed)"
check "ids are <split>_<index>.jpg" test -n "$(find "$TMP/a/val" -name 'val_000009.jpg')"
check "no .partial left" test ! -e "$TMP/a/train.partial" -a ! -e "$TMP/a/val.partial"

check "same seed again" rc_is 0 gen --out "$TMP/b" --train 30 --val 10 --seed 3
check "same seed, same bytes" diff -r "$TMP/a" "$TMP/b"
check "other seed" rc_is 0 gen --out "$TMP/c" --train 30 --val 10 --seed 4
f=$(cd "$TMP/a" && find train -name 'train_000000.jpg')
check "other seed, other image" bash -c "! cmp -s '$TMP/a/$f' '$TMP/c/$f'"

# --label-noise: the same images, a share of the train ones in another class's folder, val untouched
check "--label-noise 0.3" rc_is 0 gen --out "$TMP/n" --train 30 --val 10 --seed 3 --label-noise 0.3
moved_images() { # prints the number of train ids in another folder; fails if any image's bytes differ
    local moved=0 f g
    for f in "$TMP"/a/train/*/*.jpg; do
        g=$(find "$TMP/n/train" -name "$(basename "$f")")
        cmp -s "$f" "$g" || { echo "--- $f: other bytes in the noisy set" >&2; return 1; }
        [ "$(basename "$(dirname "$f")")" = "$(basename "$(dirname "$g")")" ] || moved=$((moved + 1))
    done
    echo "$moved"
}
moved=$(moved_images)
check "--label-noise: same images, some moved (30 images, p 0.3: $moved moved)" test -n "$moved" -a "${moved:-0}" -ge 1 \
    -a "${moved:-30}" -le 19
check "--label-noise: val untouched" diff -r "$TMP/a/val" "$TMP/n/val"
check "--label-noise 1.5: exit 2" rc_is 2 gen --out "$TMP/d" --label-noise 1.5

check "existing split: exit 1" rc_is 1 gen --out "$TMP/a" --train 5 --val 0
check "names the split, one prefix" has "$TMP/out" "wsss data fashion-objects: $TMP/a/train already exists"
check "too many train images: exit 1" rc_is 1 gen --out "$TMP/d" --train 50001 --val 0
check "names the pool" has "$TMP/out" "training file items 0..49999) has 50000 items"
check "missing Fashion-MNIST: exit 1" rc_is 1 gen --out "$TMP/d" --train 2 --val 0 --mnist-dir "$TMP/nowhere"
check "names the file" has "$TMP/out" "nowhere/train-images-idx3-ubyte.gz"
check "bad --size: exit 2" rc_is 2 gen --out "$TMP/d" --size abc
check "--train -5: exit 2" rc_is 2 gen --out "$TMP/d" --train -5
check "--out required: exit 2" rc_is 2 "$WSSS" data fashion-objects --train 3
check "--classes 2,x: exit 2" rc_is 2 gen --out "$TMP/d" --classes 2,x
check "names the list" has "$TMP/out" 'wsss data fashion-objects: --classes "2,x": expected up to 10'
check "--classes 2,11: exit 2" rc_is 2 gen --out "$TMP/d" --classes 2,11
check "names the class" has "$TMP/out" "wsss data fashion-objects: --classes: class 11, expected a Fashion-MNIST class id 1..10"
check "--size 8: exit 2" rc_is 2 gen --out "$TMP/d" --size 8
check "names the value and the range" has "$TMP/out" "wsss data fashion-objects: --size 8: out of range (expected 16..4096)"
check "--fill-max 1.5: exit 2" rc_is 2 gen --out "$TMP/d" --fill-max 1.5
check "nothing written on errors" test ! -e "$TMP/d"

check "--classes 9,2" rc_is 0 gen --out "$TMP/g" --train 40 --val 0 --classes 9,2
check "only bag and trouser folders" test "$(ls "$TMP/g/train" | tr '\n' ,)" = "bag,trouser,"
check "help lists the command" bash -c "'$WSSS' data --help | grep -q fashion-objects"
cli_summary test_cli_fashion_objects
