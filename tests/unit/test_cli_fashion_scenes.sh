#!/usr/bin/env bash
# `wsss data fashion-scenes` end to end at a tiny size: layout, determinism, 'wsss data check'
# accepts the output, clear errors for bad options and a missing Fashion-MNIST directory.
# Needs Debian's dataset-fashion-mnist (make deps installs it); without it the test fails.
# Usage: test_cli_fashion_scenes.sh WSSS_BIN TMPDIR
set -u
WSSS=$1
T=$2
rm -rf "$T" && mkdir -p "$T"
fail=0
check() { if eval "$1"; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "FAIL: /usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist (or make deps)"
  exit 1
fi
"$WSSS" data fashion-scenes --out "$T/a" --train 5 --val 3 --size 48 --seed 4 --quiet > "$T/a.out" 2> "$T/a.err"
check '[ $? -eq 0 ]' "generate exits 0"
check '[ -z "$(cat "$T/a.err")" ]' "--quiet prints nothing on stderr"
check 'grep -q "train scenes by number of labels" "$T/a.out"' "prints the label histogram"
check '[ $(ls "$T/a/JPEGImages" | wc -l) -eq 8 ] && [ $(ls "$T/a/SegmentationClass" | wc -l) -eq 8 ]' "8 images and 8 masks"
check '[ $(wc -l < "$T/a/ImageSets/Segmentation/train.txt") -eq 5 ] && [ $(wc -l < "$T/a/ImageSets/Segmentation/val.txt") -eq 3 ]' "split lists"
check '[ $(wc -l < "$T/a/cls_labels.txt") -eq 8 ] && [ $(wc -l < "$T/a/classes.txt") -eq 11 ]' "cls_labels.txt and classes.txt"
check 'head -1 "$T/a/classes.txt" | grep -qx background' "background first"
"$WSSS" data fashion-scenes --out "$T/b" --train 5 --val 3 --size 48 --seed 4 --quiet > /dev/null 2>&1
check 'diff -r "$T/a" "$T/b" > /dev/null' "same seed, same bytes"
"$WSSS" data fashion-scenes --out "$T/c" --train 5 --val 3 --size 48 --seed 5 --quiet > /dev/null 2>&1
check '! cmp -s "$T/a/JPEGImages/train_000000.jpg" "$T/c/JPEGImages/train_000000.jpg"' "other seed, other image"
"$WSSS" data check "$T/a" > "$T/check.out" 2>&1
check '[ $? -eq 0 ]' "wsss data check accepts the dataset"
"$WSSS" data fashion-scenes --out "$T/d" --train 2 --val 0 --mnist-dir "$T/nowhere" --quiet > /dev/null 2> "$T/d.err"
rc=$?
check '[ $rc -eq 1 ] && grep -q "nowhere/train-images-idx3-ubyte.gz" "$T/d.err"' "missing Fashion-MNIST: exit 1 naming the file"
"$WSSS" data fashion-scenes --out "$T/e" --size abc > /dev/null 2> "$T/e.err"
check '[ $? -eq 2 ] && grep -qF "wsss data fashion-scenes: --size abc: not an integer (expected 16..4096)" "$T/e.err"' "bad option value: exit 2"
"$WSSS" data fashion-scenes --train 3 > /dev/null 2> "$T/f.err"
check '[ $? -eq 2 ] && grep -q "out is required" "$T/f.err"' "--out required"
"$WSSS" data fashion-scenes --out "$T/g" --train 4 --val 0 --size 48 --classes 9,2 --quiet > /dev/null 2>&1
check '[ $? -eq 0 ] && [ "$(tr "\n" , < "$T/g/classes.txt")" = "background,Bag,Trouser," ]' "--classes 9,2: classes.txt lists the subset in order"
"$WSSS" data fashion-scenes --out "$T/h" --classes 2,x > /dev/null 2> "$T/h.err"
check '[ $? -eq 2 ] && grep -q "class ids 1..10" "$T/h.err"' "--classes with a non-number: exit 2"
"$WSSS" data fashion-scenes --out "$T/h" --classes 2,11 > /dev/null 2> "$T/h.err"
check '[ $? -eq 2 ] && grep -q "class 11" "$T/h.err"' "--classes with an unknown id: exit 2 naming it"
"$WSSS" data fashion-scenes --out "$T/h" --classes 2,2 > /dev/null 2> "$T/h.err"
check '[ $? -eq 2 ] && grep -qF "wsss data fashion-scenes: --classes: class 2 listed twice" "$T/h.err"' "--classes with a repeated id: exit 2 naming it"
"$WSSS" data fashion-scenes --out "$T/h" --train 0 --val 0 > /dev/null 2> "$T/h.err"
check '[ $? -eq 2 ] && grep -q "nothing to generate" "$T/h.err" && [ ! -e "$T/h" ]' "nothing to generate: exit 2, nothing written"
[ $fail -ne 0 ] || [ "${WSSS_KEEP_TEST_TMP:-0}" = 1 ] || rm -rf "$T"
exit $fail
