#!/usr/bin/env bash
# Boot media against the same work by hand, in the same run, alternating, the page cache dropped
# before each side:
#   ISO: `lifeboat-agent media iso` (image metadata check, boot files and BCD stores from the WIM,
#        xorriso, boot catalog check, fsync) against xorriso run by hand on the same tree (the
#        layout Lifeboat wrote, read back out of its ISO) with the same options, then `sync` of the
#        ISO (both sides finish with the ISO on disk, not in the page cache). Target <= 1.1.
#   USB: `lifeboat-agent media usb` onto a stick image (erase, MBR, mkfs.vfat, mtools, syslinux,
#        flush, read everything back and compare) against dd of the same bytes (the stick image
#        Lifeboat wrote) onto the same target (bs=4M, conv=fsync). Prints the throughput ratio
#        dd time / Lifeboat time; target >= 0.9.
# Prints each round and min/median/max of each ratio. Needs root and a build.
#   bench/media_vs_by_hand.sh [BUILD_DIR] [ROUNDS] [IMAGE_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build} rounds=${2:-3} image_mb=${3:-500}
agent=$build/bin/lifeboat-agent
[ -x "$agent" ] || { echo "build first: $agent is missing" >&2; exit 1; }
work=$(mktemp -d /var/tmp/lifeboat-bench-media.XXXXXX)
trap 'rm -rf "$work"' EXIT
seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
summary() {  # NAME VALUES...
  local name=$1; shift
  local sorted n
  sorted=$(printf '%s\n' "$@" | sort -g); n=$#
  printf '%s over %d rounds: min %.3f, median %.3f, max %.3f\n' "$name" "$n" \
    "$(head -1 <<<"$sorted")" "$(sed -n "$(( (n + 1) / 2 ))p" <<<"$sorted")" "$(tail -1 <<<"$sorted")"
}

echo "making a ${image_mb} MB test WIM with stand-in boot files ..."
tests/fixtures/make-media-standins "$work/standins"
tests/fixtures/make-test-wim "$work/media.wim" --size-mb "$image_mb" --compress none --overlay "$work/standins"
ls -l "$work/media.wim" | awk '{print "  " $5 " bytes"}'

# The tree by hand: what Lifeboat's ISO holds, with boot.wim grafted from the WIM as Lifeboat does.
"$agent" media iso "$work/ref.iso" --image "$work/media.wim" --version 1.0 >/dev/null 2>&1
mkdir "$work/tree"
osirrox -indev "$work/ref.iso" -extract / "$work/tree" 2>/dev/null
rm -f "$work/tree/sources/boot.wim" "$work/ref.iso"
iso_by_hand() {
  xorriso -as mkisofs -iso-level 3 -full-iso9660-filenames -J -joliet-long -V LIFEBOAT_1_0 \
    -o "$work/hand.iso" --boot-catalog-hide -b boot/etfsboot.com -no-emul-boot -boot-load-size 8 \
    -eltorito-alt-boot -e efi/microsoft/boot/efisys.bin -no-emul-boot \
    -graft-points /sources/boot.wim="$work/media.wim" /="$work/tree" 2>/dev/null
  sync "$work/hand.iso"
}
iso_lifeboat() { "$agent" media iso "$work/lb.iso" --image "$work/media.wim" --version 1.0 >/dev/null 2>&1; }

# The stick: Lifeboat's own result is the bytes dd writes.
"$agent" media usb "$work/ref.img" --image "$work/media.wim" --version 1.0 >/dev/null 2>&1
stick_bytes=$(stat -c %s "$work/ref.img")
usb_by_hand() { dd if="$work/ref.img" of="$work/target.img" bs=4M conv=fsync,notrunc status=none; }
# A careful hand also reads the stick back (bypassing the page cache) and compares.
usb_by_hand_verified() {
  usb_by_hand
  cmp <(dd if="$work/target.img" bs=4M iflag=direct status=none) "$work/ref.img"
}
usb_lifeboat() { "$agent" media usb "$work/target.img" --image "$work/media.wim" --version 1.0 >/dev/null 2>&1; }

iso_ratios=() usb_ratios=() usb_verified_ratios=()
for i in $(seq 1 "$rounds"); do
  rm -f "$work/hand.iso" "$work/lb.iso"
  cold; t_hand=$(seconds iso_by_hand)
  cold; t_lb=$(seconds iso_lifeboat)
  [ "$(stat -c %s "$work/hand.iso")" = "$(stat -c %s "$work/lb.iso")" ] ||
    { echo "the two ISOs differ in size" >&2; exit 1; }
  r=$(echo "$t_lb / $t_hand" | bc -l); iso_ratios+=("$r")
  printf 'round %d ISO: xorriso by hand %.2f s, lifeboat %.2f s, time ratio %.3f\n' "$i" "$t_hand" "$t_lb" "$r"

  # The same target for both: a file of the stick's size, its blocks allocated once.
  rm -f "$work/target.img"; dd if=/dev/zero of="$work/target.img" bs=4M count=$((stick_bytes / 4194304 + 1)) status=none
  truncate -s "$stick_bytes" "$work/target.img"
  cold; t_dd=$(seconds usb_by_hand)
  cold; t_verified=$(seconds usb_by_hand_verified)
  cold; t_lb=$(seconds usb_lifeboat)
  r=$(echo "$t_dd / $t_lb" | bc -l); usb_ratios+=("$r")
  rv=$(echo "$t_verified / $t_lb" | bc -l); usb_verified_ratios+=("$rv")
  printf 'round %d USB: dd %.2f s, dd + read back and compare %.2f s, lifeboat %.2f s (written, flushed, read back), speed ratios %.3f and %.3f\n' \
    "$i" "$t_dd" "$t_verified" "$t_lb" "$r" "$rv"
done
summary "ISO time, lifeboat / xorriso by hand (target <= 1.1)" "${iso_ratios[@]}"
summary "USB speed, dd time / lifeboat time (target >= 0.9)" "${usb_ratios[@]}"
summary "USB speed, (dd + read back) time / lifeboat time" "${usb_verified_ratios[@]}"
