#!/usr/bin/env bash
# Machines that boot through real firmware from the network, serviced by a real controller, as
# PCs of a fleet would be. The service environment is built by packaging/service-env/build; the
# controller renders its netboot tree (lifeboat-controller --netboot-dir); QEMU's own DHCP and
# TFTP serve it; machines boot (TCG):
#   - uefi: OVMF with Secure Boot on and Microsoft's keys enrolled (shim -> Debian's signed GRUB
#     -> Debian's signed kernel), a GPT/UEFI Windows-like disk, pre-authorized by
#     `lifeboatctl machine import`;
#   - bios: SeaBIOS (PXE -> GRUB for BIOS -> the kernel), an MBR/BIOS Windows-like disk, unknown
#     at first: it introduces itself, shows up as pending, boots its local disk, and is accepted.
# A two-wave rollout (vm1, then vm2) installs a signed image on both in service visits (vm2's
# first visit loses its power in the middle of the image write, and the next converges); after it
# each machine's network boot goes to its local disk (stand-in boot managers print a marker). The
# host then checks both disks with sfdisk, ntfs-3g and the agent's BCD reader: Lifeboat installed,
# every Windows file unchanged. A third machine (BIOS), whose Windows volume has BitLocker
# protection on, is refused before anything on its disk changes; and a kernel without its
# signature is refused under Secure Boot. Machines that do not depend on each other boot two at
# a time, one per processor.
#   tests/boot/service_env_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/tests/boot/netboot.sh"
work=$(mktemp -d /var/tmp/lifeboat-boot.XXXXXX)
controller_pid=""
trap netboot_cleanup EXIT

# ---- the environment ----
"$repo/packaging/service-env/build" "$work/env" --agent "$build/bin/lifeboat-agent" --level 6 \
  || fail "the build failed"
for f in vmlinuz initrd.img packages.txt loaders/uefi/bootx64.efi loaders/uefi/grubx64.efi loaders/bios/lifeboat.0; do
  [ -s "$work/env/$f" ] || fail "build wrote no $f"
done
grep -Eq '^linux-image-[0-9.]+-[0-9]+-amd64 ' "$work/env/packages.txt" || fail "packages.txt names no kernel"
grep -q '^busybox-static ' "$work/env/packages.txt" || fail "packages.txt names no busybox"
grep -q '^libwim15 ' "$work/env/packages.txt" || fail "packages.txt names not the agent's libraries"
size=$(stat -c %s "$work/env/initrd.img")
[ "$size" -le $((60 * 1024 * 1024)) ] || fail "initrd.img is $size bytes, over 60 MiB"
# The kernel is Debian's signed one: sbverify lists its signature.
sbverify --list "$work/env/vmlinuz" | grep -q "Debian Secure Boot Signer" || fail "vmlinuz is not signed by Debian"

# ---- the disks, with stand-ins for Windows' boot managers that print a marker ----
grub_signed=$(find /var/cache/lifeboat/service-env/grub-efi-amd64-signed -name grubx64.efi.signed | head -1)
[ -n "$grub_signed" ] || fail "no Debian signed GRUB in the package cache"
"$repo/tests/fixtures/make-windows-disk" "$work/gpt.img" --label gpt --disk-size 3G --windows-size 1500M --fill-mb 20 >/dev/null
"$repo/tests/fixtures/make-windows-disk" "$work/mbr.img" --label mbr --disk-size 3G --windows-size 1500M --fill-mb 20 --computer-name BIOS-PC-2 >/dev/null
# UEFI: the ESP's \EFI\Microsoft\Boot\bootmgfw.efi is shim (signed by Microsoft's UEFI CA, which
# the firmware's db trusts), which starts Debian's signed GRUB beside it, whose grub.cfg prints.
esp=$(sfdisk -J "$work/gpt.img" | python3 -c 'import json,sys; t=json.load(sys.stdin)["partitiontable"]; print([p for p in t["partitions"] if p["type"]=="C12A7328-F81F-11D2-BA4B-00A0C93EC93B"][0]["start"]*512)')
printf 'echo "lifeboat-test: the local disk started (UEFI)"\nhalt\n' >"$work/local.cfg"
mmd -i "$work/gpt.img@@$esp" ::/EFI/debian
mcopy -i "$work/gpt.img@@$esp" /var/cache/lifeboat/service-env/shim-signed/usr/lib/shim/shimx64.efi.signed ::/EFI/Microsoft/Boot/bootmgfw.efi
mcopy -i "$work/gpt.img@@$esp" "$grub_signed" ::/EFI/Microsoft/Boot/grubx64.efi
mcopy -i "$work/gpt.img@@$esp" "$work/local.cfg" ::/EFI/debian/grub.cfg
mcopy -i "$work/gpt.img@@$esp" "$work/local.cfg" ::/EFI/Microsoft/Boot/grub.cfg
# BIOS: the MBR's boot code writes a marker to COM1 and powers the q35 machine off (ACPI PM1a,
# port 0x604). Real-mode: ds=0; si=message; out each byte to 0x3f8; out 0x2000 to 0x604.
{
  printf '\x31\xc0\x8e\xd8\xba\xf8\x03\xbe\x1d\x7c\xfc\xac\x84\xc0\x74\x03\xee\xeb\xf8'
  printf '\xba\x04\x06\xb8\x00\x20\xef\xf4\xeb\xfd'
  printf 'lifeboat-test: the local disk started (BIOS)\r\n\0'
} >"$work/mbr-code"
[ "$(stat -c %s "$work/mbr-code")" -lt 440 ] || fail "the MBR stand-in is too long"
dd if="$work/mbr-code" of="$work/mbr.img" conv=notrunc status=none
# The SHA-256 of every file on a disk image's Windows partition (the largest at the start of the
# test; it starts at the same place afterwards), read through ntfs-3g.
windows_files() {
  local disk=$1 start size loop mnt
  start=$(cat "$work/$(basename "$disk" .img).windows-start")
  size=$(sfdisk -J "$disk" | python3 -c "import json,sys; print([p['size'] for p in json.load(sys.stdin)['partitiontable']['partitions'] if p['start'] == $start][0])")
  loop=$(losetup --find --show --read-only --offset $((start * 512)) --sizelimit $((size * 512)) "$disk")
  mnt=$(mktemp -d)
  ntfs-3g -o ro "$loop" "$mnt"
  (cd "$mnt" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
  umount "$mnt"
  rmdir "$mnt"
  losetup -d "$loop"
}
for disk in gpt mbr; do
  sfdisk -J "$work/$disk.img" | python3 -c 'import json,sys; print(max(json.load(sys.stdin)["partitiontable"]["partitions"], key=lambda p: p["size"])["start"])' >"$work/$disk.windows-start"
  sfdisk -J "$work/$disk.img" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["partitiontable"]["partitions"]))' >"$work/$disk.partitions"
  windows_files "$work/$disk.img" >"$work/$disk.files" || fail "cannot read the Windows files of $disk.img"
  [ "$(wc -l <"$work/$disk.files")" -gt 10 ] || fail "$disk.img: too few Windows files to compare"
done

# ---- the controller, its tree, a signed image and the fleet ----
# Large enough that writing it takes the BIOS machine several seconds, in which its power is cut.
"$repo/tests/fixtures/make-test-wim" "$work/v1.wim" --size-mb 48
start_netboot_controller "$build" "$work" || fail "the controller did not start"
grep -q "(http,10.0.2.2:[0-9]*)" "$work/tftp/lifeboat/service.cfg" ||
  fail "the service environment is not loaded over the controller's HTTP: $(cat "$work/tftp/lifeboat/service.cfg")"
ctl image publish "$work/v1.wim" --version 1.0 --sign-key "$work/signer.key" >/dev/null || fail "publish failed"
uuid1=5b7c3e2a-1111-4222-8333-944455556666 mac1=52:54:00:00:00:01
uuid2=6b7c3e2a-1111-4222-8333-944455556666 mac2=52:54:00:00:00:02
printf 'id,smbios_uuid,macs,name,labels\nvm1,%s,%s,UEFI machine,ring=canary\n' $uuid1 $mac1 >"$work/fleet.csv"
ctl machine import "$work/fleet.csv" | grep -q "1 machines added" || fail "the import failed"

# boot NAME FIRMWARE DISK UUID MAC [TFTP]: a machine network-booting; its serial console in
# $work/NAME.log with the firmware's control sequences removed.
boot() {
  local name=$1 firmware=$2 disk=$3 uuid=$4 mac=$5 tftp=${6:-$work/tftp}
  netboot_args "$firmware" "$work" "$uuid" "$mac" "$tftp" "$disk"
  local start=$SECONDS
  timeout 600 qemu-system-x86_64 "${qemu_args[@]}" -m 1024 -serial "file:$work/$name.raw" \
    >"$work/$name.qemu" 2>&1 || true
  sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\r//g' "$work/$name.raw" >"$work/$name.log"
  echo "$name: $((SECONDS - start)) s from power-on to power-off (QEMU TCG)"
}
show() {
  echo "---- $1's console ----" >&2
  grep -a -v '^\s*$' "$work/$1.log" | tail -40 >&2
  echo "---- the controller ----" >&2
  tail -20 "$work/controller.log" >&2
}
expect() {
  grep -aqF -- "$2" "$work/$1.log" || { show "$1"; fail "$1: the console never said: $2"; }
}
refuse() {
  ! grep -aqF -- "$2" "$work/$1.log" || { show "$1"; fail "$1: the console said: $2"; }
}
# The inventory JSON the agent printed between its two markers: judged by the schema, and read.
inventory() {
  local name=$1
  sed -n '/lifeboat-service: inventory follows/,/lifeboat-service: inventory done/p' "$work/$name.log" |
    sed '1d;$d' >"$work/$name.json"
  "$repo/tests/support/check-json-shape" "$repo/docs/json.schema.json" inventory "$work/$name.json" ||
    { show "$name"; fail "$name: the inventory does not conform to docs/json.schema.json"; }
  python3 - "$work/$name.json" "$2" "$3" <<'EOF' || { show "$name"; fail "$name: the inventory is not what the disk holds"; }
import json, sys
inv = json.load(open(sys.argv[1]))
firmware, label = sys.argv[2], sys.argv[3]
assert inv["firmware"] == firmware, inv["firmware"]
assert inv["secure_boot"] == (firmware == "uefi"), inv["secure_boot"]  # the UEFI machine has it on
assert inv["windows_computer_name"] in ("DESKTOP-LIFEBOAT", "BIOS-PC-2"), inv["windows_computer_name"]
disk, = inv["disks"]
assert disk["path"] == "/dev/vda" and disk["label"] == label, disk
assert "windows" in [p["role"] for p in disk["partitions"]], disk["partitions"]
EOF
}

# ---- the BIOS machine, unknown: it introduces itself and is pending ----
boot bios-discovery bios "$work/mbr.img" $uuid2 $mac2
expect bios-discovery "lifeboat-netboot: uuid=$uuid2"
expect bios-discovery "lifeboat-netboot: mac=$mac2"
expect bios-discovery "lifeboat-netboot: an unknown machine: introducing it to the controller"
expect bios-discovery "lifeboat-service: machine $uuid2 (bios), adapters $mac2"
expect bios-discovery "lifeboat-service: network on eth0: 10.0.2.15/24"
inventory bios-discovery bios mbr
expect bios-discovery "visit: pending: this machine is not accepted"
expect bios-discovery "lifeboat-service: powering off"
ctl machine list --pending | grep "$uuid2" | grep -q "BIOS-PC-2" || { ctl machine list --pending >&2; fail "the BIOS machine is not pending under its Windows name"; }
tree_says $uuid2 local
# Its next boot: its local disk. (GRUB's BIOS console can lose the end of its last line when it
# hands over, hence the shorter match.)
boot bios-local-pending bios "$work/mbr.img" $uuid2 $mac2
expect bios-local-pending "lifeboat-netboot: starting the local"
expect bios-local-pending "lifeboat-test: the local disk started (BIOS)"
refuse bios-local-pending "lifeboat-service:"
ctl machine accept $uuid2 --as vm2 --label ring=broad | grep -q "is machine vm2" || fail "accept failed"

# ---- a third machine, whose Windows volume has BitLocker protection on: refused before any
# change. It boots (BIOS) beside vm1's visit, on the second of the two processors. ----
"$repo/tests/fixtures/make-windows-disk" "$work/bitlocker.img" --label mbr --disk-size 2G \
  --windows-size 1200M --fill-mb 20 --variant bitlocker >/dev/null
bitlocker_sum=$(cksum <"$work/bitlocker.img")
uuid3=8b7c3e2a-1111-4222-8333-944455556666 mac3=52:54:00:00:00:04
printf 'id,smbios_uuid,macs,name,labels\nvm3,%s,%s,,\n' $uuid3 $mac3 >"$work/vm3.csv"
ctl machine import "$work/vm3.csv" >/dev/null || fail "the import of vm3 failed"

# ---- a two-wave rollout: vm1 (UEFI, Secure Boot) first, then vm2 (BIOS) ----
ctl rollout create --image 1.0 --machine vm1 --machine vm2 --waves 1,2 >/dev/null || fail "rollout create failed"
tree_says $uuid1 service
tree_says $uuid2 local
ctl rollout create --image 1.0 --machine vm3 >/dev/null || fail "rollout create for vm3 failed"
tree_says $uuid3 service
boot bitlocker bios "$work/bitlocker.img" $uuid3 $mac3 &
bitlocker_pid=$!
boot uefi-visit uefi-secure "$work/gpt.img" $uuid1 $mac1
expect uefi-visit "lifeboat-netboot: uuid=$uuid1"
expect uefi-visit "lifeboat-netboot: mac=$mac1"
expect uefi-visit "lifeboat-service: machine $uuid1 (uefi, secure boot on), adapters $mac1"
inventory uefi-visit uefi gpt
expect uefi-visit "visit: service: machine vm1: service visit"
expect uefi-visit "installed 1.0"
expect uefi-visit "visit: done"
expect uefi-visit "lifeboat-service: visit finished (0)"
wait $bitlocker_pid
expect bitlocker "visit: service: machine vm3: service visit"
expect bitlocker "has BitLocker protection on (protectors: tpm, recovery-password)"
expect bitlocker "manage-bde -protectors -disable C: -RebootCount 1"
refuse bitlocker "installed 1.0"
sed -n '/lifeboat-service: inventory follows/,/lifeboat-service: inventory done/p' "$work/bitlocker.log" |
  sed '1d;$d' >"$work/bitlocker.json"
python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); assert i["bitlocker_protection_on"], i' \
  "$work/bitlocker.json" || { show bitlocker; fail "the inventory does not say BitLocker protection is on"; }
[ "$(cksum <"$work/bitlocker.img")" = "$bitlocker_sum" ] || fail "bitlocker.img changed"
ctl machine show vm3 | grep -q "bitlocker  partition 2: protection on (tpm, recovery-password)" ||
  { ctl machine show vm3 >&2; fail "machine show does not say vm3's BitLocker protection is on"; }
tree_says $uuid1 local
tree_says $uuid2 service
# vm1's next network boot goes to its local disk; it boots beside vm2's visits (checked below).
boot uefi-local uefi-secure "$work/gpt.img" $uuid1 $mac1 &
uefi_local_pid=$!
# vm2's first visit loses its power in the middle of the image write (QEMU killed: the RAM disk
# and everything in it are gone); its next network boot is a visit again and converges.
boot bios-visit-cut bios "$work/mbr.img" $uuid2 $mac2 &
cut_pid=$!
for _ in $(seq 1 1200); do
  ctl machine show vm2 | grep -q "write-image started" && break
  sleep 0.2
done
pkill -9 -f "mac=$mac2," || fail "vm2 was not running when its write began"
wait $cut_pid
expect bios-visit-cut "assignment: install 1.0"
refuse bios-visit-cut "installed 1.0"
ctl machine show vm2 | grep -q "write-image started" || fail "vm2's power was cut before its write began"
tree_says $uuid2 service

# Secure Boot refuses a kernel without Debian's signature: a machine booting a copy of the tree
# whose kernel has lost it, beside vm2's second visit, on a copy of the GPT disk (whose stand-in
# boot manager ends the boot when GRUB falls back to the disk).
cp -a "$work/tftp" "$work/tftp-unsigned"
sbattach --remove "$work/tftp-unsigned/lifeboat/vmlinuz" >/dev/null
sed -i '/grub_platform/d' "$work/tftp-unsigned/lifeboat/service.cfg"  # the copy: TFTP only
! sbverify --list "$work/tftp-unsigned/lifeboat/vmlinuz" 2>/dev/null | grep -q "Debian Secure Boot Signer" ||
  fail "sbattach left the signature on"
cp --sparse=always "$work/gpt.img" "$work/unsigned.img"
boot unsigned uefi-secure "$work/unsigned.img" 7b7c3e2a-1111-4222-8333-944455556666 52:54:00:00:00:03 "$work/tftp-unsigned" &
unsigned_pid=$!
boot bios-visit bios "$work/mbr.img" $uuid2 $mac2
expect bios-visit "visit: service: machine vm2: service visit"
expect bios-visit "journal restored from the controller"
expect bios-visit "installed 1.0"
expect bios-visit "lifeboat-service: visit finished (0)"
tree_says $uuid2 local
ctl rollout show 1 | grep -q "completed" || { ctl rollout show 1 >&2; fail "the rollout did not complete"; }
for id in vm1 vm2; do
  ctl machine show $id | grep -q "done succeeded" || { ctl machine show $id >&2; fail "$id reported no finished install"; }
done
wait $unsigned_pid
expect unsigned "lifeboat-netboot: starting the service environment"
expect unsigned "bad shim signature"
refuse unsigned "lifeboat-service:"

# ---- after the visits, each machine's network boot goes to its local disk ----
wait $uefi_local_pid
expect uefi-local "lifeboat-netboot: starting the local"
expect uefi-local "lifeboat-test: the local disk started (UEFI)"
refuse uefi-local "lifeboat-service:"
boot bios-local bios "$work/mbr.img" $uuid2 $mac2
expect bios-local "lifeboat-test: the local disk started (BIOS)"

# ---- the disks, checked on the host ----
for disk in gpt mbr; do
  sfdisk --verify "$work/$disk.img" >/dev/null || fail "$disk.img: sfdisk finds the table damaged"
  [ "$(sfdisk -J "$work/$disk.img" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["partitiontable"]["partitions"]))')" -eq $(($(cat "$work/$disk.partitions") + 1)) ] ||
    fail "$disk.img: Lifeboat's partition was not added"
  # The agent's status reads the partition, the image on it and the BCD entry (the BCD decoder).
  status=$("$build/bin/lifeboat-agent" status "$work/$disk.img" --json --state-dir "$work/state-$disk" || true)
  echo "$status" | python3 -c 'import json,sys; s=json.load(sys.stdin); assert s["state"] == "installed" and s["installed"]["version"] == "1.0" and s["boot_entry"]["present"], s' ||
    fail "$disk.img: lifeboat-agent status does not find 1.0 installed with its boot entry: $status"
  windows_files "$work/$disk.img" >"$work/$disk.files.after"
  cmp -s "$work/$disk.files" "$work/$disk.files.after" || fail "$disk.img: Windows files changed"
done

echo "service environment: initrd.img $((size / 1024 / 1024)) MiB (zstd -6); two machines serviced through OVMF Secure Boot and SeaBIOS, a BitLocker-protected one refused unchanged"
