#!/usr/bin/env bash
# Network recovery boots served the way Windows Deployment Services serves them: the firmware loads
# the recovery image's own boot manager, which reads \Boot\BCD. Through real dnsmasq, configured by
# packaging/dnsmasq-lifeboat.conf as shipped but for its two SITE lines, as a proxy DHCP and TFTP
# server beside a separate DHCP server (another dnsmasq, in a network namespace of its own), on a
# bridge in a network namespace where the machines (QEMU, TCG, on tap devices) boot:
#   UEFI (OVMF): the image's \Windows\Boot\EFI\bootmgfw.efi is a GRUB stand-in that prints
#     "lifeboat-test: bootmgfw.efi (UEFI PXE)" and the SHA-256 of the \Boot\BCD it reads from the
#     TFTP server, as the real boot manager reads its store;
#   BIOS (SeaBIOS + iPXE): pxeboot.n12 prints "lifeboat-test: pxeboot.n12 (BIOS PXE)".
# Checked: each machine with a request gets its boot manager from its client root (dnsmasq's
# tftp-unique-root=mac, controller/client_roots.h) with no GRUB before it; the UEFI one reads
# exactly its boot's UEFI store; both boots are audited; their next network boots go through the
# shared loaders and GRUB to their local disks. Then the UEFI machine chooses the site-wide
# entry in GRUB's menu (R, pressed through QEMU's monitor) and restarts: its firmware loads the
# entry's boot manager, which reads exactly the entry's UEFI store through the machine's client
# root, and the choice is audited.
#   tests/boot/network_recovery_dnsmasq_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/tests/boot/netboot.sh"
work=$(mktemp -d /var/tmp/lifeboat-recovery-dnsmasq.XXXXXX)
chmod 755 "$work"  # dnsmasq reads the tree as its own user
controller_pid=""
ns=lbrec$$        # the boot network: the bridge, the machines, Lifeboat's dnsmasq
dhcp_ns=lbrec$$d  # the site's DHCP server
client_ns=lbrec$$c  # reads as a machine's boot manager would
cleanup() {
  for pidfile in "$work/proxy.pid" "$work/dhcp.pid"; do
    [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  ip netns del "$ns" 2>/dev/null || true
  ip netns del "$dhcp_ns" 2>/dev/null || true
  ip netns del "$client_ns" 2>/dev/null || true
  netboot_cleanup
}
trap cleanup EXIT

# ---- the loaders (Debian's shim and GRUB), and no service environment to boot ----
"$repo/packaging/service-env/loaders" "$work/env/loaders" >/dev/null || fail "the loaders were not made"
printf 'not booted here' >"$work/env/vmlinuz"
printf 'not booted here' >"$work/env/initrd.img"

# ---- the recovery image: the media stand-ins, bootmgfw.efi reading \Boot\BCD over TFTP ----
"$repo/tests/fixtures/make-media-standins" "$work/standins"
printf '%s\n' 'echo "lifeboat-test: bootmgfw.efi (UEFI PXE)"' \
  'sha256sum (tftp,10.77.0.1)/Boot/BCD' 'echo "lifeboat-test: read the store"' 'halt' >"$work/bootmgfw.cfg"
modules="normal echo halt net efinet tftp hashsum gcry_sha256"
grub-mkstandalone -O x86_64-efi -o "$work/standins/Windows/Boot/EFI/bootmgfw.efi" \
  --install-modules="$modules" --modules="$modules" --locales= --themes= --fonts= \
  "boot/grub/grub.cfg=$work/bootmgfw.cfg"
"$repo/tests/fixtures/make-test-wim" "$work/recovery.wim" --size-mb 4 --overlay "$work/standins" >/dev/null
make_local_disks "$work"

# ---- the network: a bridge with the machines' taps; the site's DHCP server behind a veth ----
ip netns add "$ns"
ip netns add "$dhcp_ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 type bridge
ip -n "$ns" addr add 10.77.0.1/24 dev br0
ip -n "$ns" link set br0 up
ip -n "$ns" link add veth0 type veth peer name veth1 netns "$dhcp_ns"
ip -n "$ns" link set veth0 master br0 up
ip -n "$dhcp_ns" addr add 10.77.0.2/24 dev veth1
ip -n "$dhcp_ns" link set veth1 up
for tap in tap0 tap1; do
  ip -n "$ns" tuntap add "$tap" mode tap
  ip -n "$ns" link set "$tap" master br0 up
done
ip netns exec "$dhcp_ns" dnsmasq --port=0 --interface=veth1 --bind-interfaces \
  --dhcp-range=10.77.0.100,10.77.0.200,1h --dhcp-boot=,,10.77.0.1 --dhcp-leasefile="$work/leases" \
  --pid-file="$work/dhcp.pid" --log-facility="$work/dhcp.log" || fail "the DHCP server did not start"

# ---- the controller, the image, the fleet; then Lifeboat's dnsmasq on the tree ----
start_netboot_controller "$build" "$work" || fail "the controller did not start"
sed -e 's|^dhcp-range=.*|dhcp-range=10.77.0.0,proxy|' -e "s|^tftp-root=.*|tftp-root=$work/tftp|" \
  "$repo/packaging/dnsmasq-lifeboat.conf" >"$work/lifeboat-dnsmasq.conf"
grep -q "^tftp-root=$work/tftp$" "$work/lifeboat-dnsmasq.conf" || fail "the shipped file has no tftp-root line"
ip netns exec "$ns" dnsmasq --conf-file="$work/lifeboat-dnsmasq.conf" --interface=br0 --bind-interfaces \
  --pid-file="$work/proxy.pid" --log-facility="$work/proxy.log" || fail "Lifeboat's dnsmasq did not start"
ctl image publish "$work/recovery.wim" --version 1.0 >/dev/null || fail "publish failed"
uuid1=5b7c3e2a-1111-4222-8333-944455556666 mac1=52:54:00:00:00:01
uuid2=6b7c3e2a-1111-4222-8333-944455556666 mac2=52:54:00:00:00:02
printf 'id,smbios_uuid,macs\nvm1,%s,%s\nvm2,%s,%s\n' $uuid1 $mac1 $uuid2 $mac2 >"$work/fleet.csv"
ctl machine import "$work/fleet.csv" >/dev/null || fail "the import failed"

# ---- vm1 (UEFI) and vm2 (BIOS) are asked for ----
ctl machine boot-recovery vm1 --network >/dev/null || fail "the request for vm1 failed"
ctl machine boot-recovery vm2 --network >/dev/null || fail "the request for vm2 failed"
tree_says $uuid1 recovery/
tree_says $uuid2 recovery/
token1=$(grep -o 'recovery/[0-9a-f]*' "$work/tftp/lifeboat/machines/$uuid1.cfg" | cut -d/ -f2)
token2=$(grep -o 'recovery/[0-9a-f]*' "$work/tftp/lifeboat/machines/$uuid2.cfg" | cut -d/ -f2)
folder1="$work/tftp/lifeboat/recovery/$token1"
root1="$work/tftp/52-54-00-00-00-01"
[ "$(readlink -f "$root1/uefi/bootx64.efi")" = "$folder1/bootmgfw.efi" ] ||
  fail "vm1's client root does not start its boot manager: $(ls -lR "$root1" 2>&1 | head -20)"
qemu_wrap=(ip netns exec "$ns")
boot_timeout=120
netdev="tap,id=n0,ifname=tap1,script=no,downscript=no" boot bios-recovery bios "$work/bios.img" $uuid2 $mac2 &
bios_pid=$!
netdev="tap,id=n0,ifname=tap0,script=no,downscript=no" boot uefi-recovery uefi "$work/uefi.img" $uuid1 $mac1 \
  "lifeboat-test: read the store"
wait $bios_pid
# (The stores' checksums only now: reading a store counts as its boot under way.)
store_sum=$(sha256sum "$folder1/EFI/Microsoft/Boot/BCD" | cut -d' ' -f1)
bios_sum=$(sha256sum "$work/tftp/lifeboat/recovery/$token2/Boot/BCD" | cut -d' ' -f1)
[ "$store_sum" != "$bios_sum" ] || fail "the UEFI and BIOS stores are the same file"
# (iPXE ends its line after the loader has begun its own: the marker may be split.)
expect bios-recovery "pxeboot.n12 (BIOS PXE)"
refuse bios-recovery "lifeboat-netboot:"  # no GRUB before the boot manager
expect uefi-recovery "lifeboat-test: bootmgfw.efi (UEFI PXE)"
expect uefi-recovery "lifeboat-test: read the store"
expect uefi-recovery "$store_sum"
refuse uefi-recovery "lifeboat-netboot:"
grep -qF "sent $root1/uefi/bootx64.efi" "$work/proxy.log" || fail "dnsmasq did not serve vm1 from its client root"
grep -qF "sent $root1/Boot/BCD" "$work/proxy.log" || fail "dnsmasq did not serve vm1 its \\Boot\\BCD from its client root"
grep -qF "sent $work/tftp/52-54-00-00-00-02/bios/lifeboat.0" "$work/proxy.log" ||
  fail "dnsmasq did not serve vm2 from its client root"
# The stand-in pxeboot.n12 reads nothing more; bootmgr.exe would read \Boot\BCD next: read it as
# vm2 (its MAC, from another namespace), and get BIOS's store of vm2's boot.
ip netns add "$client_ns"
ip -n "$ns" link add veth2 type veth peer name veth3 netns "$client_ns"
ip -n "$ns" link set veth2 master br0 up
ip -n "$client_ns" link set veth3 address $mac2
ip -n "$client_ns" addr add 10.77.0.50/24 dev veth3
ip -n "$client_ns" link set veth3 up
bios_read=$(ip netns exec "$client_ns" curl -s --retry 3 'tftp://10.77.0.1/Boot\BCD' | sha256sum | cut -d' ' -f1)
[ "$bios_read" = "$bios_sum" ] || fail "vm2 is not served its boot's BIOS store as \Boot\BCD"
tree_says $uuid1 local
tree_says $uuid2 local

# ---- once: their next network boots go through GRUB to their local disks ----
netdev="tap,id=n0,ifname=tap1,script=no,downscript=no" boot bios-after bios "$work/bios.img" $uuid2 $mac2 &
bios_pid=$!
netdev="tap,id=n0,ifname=tap0,script=no,downscript=no" boot uefi-after uefi "$work/uefi.img" $uuid1 $mac1
wait $bios_pid
for name in bios-after uefi-after; do
  expect $name "lifeboat-netboot: starting the local"
  refuse $name "lifeboat-test: bootmgfw.efi"
  refuse $name "lifeboat-test: pxeboot.n12"
done
expect bios-after "lifeboat-test: the local disk started (BIOS)"
expect uefi-after "lifeboat-test: the local disk started (UEFI)"

audit=$(ctl audit list)
[ "$(grep -c "NetworkRecoveryBoot" <<<"$audit")" -eq 2 ] || { echo "$audit" >&2; fail "the audit log does not hold the two boots"; }

# ---- the site-wide entry: vm1 chooses it in GRUB's menu (R) and restarts; its firmware loads
# the entry's boot manager, which reads the entry's UEFI store, through vm1's client root ----
ctl recovery-entry publish --image 1.0 --timeout 2m >/dev/null || fail "publishing the entry failed"
for _ in $(seq 1 40); do
  grep -q "configfile" "$work/tftp/lifeboat/machines/$uuid1.cfg" && break
  sleep 0.25
done
entry=$(grep -o 'recovery/[0-9a-f]*/menu.cfg' "$work/tftp/lifeboat/machines/$uuid1.cfg" | cut -d/ -f2)
[ -n "$entry" ] || fail "vm1 is not offered the entry: $(cat "$work/tftp/lifeboat/machines/$uuid1.cfg")"
entry_sum=$(sha256sum "$work/tftp/lifeboat/recovery/$entry/EFI/Microsoft/Boot/BCD" | cut -d' ' -f1)
monitor="unix:$work/uefi-entry.mon,server=on,wait=off" \
  netdev="tap,id=n0,ifname=tap0,script=no,downscript=no" boot uefi-entry uefi "$work/uefi.img" $uuid1 $mac1 &
entry_pid=$!
wait_console uefi-entry "offered (press R)"
sleep 2
press uefi-entry r
wait $entry_pid  # (it restarts, which ends QEMU: -no-reboot)
expect uefi-entry "lifeboat-netboot: restarting into the recovery image's boot manager"
refuse uefi-entry "lifeboat-test: bootmgfw.efi"
# Its firmware's next network boot loads the entry's boot manager from its client root.
[ "$(readlink -f "$root1/uefi/bootx64.efi")" = "$work/tftp/lifeboat/recovery/$entry/bootmgfw.efi" ] ||
  fail "vm1's client root does not start the entry's boot manager"
netdev="tap,id=n0,ifname=tap0,script=no,downscript=no" boot uefi-entry-restart uefi "$work/uefi.img" $uuid1 $mac1 \
  "lifeboat-test: read the store"
expect uefi-entry-restart "lifeboat-test: bootmgfw.efi (UEFI PXE)"
expect uefi-entry-restart "$entry_sum"
refuse uefi-entry-restart "lifeboat-netboot:"
ctl audit list --json >"$work/audit.json"
python3 - "$work/audit.json" <<'PY' || fail "vm1's choice of the entry is not audited: $(cat "$work/audit.json")"
import json, sys
assert any(e["action"] == "NetworkRecoveryBoot" and e["target"] == "machine vm1"
           and "site-wide entry" in e["detail"] and "(UEFI)" in e["detail"]
           for e in json.load(open(sys.argv[1]))["entries"])
PY

echo "network recovery through dnsmasq: the firmware of a UEFI and a BIOS machine loaded their boot's boot manager, which read its own \\Boot\\BCD; their next boots went to their local disks; a UEFI machine chose the site-wide entry, restarted into its boot manager, which read the entry's store"
