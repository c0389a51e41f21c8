#!/usr/bin/env bash
# Boot media booted by real firmware (QEMU, TCG): lifeboat-agent makes an ISO and a USB stick
# image from a test WIM whose boot files are stand-ins that print a marker on the serial console
# (tests/fixtures/make-media-standins), and each medium is booted four ways:
#   ISO from a CD drive: OVMF (UEFI, runs the El Torito UEFI image efisys.bin) and SeaBIOS (BIOS,
#   runs the no-emulation image etfsboot.com);
#   USB stick (xHCI, usb-storage): OVMF (runs \efi\boot\bootx64.efi from the FAT32 partition) and
#   SeaBIOS (syslinux's MBR code -> its boot sector -> chain.c32 -> \bootmgr).
# The marker proves the firmware found and ran the right loader from the right place. Two
# machines run at a time, one per processor.
#   tests/boot/media_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /var/tmp/lifeboat-media-boot.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"$repo/tests/fixtures/make-media-standins" "$work/standins"
"$repo/tests/fixtures/make-test-wim" "$work/media.wim" --overlay "$work/standins"
"$build/bin/lifeboat-agent" media iso "$work/media.iso" --image "$work/media.wim" --version 1.0 \
  || fail "media iso"
"$build/bin/lifeboat-agent" media usb "$work/usb.img" --image "$work/media.wim" --version 1.0 \
  || fail "media usb"

ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
# boot NAME FIRMWARE MEDIUM-ARGS...: runs a q35 machine until the stand-in powers it off (or 240 s).
boot() {
  local name=$1 firmware=$2
  shift 2
  local args=(-accel tcg -machine q35 -m 512 -display none -no-reboot -serial "file:$work/$name.log")
  if [ "$firmware" = uefi ]; then
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/$name.vars"
    args+=(-drive "if=pflash,format=raw,readonly=on,file=$ovmf_code"
           -drive "if=pflash,format=raw,file=$work/$name.vars")
  fi
  timeout 240 qemu-system-x86_64 "${args[@]}" "$@" >"$work/$name.qemu" 2>&1 || true
}
usb=(-drive "if=none,id=stick,format=raw,readonly=on,file=$work/usb.img" -device qemu-xhci
     -device usb-storage,drive=stick,bootindex=1)
cd_drive=(-drive "if=none,id=cd,format=raw,readonly=on,media=cdrom,file=$work/media.iso"
          -device ide-cd,drive=cd,bootindex=1)

start=$(date +%s)
boot iso-uefi uefi "${cd_drive[@]}" & boot iso-bios bios "${cd_drive[@]}" & wait
boot usb-uefi uefi "${usb[@]}" & boot usb-bios bios "${usb[@]}" & wait
seconds=$(( $(date +%s) - start ))

expect() {
  local name=$1 marker=$2
  grep -aq "lifeboat-test: $marker" "$work/$name.log" ||
    fail "$name: no \"$marker\" on the serial console; it shows: $(tr -cd '[:print:]\n' < "$work/$name.log" | tail -5)"
  echo "$name: $marker"
}
expect iso-uefi "efisys (UEFI CD)"
expect iso-bios "etfsboot.com (BIOS CD)"
expect usb-uefi "bootmgfw.efi (UEFI)"
expect usb-bios "bootmgr (BIOS)"
echo "media boot: the ISO and the USB stick each booted under OVMF and SeaBIOS (four machines, ${seconds} s, TCG)"
