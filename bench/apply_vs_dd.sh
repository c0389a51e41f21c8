#!/usr/bin/env bash
# Benchmark: `lifeboat-agent apply` of an image onto a disk whose Lifeboat partition is already
# there (what every upgrade after the first does), against what a careful person does by hand with
# the same bytes: write them into the partition with `dd oflag=direct conv=fdatasync` and read them
# back with direct I/O through sha256sum. Apply does more (a metadata check of the WIM, boot.sdi,
# the manifest, the BCD entry, the journal), so the target is a ratio <= 1.1.
# Apply is given the image's SHA-256 with --sha256, as the agent daemon gives the hash its signed
# assignment names; apply without it (an unsigned local file: the whole WIM is checked before
# anything is written) is timed alongside and printed, not compared.
# Each round copies one prepared disk three times and drops the page cache before each side, so
# every side reads the image from the disk. Prints each round and the ratio's min/median/max.
# Needs root and a build (./run test builds it).
#   bench/apply_vs_dd.sh [--image-mb 900] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
image_mb=900 rounds=3
while [ $# -gt 0 ]; do
  case $1 in
    --image-mb) image_mb=$2; shift 2 ;; --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown $1" >&2; exit 2 ;;
  esac
done
agent=build/bin/lifeboat-agent
work=$(mktemp -d /var/tmp/lifeboat-bench.XXXXXX)
loop=
# Loop devices are detached by their files: a side timed in a subshell may have left one.
cleanup() {
  local f
  for f in "$work"/*.img; do losetup -j "$f" | cut -d: -f1 | xargs -r losetup -d; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "making a ${image_mb} MB image and a 16 GiB disk with a prepared 2 GiB Lifeboat partition ..."
tests/fixtures/make-test-wim "$work/image.wim" --size-mb "$image_mb" --compress none
prepared_disk "$work/pristine.img" "$work/prepare-state"
# Formatted again after the fill: apply writes into an empty Lifeboat volume.
loop=$(losetup --find --show --offset $((start * 512)) --sizelimit $((size * 512)) "$work/pristine.img")
mkntfs -Q -q -L Lifeboat -p "$start" -H 255 -S 63 "$loop"
losetup -d "$loop"; loop=
bytes=$(stat -c %s "$work/image.wim")
sha=$(sha256sum "$work/image.wim" | cut -d' ' -f1)

fresh_copy() { cp --sparse=always "$work/pristine.img" "$1"; sync; echo 3 > /proc/sys/vm/drop_caches; }
by_hand() {  # disk hasher...
  local disk=$1; shift
  loop=$(losetup --find --show --offset $((start * 512)) --sizelimit $((size * 512)) "$disk")
  dd if="$work/image.wim" of="$loop" bs=8M oflag=direct conv=fdatasync status=none
  local back
  # Direct reads are whole sectors: read up to the next one and hash the image's bytes (dd may
  # meet a closed pipe for the last few bytes; a short read shows as a wrong hash).
  back=$({ dd if="$loop" iflag=direct,count_bytes bs=8M count=$(((bytes + 4095) / 4096 * 4096)) \
    status=none || true; } | head -c "$bytes" | "$@" | cut -d' ' -f1)
  losetup -d "$loop"; loop=
  [ "$back" = "$sha" ] || { echo "by hand: read back $back, not $sha" >&2; exit 1; }
}
apply() {  # disk [--sha256 HEX]
  local disk=$1; shift
  $agent apply "$disk" --image "$work/image.wim" --version 1 --state-dir "$work/state-$RANDOM" "$@" >/dev/null
}
installed() {
  $agent status "$1" --verify --state-dir /nonexistent >/dev/null || { echo "$1: not installed" >&2; exit 1; }
}

ratios=() ossl_ratios=() total_hand=0 total_lb=0
for i in $(seq 1 "$rounds"); do
  fresh_copy "$work/a.img"; t_hand=$(seconds by_hand "$work/a.img" sha256sum)
  fresh_copy "$work/a.img"; t_ossl=$(seconds by_hand "$work/a.img" openssl dgst -sha256 -r)
  fresh_copy "$work/b.img"; t_lb=$(seconds apply "$work/b.img" --sha256 "$sha")
  installed "$work/b.img"
  fresh_copy "$work/b.img"; t_full=$(seconds apply "$work/b.img")
  installed "$work/b.img"
  printf 'round %d: by hand %.2f s (%.2f s hashing with openssl), apply --sha256 %.2f s (ratio %.2f; %.2f against openssl), apply with the full check %.2f s\n' \
    "$i" "$t_hand" "$t_ossl" "$t_lb" "$(echo "$t_lb / $t_hand" | bc -l)" "$(echo "$t_lb / $t_ossl" | bc -l)" "$t_full"
  ratios+=("$(echo "$t_lb / $t_hand" | bc -l)") ossl_ratios+=("$(echo "$t_lb / $t_ossl" | bc -l)")
  total_hand=$(echo "$total_hand + $t_hand" | bc -l); total_lb=$(echo "$total_lb + $t_lb" | bc -l)
done
printf 'apply / dd + read-back over %d rounds of %d bytes: %s (total %.2f; target median <= 1.1)\n' \
  "$rounds" "$bytes" "$(spread "${ratios[@]}")" "$(echo "$total_lb / $total_hand" | bc -l)"
printf 'the same against a read-back hashed by openssl (faster than sha256sum here): %s\n' "$(spread "${ossl_ratios[@]}")"
