#!/usr/bin/env bash
# Benchmark: a whole `lifeboat-agent apply` of a 500 MB image on a 16 GiB Windows-like disk image
# (GPT/UEFI, no free space: Windows is shrunk and WinRE moved) against the same work done by hand
# with the raw tools, on two copies of one image, in the same run:
#   check the image   wimlib-imagex verify, sha256sum
#   make room         ntfsresize (info, rehearsal, resize), sfdisk -N, sfdisk --move-data, sfdisk
#                     --append, mkntfs
#   write the image   ntfs-3g mount, cp boot.wim and boot.sdi, sync, sha256sum read back, umount
#   boot entry        mcopy the BCD out, hivexsh (two objects, eleven elements, tools menu), mcopy in
# Prints the ratio lifeboat / by hand. Needs root and a build.
#   bench/apply_vs_raw_tools.sh [--image-mb 500] [--fill-mb 2048] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
image_mb=500 fill_mb=2048 rounds=3
while [ $# -gt 0 ]; do
  case $1 in
    --image-mb) image_mb=$2; shift 2 ;; --fill-mb) fill_mb=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;; *) echo "unknown $1" >&2; exit 2 ;;
  esac
done
agent=build/bin/lifeboat-agent
work=$(mktemp -d /var/tmp/lifeboat-bench.XXXXXX)
mnt=$(mktemp -d)
trap 'mountpoint -q "$mnt" && umount "$mnt"; rmdir "$mnt"; rm -rf "$work"' EXIT

echo "making a ${image_mb} MB image and a 16 GiB disk with ${fill_mb} MiB of files ..."
tests/fixtures/make-test-wim "$work/image.wim" --size-mb "$image_mb" --compress none
tests/fixtures/make-windows-disk "$work/pristine.img" --label gpt --disk-size 16G --windows-size 15500M \
  --winre-size 500M --fill-mb "$fill_mb"
wimlib-imagex extract "$work/image.wim" 1 /Windows/Boot/DVD/EFI/boot.sdi --dest-dir="$work" --no-acls >/dev/null
read_plan "$work/pristine.img" 2G
esp=$(sfdisk -d "$work/pristine.img" | awk -F'[=,]' '/img1 :/ {gsub(/ /,""); print $2 * 512}')

# Hex helpers for the by-hand BCD entry (BCD-FORMAT.md sections 3 and 6).
guid_le() { local g; g=$(echo "${1//[-\{\}]/}" | tr 'A-F' 'a-f'); echo "${g:6:2}${g:4:2}${g:2:2}${g:0:2}${g:10:2}${g:8:2}${g:14:2}${g:12:2}${g:16:16}"; }
le32() { local h; h=$(printf '%08x' "$1"); echo "${h:6:2}${h:4:2}${h:2:2}${h:0:2}"; }
utf16z() { printf '%s' "$1" | iconv -t UTF-16LE | od -An -tx1 -v | tr -d ' \n'; echo 0000; }
commas() { sed 's/../&,/g; s/,$//'; }
zeros() { printf '0%.0s' $(seq 1 $(($1 * 2))); }
by_hand_bcd() {  # disk
  local disk=$1 options='{11111111-2222-8333-8444-555555555555}' loader='{11111111-2222-8333-8444-666666666666}'
  local part disk_id path sdi partdesc ramdisk
  part=$(sfdisk --part-uuid "$disk" 5) disk_id=$(sfdisk --disk-id "$disk")
  partdesc="06000000000000004800000000000000$(guid_le "$part")0000000000000000$(guid_le "$disk_id")$(zeros 16)"
  path=$(utf16z '\Recovery\Lifeboat\1\boot.wim')
  local total=$((0x8c + ${#path} / 2))
  ramdisk="$(guid_le "$options")0000000001000000$(le32 $((total - 16)))0000000003000000$(zeros 20)01000000$(le32 $((total - 0x38)))05000000${partdesc}${path}"
  local tools
  tools=$(printf 'cd \\Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\\Elements\\24000010\nlsval\n' |
    hivexsh "$work/bcd" | sed 's/^"Element"=hex(7)://; s/,00,00,00,00$//' | tr -d ',')
  tools="${tools}00$(utf16z "$loader")0000"
  {
    echo 'cd \Objects'
    for o in "$options:30000000" "$loader:10200003"; do
      echo "add ${o%%:*}"; echo "cd ${o%%:*}"; echo "add Description"; echo "cd Description"
      echo "setval 1"; echo "Type"; echo "dword:0x${o##*:}"; echo "cd .."; echo "add Elements"; echo 'cd \Objects'
    done
    elem() { echo "cd \\Objects\\$1\\Elements"; echo "add $2"; echo "cd $2"; echo "setval 1"; echo "Element"; echo "$3"; }
    elem "$options" 12000004 'string:Lifeboat RAM disk options'
    elem "$options" 31000003 "hex:3:$(echo "$(zeros 16)$partdesc" | commas)"
    elem "$options" 32000004 'string:\Recovery\Lifeboat\1\boot.sdi'
    elem "$loader" 11000001 "hex:3:$(echo "$ramdisk" | commas)"
    elem "$loader" 12000002 'string:\Windows\System32\boot\winload.efi'
    elem "$loader" 12000004 'string:Lifeboat 1'
    elem "$loader" 12000005 'string:en-us'
    elem "$loader" 14000006 "hex:7:$(echo "$(utf16z '{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}')0000" | commas)"
    elem "$loader" 21000001 "hex:3:$(echo "$ramdisk" | commas)"
    elem "$loader" 22000002 'string:\windows'
    elem "$loader" 25000020 'hex:3:00,00,00,00,00,00,00,00'
    elem "$loader" 250000c2 'hex:3:01,00,00,00,00,00,00,00'
    elem "$loader" 26000010 'hex:3:01'
    elem "$loader" 26000022 'hex:3:01'
    echo 'cd \Objects\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\Elements\24000010'
    echo "setval 1"; echo "Element"; echo "hex:7:$(echo "$tools" | commas)"
    echo commit
  } | hivexsh -w "$work/bcd" >/dev/null
}

by_hand() {
  local disk=$1 l
  wimlib-imagex verify "$work/image.wim" >/dev/null
  sha256sum "$work/image.wim" >/dev/null
  make_room_by_hand "$disk"
  l=$(losetup --find --show --offset $((lb_start * 512)) --sizelimit $((lb_size * 512)) "$disk")
  ntfs-3g "$l" "$mnt"
  mkdir -p "$mnt/Recovery/Lifeboat/1"
  cp "$work/image.wim" "$mnt/Recovery/Lifeboat/1/boot.wim"
  cp "$work/boot.sdi" "$mnt/Recovery/Lifeboat/1/boot.sdi"
  sync
  sha256sum "$mnt/Recovery/Lifeboat/1/boot.wim" "$mnt/Recovery/Lifeboat/1/boot.sdi" >/dev/null
  umount "$mnt"
  losetup -d "$l"
  MTOOLS_SKIP_CHECK=1 mcopy -n -o -i "$disk@@$esp" ::/EFI/Microsoft/Boot/BCD "$work/bcd"
  by_hand_bcd "$disk"
  MTOOLS_SKIP_CHECK=1 mcopy -n -o -i "$disk@@$esp" "$work/bcd" ::/EFI/Microsoft/Boot/BCD
  sync
}
with_lifeboat() {
  $agent apply "$1" --image "$work/image.wim" --version 1 --size 2G --state-dir "$work/state-$RANDOM" >/dev/null
  sync
}
both_installed() {
  same_layout "$1" "$2"
  $agent bcd show "$1" | grep -q 'Recovery\\Lifeboat\\1\\boot.wim' || { echo "by-hand entry missing" >&2; exit 1; }
  $agent status "$2" --verify --state-dir /nonexistent >/dev/null || { echo "lifeboat: not installed" >&2; exit 1; }
}
race "$rounds" "$work/pristine.img" by_hand with_lifeboat both_installed "apply/raw-tools"
