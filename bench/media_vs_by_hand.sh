#!/usr/bin/env bash
# Boot media against the same work by hand, in the same run, alternating, the page cache dropped
# before each side:
#   ISO: `lifeboat-agent media iso` (image metadata check, boot files and BCD stores from the WIM,
#        xorriso, boot catalog check, fsync) against xorriso run by hand on the same tree (the
#        layout Lifeboat wrote, read back out of its ISO) with the same options, then `sync` of the
#        ISO (both sides finish with the ISO on disk, not in the page cache). Target <= 1.1.
#   USB: `lifeboat-agent media usb` (erase, MBR, mkfs.vfat, mtools, syslinux, flush, then read
#        every file back and compare) against dd of the same bytes (the stick image Lifeboat
#        wrote) onto the same target (bs=4M, conv=fsync), and against dd followed by reading the
#        target back and comparing. Lifeboat's write ends when it prints "written; reading every
#        file back" (after its fsync). Ratios: dd time / Lifeboat's write time (target >= 0.9),
#        and (dd + read back) time / Lifeboat's whole time (the same work: written and verified).
#        Two targets:
#          file   a stick image on this machine's disk: what the CPU costs (this disk reads no
#                 faster than it writes, and the page cache makes writes cheap);
#          stick  the same file behind qemu-storage-daemon's FUSE export, throttled to a USB 3
#                 stick's speeds (USB_WRITE_MBPS, default 40 MB/s; USB_READ_MBPS, default 120).
# Prints each round and min/median/max of each ratio. Needs root and a build.
#   bench/media_vs_by_hand.sh [BUILD_DIR] [ROUNDS] [IMAGE_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build} rounds=${2:-3} image_mb=${3:-500}
agent=$build/bin/lifeboat-agent
[ -x "$agent" ] || { echo "build first: $agent is missing" >&2; exit 1; }
work=$(mktemp -d /var/tmp/lifeboat-bench-media.XXXXXX)
storage_daemon=""
stop_stick() {  # unmounts the throttled stick, if one is up
  [ -n "$storage_daemon" ] || return 0
  umount "$work/stick.img" 2>/dev/null || true
  kill "$storage_daemon" 2>/dev/null || true
  wait "$storage_daemon" 2>/dev/null || true
  storage_daemon=""
}
trap 'stop_stick; rm -rf "$work"' EXIT
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
write_mbps=${USB_WRITE_MBPS:-40} read_mbps=${USB_READ_MBPS:-120}

# new_target KIND: a fresh target of the stick's size, its blocks allocated once; for `stick`,
# served through a throttled FUSE file. Sets `target`.
new_target() {
  stop_stick
  rm -f "$work/target.img"
  dd if=/dev/zero of="$work/target.img" bs=4M count=$((stick_bytes / 4194304 + 1)) status=none
  truncate -s "$stick_bytes" "$work/target.img"
  target=$work/target.img
  [ "$1" = stick ] || return 0
  : >"$work/stick.img"
  qemu-storage-daemon \
    --object "throttle-group,id=usb,x-bps-write=$((write_mbps * 1000000)),x-bps-read=$((read_mbps * 1000000))" \
    --blockdev "file,node-name=backing,filename=$work/target.img" \
    --blockdev throttle,node-name=stick,file=backing,throttle-group=usb \
    --export "fuse,id=export,node-name=stick,mountpoint=$work/stick.img,writable=on" \
    >"$work/storage-daemon.log" 2>&1 &
  storage_daemon=$!
  for _ in $(seq 1 50); do [ "$(stat -c %s "$work/stick.img")" = "$stick_bytes" ] && break; sleep 0.1; done
  [ "$(stat -c %s "$work/stick.img")" = "$stick_bytes" ] ||
    { cat "$work/storage-daemon.log" >&2; echo "qemu-storage-daemon did not export the stick" >&2; exit 1; }
  target=$work/stick.img
}
usb_by_hand() { dd if="$work/ref.img" of="$target" bs=4M conv=fsync,notrunc status=none; }
# A careful hand also reads the stick back (bypassing the page cache) and compares.
usb_by_hand_verified() {
  usb_by_hand
  cmp <(dd if="$target" bs=4M iflag=direct status=none) "$work/ref.img"
}
# Lifeboat: sets t_write (until it says it has written and flushed) and t_total.
usb_lifeboat() {
  read -r t_write t_total < <(bench/stamp-progress "written; reading every file back" \
    "$agent" media usb "$target" --image "$work/media.wim" --version 1.0)
  [ -n "$t_total" ] || { echo "lifeboat-agent media usb failed" >&2; exit 1; }
}

iso_ratios=()
declare -A write_ratios verified_ratios
for i in $(seq 1 "$rounds"); do
  rm -f "$work/hand.iso" "$work/lb.iso"
  cold; t_hand=$(seconds iso_by_hand)
  cold; t_lb=$(seconds iso_lifeboat)
  [ "$(stat -c %s "$work/hand.iso")" = "$(stat -c %s "$work/lb.iso")" ] ||
    { echo "the two ISOs differ in size" >&2; exit 1; }
  r=$(echo "$t_lb / $t_hand" | bc -l); iso_ratios+=("$r")
  printf 'round %d ISO: xorriso by hand %.2f s, lifeboat %.2f s, time ratio %.3f\n' "$i" "$t_hand" "$t_lb" "$r"

  for kind in file stick; do
    new_target $kind; cold; t_dd=$(seconds usb_by_hand)
    new_target $kind; cold; t_verified=$(seconds usb_by_hand_verified)
    new_target $kind; cold; usb_lifeboat
    stop_stick
    # (Not byte for byte the reference: the files' times differ.)
    mcopy -i "$work/target.img@@1M" ::/sources/boot.wim - | cmp -s - "$work/media.wim" ||
      { echo "round $i: the $kind Lifeboat wrote does not hold the image" >&2; exit 1; }
    r=$(echo "$t_dd / $t_write" | bc -l); write_ratios[$kind]+="$r "
    rv=$(echo "$t_verified / $t_total" | bc -l); verified_ratios[$kind]+="$rv "
    printf 'round %d USB %s: dd %.2f s, dd + read back %.2f s; lifeboat written %.2f s, verified %.2f s; ratios %.3f (write), %.3f (verified)\n' \
      "$i" "$kind" "$t_dd" "$t_verified" "$t_write" "$t_total" "$r" "$rv"
  done
done
summary "ISO time, lifeboat / xorriso by hand (target <= 1.1)" "${iso_ratios[@]}"
for kind in file stick; do
  label=$kind; [ $kind = stick ] && label="stick at ${write_mbps}/${read_mbps} MB/s"
  # shellcheck disable=SC2086
  summary "USB $label: write, dd time / lifeboat's write time (target >= 0.9)" ${write_ratios[$kind]}
  # shellcheck disable=SC2086
  summary "USB $label: written and verified, (dd + read back) time / lifeboat's time" ${verified_ratios[$kind]}
done
