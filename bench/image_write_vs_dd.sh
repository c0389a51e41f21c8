#!/usr/bin/env bash
# Benchmark: Lifeboat's image write into the recovery partition's NTFS volume (image/ntfs_volume.h,
# through bench/write_image.cpp: mount, allocate, write, flush, unmount) against `dd` of the same
# bytes into the same partition, in the same run, alternating, with the page cache dropped and the
# partition reformatted (untimed) before each side. The baseline is dd with direct I/O
# (oflag=direct bs=8M: the device's floor, steady on a busy machine); buffered dd with fsync is
# timed alongside and printed, not compared (it swung 0.41 to 1.48 s between runs). Lifeboat's
# write also hashes the source as it reads it (apply reads an image once: the write proves its
# bytes), so the same by hand is timed too: dd direct with the source teed through
# `openssl dgst -sha256`. Prints each round, and the throughput ratios lifeboat / dd direct and
# lifeboat / dd direct hashing on the way, with min/median/max per round (target >= 0.9).
# Needs root and a build (./run test builds it).
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
source bench/lib.sh

echo "making a ${image_mb} MB test image and a 16 GiB disk with a 2 GiB Lifeboat partition ..."
tests/fixtures/make-test-wim "$work/image.wim" --size-mb "$image_mb" --compress none
prepared_disk "$work/disk.img" "$work/state"
loop=$(losetup --find --show --offset $((start * 512)) --sizelimit $((size * 512)) "$work/disk.img")
bytes=$(stat -c %s "$work/image.wim")

fresh() { mkntfs -Q -q -L Lifeboat -p "$start" -H 255 -S 63 "$loop"; sync; echo 3 > /proc/sys/vm/drop_caches; }
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
# dd direct with the source hashed on the way, as one careful pass by hand.
dd_hashing() {
  dd if="$work/image.wim" bs=8M status=none | tee >(openssl dgst -sha256 >/dev/null) |
    dd of="$loop" bs=8M iflag=fullblock oflag=direct conv=fsync status=none
  wait $!
}
total_dd=0 total_lb=0 ratios=() hashing_ratios=()
mbs() { echo "$bytes / $1 / 1000000" | bc -l; }
for i in $(seq 1 "$rounds"); do
  fresh; t_dd=$(seconds dd if="$work/image.wim" of="$loop" bs=8M oflag=direct conv=fsync status=none)
  fresh; t_lb=$(seconds build/bin/lifeboat-bench-write "$loop" "$work/image.wim")
  fresh; t_hash=$(seconds dd_hashing)
  fresh; t_buf=$(seconds dd if="$work/image.wim" of="$loop" bs=8M conv=fsync status=none)
  printf 'round %d: dd direct %.2f s (%.0f MB/s), lifeboat %.2f s (%.0f MB/s), dd direct hashing %.2f s (%.0f MB/s), buffered dd %.2f s (%.0f MB/s)\n' \
    "$i" "$t_dd" "$(mbs "$t_dd")" "$t_lb" "$(mbs "$t_lb")" "$t_hash" "$(mbs "$t_hash")" "$t_buf" "$(mbs "$t_buf")"
  total_dd=$(echo "$total_dd + $t_dd" | bc -l); total_lb=$(echo "$total_lb + $t_lb" | bc -l)
  ratios+=("$(echo "$t_dd / $t_lb" | bc -l)") hashing_ratios+=("$(echo "$t_hash / $t_lb" | bc -l)")
done
# The copy Lifeboat wrote must be the image, byte for byte (ntfscat, not our code).
fresh; build/bin/lifeboat-bench-write "$loop" "$work/image.wim" >/dev/null
cmp <(ntfscat "$loop" /Recovery/Lifeboat/bench/boot.wim) "$work/image.wim"
printf 'image write throughput, lifeboat / dd direct, over %d rounds of %d bytes: %.2f (per round: %s)\n' \
  "$rounds" "$bytes" "$(echo "$total_dd / $total_lb" | bc -l)" "$(spread "${ratios[@]}")"
printf 'image write throughput, lifeboat / dd direct hashing the source on the way: %s (target >= 0.9)\n' \
  "$(spread "${hashing_ratios[@]}")"
