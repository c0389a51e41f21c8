#!/usr/bin/env bash
# The site-wide network recovery entry (lifeboatctl recovery-entry publish) through real firmware
# in QEMU (TCG), with keys pressed on the machines' keyboards (QEMU's monitor). The recovery image's
# boot managers are the stand-ins of tests/boot/network_recovery_test.sh (shim as bootmgfw.efi,
# whose "Failed to load image \lifeboat\recovery\<token>\grubx64.efi" shows it ran; a pxeboot.n12
# printing a marker).
# Checked:
#   - an accepted BIOS machine nobody touches is offered the entry and starts its local disk when
#     the menu's time is up; GRUB's command line is locked (it asks for a user that does not
#     exist) and the menu then starts the local disk on Enter;
#   - after a version switch, an accepted UEFI (Secure Boot) and a BIOS machine choose the entry
#     with R: each starts the new version's boot manager from the entry's folder;
#   - an unknown machine is not offered it; each choice is audited with the machine and the
#     operator who published the entry; after withdrawal the menu is gone.
#   tests/boot/site_entry_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/tests/boot/netboot.sh"
work=$(mktemp -d /var/tmp/lifeboat-site-entry.XXXXXX)
controller_pid=""
trap netboot_cleanup EXIT

# ---- the loaders, no service environment; the image with its stand-in boot managers ----
make_recovery_tree "$repo" "$work"
make_local_disks "$work"
cp "$work/bios.img" "$work/bios2.img"  # QEMU locks a disk image: one machine each

start_netboot_controller "$build" "$work" || fail "the controller did not start"
ctl image publish "$work/recovery.wim" --version 1.0 >/dev/null || fail "publish 1.0 failed"
ctl image publish "$work/recovery.wim" --version 2.0 >/dev/null || fail "publish 2.0 failed"
uuid1=5b7c3e2a-1111-4222-8333-944455556666 mac1=52:54:00:00:00:01
uuid2=6b7c3e2a-1111-4222-8333-944455556666 mac2=52:54:00:00:00:02
uuid3=7b7c3e2a-1111-4222-8333-944455556666 mac3=52:54:00:00:00:03
printf 'id,smbios_uuid,macs\nvm1,%s,%s\nvm2,%s,%s\nvm3,%s,%s\n' $uuid1 $mac1 $uuid2 $mac2 \
  $uuid3 $mac3 >"$work/fleet.csv"
ctl machine import "$work/fleet.csv" >/dev/null || fail "the import failed"

# ---- 1.0 with a 3 s menu: vm3 (BIOS) is left alone, an unknown machine is not offered it ----
ctl recovery-entry publish --image 1.0 --timeout 3s | grep -q "offers recovery image 1.0 for 3 s" ||
  fail "publishing the entry failed"
for _ in $(seq 1 40); do
  grep -q "configfile /lifeboat/recovery/" "$work/tftp/lifeboat/machines/$uuid3.cfg" && break
  sleep 0.25
done
grep -q "configfile" "$work/tftp/lifeboat/machines/$uuid3.cfg" || fail "vm3's file does not offer the menu"
boot vm3 bios "$work/bios.img" $uuid3 $mac3 &
vm3_pid=$!
boot unknown bios "$work/bios2.img" 9b7c3e2a-1111-4222-8333-944455556666 52:54:00:00:00:09
wait $vm3_pid
expect vm3 "lifeboat-netboot: recovery image 1.0 offered (press R)"
expect vm3 "lifeboat-test: the local disk started (BIOS)"
refuse vm3 "starting the recovery image"
expect unknown "lifeboat-netboot: an unknown machine"
refuse unknown "offered (press R)"

# vm3 again, a person at it: GRUB's command line asks for a user (there is none to give), and
# Enter on the menu starts the default, the local disk.
monitor="unix:$work/vm3-locked.mon,server=on,wait=off" boot vm3-locked bios "$work/bios.img" $uuid3 $mac3 &
vm3_pid=$!
wait_console vm3-locked "offered (press R)"
sleep 2  # the menu is drawn
press vm3-locked c
wait_console vm3-locked "Enter username"
press vm3-locked ret
sleep 1
press vm3-locked ret
sleep 3  # "access denied", back to the menu, its countdown stopped by the key
press vm3-locked ret
wait $vm3_pid
expect vm3-locked "lifeboat-test: the local disk started (BIOS)"
refuse vm3-locked "grub>"
refuse vm3-locked "starting the recovery image"

# ---- switched to 2.0, a long menu: vm1 (UEFI, Secure Boot) and vm2 (BIOS) choose it with R ----
ctl recovery-entry publish --image 2.0 --timeout 2m >/dev/null || fail "switching the entry failed"
ctl recovery-entry show | grep -q "version    2.0" || fail "show does not say 2.0"
sleep 3  # the tree is rendered every 2 s at the latest
folder=$(grep -o 'recovery/[0-9a-f]*/menu.cfg' "$work/tftp/lifeboat/machines/$uuid1.cfg" | cut -d/ -f2)
grep -q "recovery image 2.0" "$work/tftp/lifeboat/recovery/$folder/menu.cfg" || fail "vm1's menu is not 2.0's"
shim_ran="Failed to load image \\lifeboat\\recovery\\$folder\\grubx64.efi"
monitor="unix:$work/vm2.mon,server=on,wait=off" boot vm2 bios "$work/bios2.img" $uuid2 $mac2 \
  "lifeboat-test: pxeboot.n12" &
vm2_pid=$!
monitor="unix:$work/vm1.mon,server=on,wait=off" boot vm1 uefi-secure "$work/uefi.img" $uuid1 $mac1 \
  "$shim_ran" &
vm1_pid=$!
wait_console vm2 "offered (press R)"
sleep 2
press vm2 r
wait_console vm1 "offered (press R)"
sleep 2
press vm1 r
wait $vm2_pid
wait $vm1_pid
expect vm2 "lifeboat-netboot: starting the recovery image 2.0"  # (BIOS GRUB can lose the end of its last line)
expect vm2 "lifeboat-test: pxeboot.n12 (BIOS PXE)"
expect vm1 "lifeboat-netboot: starting the recovery image 2.0 from the network"
expect vm1 "$shim_ran"
refuse vm1 "Access Denied"
refuse vm1 "lifeboat-test: the local disk started"

# ---- audited: each choice, with the machine and who published the entry ----
ctl audit list --json >"$work/audit.json"
for machine in vm1 vm2; do
  python3 - "$work/audit.json" "$machine" <<'PY' || fail "$machine's choice is not audited: $(cat "$work/audit.json")"
import json, sys
entries = json.load(open(sys.argv[1]))["entries"]
assert any(e["action"] == "NetworkRecoveryBoot" and e["target"] == "machine " + sys.argv[2]
           and e["who"] == "admin" and "recovery image 2.0" in e["detail"]
           and "site-wide entry" in e["detail"] for e in entries), sys.argv[2]
PY
done

# ---- withdrawn: vm3's network boot goes straight to its local disk ----
ctl recovery-entry withdraw | grep -q "withdrawn" || fail "withdrawing failed"
tree_says $uuid3 local
boot vm3-after bios "$work/bios.img" $uuid3 $mac3
expect vm3-after "lifeboat-test: the local disk started (BIOS)"
refuse vm3-after "offered (press R)"
echo "site-wide entry: offered to accepted machines only, locked against editing, the local disk by default; chosen with R on UEFI (Secure Boot) and BIOS machines after a version switch, and audited"
