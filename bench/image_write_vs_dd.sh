#!/usr/bin/env bash
# Benchmark: Lifeboat's image write into the recovery partition's NTFS volume (image/ntfs_volume.h,
# through bench/write_image.cpp: mount, allocate, write, flush, unmount) against `dd` of the same
# bytes into the same partition (bs=8M, conv=fsync), in the same run, alternating, with the page
# cache dropped and the partition reformatted (untimed) before each side. Prints the throughput
# ratio lifeboat / dd (target >= 0.9). Needs root and a build (./run test builds it).
#   bench/image_write_vs_dd.sh [--image-mb 500] [--rounds 5]
set -euo pipefail
cd "$(dirname "$0")/.."
image_mb=500 rounds=5
while [ $# -gt 0 ]; do
  case $1 in --image-mb) image_mb=$2; shift 2 ;; --rounds) rounds=$2; shift 2 ;; *) echo "unknown $1" >&2; exit 2 ;; esac
done
work=$(mktemp -d /var/tmp/lifeboat-bench.XXXXXX)
loop=
cleanup() { [ -n "$loop" ] && losetup -d "$loop"; rm -rf "$work"; }
trap cleanup EXIT

echo "making a ${image_mb} MB test image and a 16 GiB disk with a 2 GiB Lifeboat partition ..."
tests/fixtures/make-test-wim "$work/image.wim" --size-mb "$image_mb" --compress none
tests/fixtures/make-windows-disk "$work/disk.img" --label gpt --disk-size 16G --windows-size 12000M --fill-mb 200
build/bin/lifeboat-agent disk prepare "$work/disk.img" --size 2G --state-dir "$work/state" >/dev/null
read -r start size < <(sfdisk --json "$work/disk.img" | tr -d ' \n' |
  grep -o '"start":[0-9]*,"size":[0-9]*,"type":"DE94BBA4[^}]*"name":"Lifeboat"' |
  sed 's/"start":\([0-9]*\),"size":\([0-9]*\).*/\1 \2/')
# Fill the partition once so that neither side pays for allocating a sparse image's blocks.
dd if=/dev/zero of="$work/disk.img" bs=8M seek=$((start * 512)) count=$((size * 512 / 8388608)) \
  oflag=seek_bytes conv=notrunc status=none
loop=$(losetup --find --show --offset $((start * 512)) --sizelimit $((size * 512)) "$work/disk.img")
bytes=$(stat -c %s "$work/image.wim")

fresh() { mkntfs -Q -q -L Lifeboat -p "$start" -H 255 -S 63 "$loop"; sync; echo 3 > /proc/sys/vm/drop_caches; }
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
total_dd=0 total_lb=0
for i in $(seq 1 "$rounds"); do
  fresh; t_dd=$(seconds dd if="$work/image.wim" of="$loop" bs=8M conv=fsync status=none)
  fresh; t_lb=$(seconds build/bin/lifeboat-bench-write "$loop" "$work/image.wim")
  printf 'round %d: dd %.2f s (%.0f MB/s), lifeboat %.2f s (%.0f MB/s)\n' "$i" "$t_dd" \
    "$(echo "$bytes / $t_dd / 1000000" | bc -l)" "$t_lb" "$(echo "$bytes / $t_lb / 1000000" | bc -l)"
  total_dd=$(echo "$total_dd + $t_dd" | bc -l); total_lb=$(echo "$total_lb + $t_lb" | bc -l)
done
# The written copy must be the image, byte for byte (ntfscat, not our code).
cmp <(ntfscat "$loop" /Recovery/Lifeboat/bench/boot.wim) "$work/image.wim"
printf 'image write throughput, lifeboat / dd, over %d rounds of %d bytes: %.2f (target >= 0.9)\n' \
  "$rounds" "$bytes" "$(echo "$total_dd / $total_lb" | bc -l)"
