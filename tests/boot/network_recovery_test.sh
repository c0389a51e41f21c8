#!/usr/bin/env bash
# Network recovery boots through real firmware (QEMU, TCG): a controller renders its network boot
# tree (lifeboat-controller --netboot-dir) and QEMU's DHCP and TFTP serve it. The recovery image is
# a WIM whose boot managers are stand-ins:
#   BIOS (SeaBIOS + iPXE): \Windows\Boot\PXE\pxeboot.n12 prints "lifeboat-test: pxeboot.n12 (BIOS
#     PXE)" and powers off;
#   UEFI (OVMF, Secure Boot on, Microsoft's keys): \Windows\Boot\EFI\bootmgfw.efi is shim, signed
#     by Microsoft's UEFI CA like the real boot manager. The firmware checks it and starts it; shim
#     then looks for its second stage beside itself, in the recovery folder, and says so: "Failed
#     to load image \lifeboat\recovery\<token>\grubx64.efi" (chainloaded by GRUB from the
#     network it finds no file system to read it from). The machine is then switched off.
# Checked: a machine with a request boots its recovery folder's loader, once (its next network
# boot goes to its local disk); one without a request and an unknown one never see it; each boot is
# in the audit log. Two machines boot at a time.
#   tests/boot/network_recovery_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/tests/boot/netboot.sh"
work=$(mktemp -d /var/tmp/lifeboat-recovery-boot.XXXXXX)
controller_pid=""
trap netboot_cleanup EXIT

# ---- the loaders, no service environment; the image with shim as its UEFI boot manager ----
make_recovery_tree "$repo" "$work"

# ---- the disks: each machine's local boot prints a marker ----
make_local_disks "$work"

# ---- the controller, the image, the fleet ----
start_netboot_controller "$build" "$work" || fail "the controller did not start"
ctl image publish "$work/recovery.wim" --version 1.0 >/dev/null || fail "publish failed"
uuid1=5b7c3e2a-1111-4222-8333-944455556666 mac1=52:54:00:00:00:01
uuid2=6b7c3e2a-1111-4222-8333-944455556666 mac2=52:54:00:00:00:02
uuid3=7b7c3e2a-1111-4222-8333-944455556666 mac3=52:54:00:00:00:03
uuid4=8b7c3e2a-1111-4222-8333-944455556666 mac4=52:54:00:00:00:04
printf 'id,smbios_uuid,macs\nvm1,%s,%s\nvm2,%s,%s\nvm3,%s,%s\nvm4,%s,%s\n' $uuid1 $mac1 $uuid2 $mac2 \
  $uuid3 $mac3 $uuid4 $mac4 >"$work/fleet.csv"
ctl machine import "$work/fleet.csv" >/dev/null || fail "the import failed"

# ---- vm2 (BIOS) and vm1 (UEFI, Secure Boot) are asked for; vm3 is not ----
ctl machine boot-recovery vm2 --network | grep -q "recovery image 1.0" || fail "the request for vm2 failed"
ctl machine boot-recovery vm1 --network --image 1.0 >/dev/null || fail "the request for vm1 failed"
tree_says $uuid2 recovery/
tree_says $uuid1 recovery/
tree_says $uuid3 local
token1=$(grep -o 'recovery/[0-9a-f]*' "$work/tftp/lifeboat/machines/$uuid1.cfg" | cut -d/ -f2)
shim_ran="Failed to load image \\lifeboat\\recovery\\$token1\\grubx64.efi"
boot bios-recovery bios "$work/bios.img" $uuid2 $mac2 &
bios_pid=$!
boot uefi-recovery uefi-secure "$work/uefi.img" $uuid1 $mac1 "$shim_ran"
wait $bios_pid
# (GRUB's BIOS console can lose the end of its last line when it hands over.)
expect bios-recovery "lifeboat-netboot: starting the recovery image 1.0"
expect bios-recovery "lifeboat-test: pxeboot.n12 (BIOS PXE)"
refuse bios-recovery "lifeboat-test: the local disk started"
expect uefi-recovery "lifeboat-netboot: starting the recovery image 1.0 from the network"
expect uefi-recovery "$shim_ran"
refuse uefi-recovery "bad shim signature"
refuse uefi-recovery "Access Denied"
tree_says $uuid2 local
tree_says $uuid1 local

# ---- once: their next network boots, and vm3's, go to the local disk ----
boot bios-after bios "$work/bios.img" $uuid2 $mac2 &
bios_pid=$!
boot uefi-after uefi-secure "$work/uefi.img" $uuid1 $mac1
wait $bios_pid
expect uefi-after "lifeboat-netboot: starting the local"
expect uefi-after "lifeboat-test: the local disk started (UEFI)"
refuse uefi-after "starting the recovery image"
# vm3 has no request; an unknown machine is sent to be introduced (the service environment, which
# does not start here), then on to its local disk.
boot vm3 bios "$work/bios.img" $uuid3 $mac3 &
vm3_pid=$!
cp "$work/bios.img" "$work/unknown.img"  # QEMU locks a disk image: one machine each
boot unknown bios "$work/unknown.img" 9b7c3e2a-1111-4222-8333-944455556666 52:54:00:00:00:09
wait $vm3_pid
expect unknown "lifeboat-netboot: an unknown machine"
for name in bios-after vm3 unknown; do
  expect $name "lifeboat-netboot: starting the local"
  expect $name "lifeboat-test: the local disk started (BIOS)"
  refuse $name "starting the recovery image"
done

# ---- vm4 (BIOS) boots the image's ISO over HTTP: GRUB starts iPXE, which sanboots it as a CD ----
ctl machine boot-recovery vm4 --network --iso | grep -q "its ISO over HTTP" || fail "the ISO request for vm4 failed"
tree_says $uuid4 recovery/
cp "$work/bios.img" "$work/iso.img"
boot iso-recovery bios "$work/iso.img" $uuid4 $mac4
expect iso-recovery "lifeboat-netboot: starting the recovery image 1.0"
expect iso-recovery "etfsboot.com (BIOS CD)"  # the ISO's El Torito boot image (its stand-in)
refuse iso-recovery "lifeboat-test: the local disk started"
tree_says $uuid4 local

# ---- the audit log: one boot each, with the operator who asked ----
audit=$(ctl audit list)
[ "$(grep -c "NetworkRecoveryBoot" <<<"$audit")" -eq 3 ] || { echo "$audit" >&2; fail "the audit log does not hold the three boots"; }
grep "NetworkRecoveryBoot" <<<"$audit" | grep -q "machine vm2" || fail "vm2's boot is not audited"
grep "NetworkRecoveryBoot" <<<"$audit" | grep -q "machine vm1" || fail "vm1's boot is not audited"
echo "network recovery: a BIOS and a Secure Boot UEFI machine booted the recovery image's loaders over the network once each; a BIOS machine booted its ISO over HTTP through iPXE"
