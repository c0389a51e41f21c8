#!/usr/bin/env bash
# Benchmark: `lifeboat-agent disk prepare` against the same work done by hand with the raw tools
# (ntfsresize, sfdisk --move-data, sfdisk, mkntfs), on two copies of one 16 GiB sparse
# Windows-like image holding ~4 GiB of files, in the same run. Prints the ratio (target <= 1.2).
# Needs root and a build (./run test or ./run demo builds it).
#   bench/prepare_vs_raw_tools.sh [--fill-mb 4096] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
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
read_plan "$work/pristine.img" 2G
echo "plan: NTFS to $new_ntfs bytes, WinRE to sector $move_to, Lifeboat at $lb_start (+$lb_size sectors)"

by_hand() { make_room_by_hand "$1"; sync; }
with_lifeboat() {
  $agent disk prepare "$1" --size 2G --state-dir "$work/state-$RANDOM" >/dev/null
  sync
}
race "$rounds" "$work/pristine.img" by_hand with_lifeboat same_layout "prepare/raw-tools (target <= 1.2)"
