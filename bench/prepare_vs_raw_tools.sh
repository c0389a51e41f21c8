#!/usr/bin/env bash
# Benchmark: `lifeboat-agent disk prepare` against the same work done by hand with the raw tools
# (ntfsresize, sfdisk --move-data, sfdisk, mkntfs), on two copies of one 16 GiB sparse
# Windows-like image holding ~4 GiB of files, in the same run. Prints the ratio (target <= 1.2).
# Needs root and a build (./run test or ./run demo builds it).
#   bench/prepare_vs_raw_tools.sh [--fill-mb 4096] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
fill_mb=4096 rounds=3
while [ $# -gt 0 ]; do
  case $1 in --fill-mb) fill_mb=$2; shift 2 ;; --rounds) rounds=$2; shift 2 ;; *) echo "unknown $1" >&2; exit 2 ;; esac
done
agent=build/bin/lifeboat-agent
work=$(mktemp -d /var/tmp/lifeboat-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "generating a 16 GiB image with ${fill_mb} MiB of files ..."
tests/fixtures/make-windows-disk "$work/pristine.img" --label gpt --disk-size 16G --windows-size 15500M \
  --winre-size 500M --fill-mb "$fill_mb"
plan=$($agent disk plan "$work/pristine.img" --size 2G --json)
field() { grep -o "\"$1\": [0-9]*" <<<"$plan" | sed -n "${2:-1}p" | grep -o '[0-9]*$'; }
new_ntfs=$(field new_size_bytes)
new_win_sectors=$(field new_size_sectors)
move_to=$(field to_sector)
lb_start=$(field start_sector 3)   # recovery, then create-partition's own start_sector
lb_size=$(field size_sectors 4)
echo "plan: NTFS to $new_ntfs bytes, WinRE to sector $move_to, Lifeboat at $lb_start (+$lb_size sectors)"

by_hand() {
  local disk=$1 l
  l=$(losetup --find --show --offset $((239616 * 512)) --sizelimit $((31744000 * 512)) "$disk")
  ntfsresize --info --no-progress-bar "$l" >/dev/null
  ntfsresize --no-action --no-progress-bar --size "$new_ntfs" "$l" >/dev/null
  ntfsresize --force --no-progress-bar --size "$new_ntfs" "$l" >/dev/null
  losetup -d "$l"
  echo "size=$new_win_sectors" | sfdisk -q --no-reread -N 3 "$disk"
  echo "start=$move_to" | sfdisk -q --no-reread --move-data -N 4 "$disk" 2>/dev/null
  echo "start=$lb_start, size=$lb_size, type=DE94BBA4-06D1-4D40-A16A-BFD50179D6AC, name=Lifeboat, attrs=\"RequiredPartition GUID:63\"" |
    sfdisk -q --no-reread --append "$disk"
  l=$(losetup --find --show --offset $((lb_start * 512)) --sizelimit $((lb_size * 512)) "$disk")
  mkntfs -Q -q -L Lifeboat -p "$lb_start" -H 255 -S 63 "$l"
  losetup -d "$l"
  sync
}
with_lifeboat() {
  $agent disk prepare "$1" --size 2G --state-dir "$work/state-$RANDOM" >/dev/null
  sync
}
seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

total_hand=0 total_lb=0
for i in $(seq 1 "$rounds"); do
  cp --sparse=always "$work/pristine.img" "$work/a.img"
  cp --sparse=always "$work/pristine.img" "$work/b.img"
  sync; echo 3 > /proc/sys/vm/drop_caches
  t_hand=$(seconds by_hand "$work/a.img")
  sync; echo 3 > /proc/sys/vm/drop_caches
  t_lb=$(seconds with_lifeboat "$work/b.img")
  printf 'round %d: by hand %.2f s, lifeboat %.2f s, ratio %.2f\n' "$i" "$t_hand" "$t_lb" "$(echo "$t_lb / $t_hand" | bc -l)"
  total_hand=$(echo "$total_hand + $t_hand" | bc -l); total_lb=$(echo "$total_lb + $t_lb" | bc -l)
  # Both must end with the same layout, apart from the new partition's random GUID.
  layout() { sfdisk -d "$1" | grep '^/' | sed 's/uuid=[^,]*,//; s/^[^:]*://'; }
  diff <(layout "$work/a.img") <(layout "$work/b.img") >&2 ||
    { echo "layouts differ" >&2; exit 1; }
done
printf 'prepare/raw-tools ratio over %d rounds: %.2f (target <= 1.2)\n' "$rounds" "$(echo "$total_lb / $total_hand" | bc -l)"
