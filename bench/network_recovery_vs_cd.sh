#!/usr/bin/env bash
# Network recovery boot against a CD, in QEMU with TCG (emulated CPUs: far slower than hardware,
# and what is compared is the same on both sides), BIOS (SeaBIOS), in the same run, alternating:
#   network  a machine with a request (lifeboatctl machine boot-recovery --network) boots from
#            the network: iPXE's DHCP and TFTP (QEMU's), Lifeboat's GRUB, its file, the recovery
#            folder's boot.cfg, and pxechainloader of the folder's pxeboot.n12;
#   CD       the same image's ISO (lifeboat-agent media iso) in the machine's CD drive: SeaBIOS
#            loads its El Torito boot image, etfsboot.com.
# Each is timed from power-on to the recovery image's loader starting: the stand-in loaders of the
# media tests print a marker on the serial console and power the machine off. Prints each round and
# min/median/max of the ratio network time / CD time. Needs root and a build.
#   bench/network_recovery_vs_cd.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd) rounds=${2:-5}
[ -x "$build/bin/lifeboat-controller" ] || { echo "build first: $build/bin is missing" >&2; exit 1; }
source tests/boot/netboot.sh
work=$(mktemp -d /var/tmp/lifeboat-bench-netrecovery.XXXXXX)
controller_pid=""
trap netboot_cleanup EXIT

packaging/service-env/loaders "$work/env/loaders" >/dev/null
printf 'not booted here' >"$work/env/vmlinuz"
printf 'not booted here' >"$work/env/initrd.img"
tests/fixtures/make-media-standins "$work/standins"
tests/fixtures/make-test-wim "$work/recovery.wim" --size-mb 4 --overlay "$work/standins" >/dev/null
"$build/bin/lifeboat-agent" media iso "$work/recovery.iso" --image "$work/recovery.wim" --version 1.0 >/dev/null
truncate -s 64M "$work/disk.img"
start_netboot_controller "$build" "$work"
ctl image publish "$work/recovery.wim" --version 1.0 >/dev/null
uuid=6b7c3e2a-1111-4222-8333-944455556666 mac=52:54:00:00:00:02
printf 'id,smbios_uuid,macs\nvm,%s,%s\n' $uuid $mac >"$work/fleet.csv"
ctl machine import "$work/fleet.csv" >/dev/null

# seconds NAME MARKER QEMU-ARGS...: from starting QEMU to MARKER on its serial console.
seconds() {
  local name=$1 marker=$2
  shift 2
  : >"$work/$name.raw"
  local t0 qemu
  t0=$(date +%s.%N)
  timeout 120 qemu-system-x86_64 "$@" -m 512 -serial "file:$work/$name.raw" >/dev/null 2>&1 &
  qemu=$!
  until grep -aqF -- "$marker" "$work/$name.raw"; do
    kill -0 $qemu 2>/dev/null || { echo "$name: the machine stopped without: $marker" >&2; exit 1; }
    sleep 0.05
  done
  echo "$(date +%s.%N) - $t0" | bc -l
  kill $qemu 2>/dev/null || true
  wait $qemu 2>/dev/null || true
}

ratios=()
for i in $(seq 1 "$rounds"); do
  ctl machine boot-recovery vm --network >/dev/null
  for _ in $(seq 1 80); do grep -q "recovery/" "$work/tftp/lifeboat/machines/$uuid.cfg" && break; sleep 0.25; done
  netboot_args bios "$work" $uuid $mac "$work/tftp" "$work/disk.img"
  t_net=$(seconds "net$i" "lifeboat-test: pxeboot.n12 (BIOS PXE)" "${qemu_args[@]}")
  t_cd=$(seconds "cd$i" "lifeboat-test: etfsboot.com (BIOS CD)" -accel tcg -machine q35 \
    -display none -no-reboot -drive "if=none,id=cd,format=raw,readonly=on,media=cdrom,file=$work/recovery.iso" \
    -device ide-cd,drive=cd,bootindex=1)
  r=$(echo "$t_net / $t_cd" | bc -l); ratios+=("$r")
  printf 'round %d: network %.2f s, CD %.2f s, network / CD %.3f\n' "$i" "$t_net" "$t_cd" "$r"
done
sorted=$(printf '%s\n' "${ratios[@]}" | sort -g); n=${#ratios[@]}
printf 'BIOS, power-on to the recovery loader, network / CD over %d rounds (QEMU TCG): min %.3f, median %.3f, max %.3f\n' \
  "$n" "$(head -1 <<<"$sorted")" "$(sed -n "$(( (n + 1) / 2 ))p" <<<"$sorted")" "$(tail -1 <<<"$sorted")"
