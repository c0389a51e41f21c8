#!/usr/bin/env bash
# The service environment boots through real firmware from the network, as a PC would: built by
# packaging/service-env/build, its loaders written by packaging/service-env/loaders, served by
# QEMU's own DHCP and TFTP, and booted (TCG) by
#   - OVMF with Secure Boot on and Microsoft's keys enrolled: shim -> Debian's signed GRUB ->
#     Debian's signed kernel, on a GPT/UEFI Windows-like disk;
#   - the same with the kernel's signature removed: refused, nothing runs;
#   - SeaBIOS: PXE -> GRUB for BIOS -> the kernel, on an MBR/BIOS Windows-like disk.
# Each boot must reach the agent, which reports the machine (SMBIOS UUID from QEMU, firmware,
# Secure Boot state), its network lease and the Windows disk (inventory JSON, checked against
# docs/json.schema.json), then powers off; and the disk must be byte-identical afterwards.
#   tests/boot/service_env_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /var/tmp/lifeboat-boot.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# ---- the environment and its loaders ----
"$repo/packaging/service-env/build" "$work/env" --agent "$build/bin/lifeboat-agent" --level 6 \
  || fail "the build failed"
for f in vmlinuz initrd.img packages.txt; do [ -s "$work/env/$f" ] || fail "build wrote no $f"; done
grep -Eq '^linux-image-[0-9.]+-[0-9]+-amd64 ' "$work/env/packages.txt" || fail "packages.txt names no kernel"
grep -q '^busybox-static ' "$work/env/packages.txt" || fail "packages.txt names no busybox"
grep -q '^libwim15 ' "$work/env/packages.txt" || fail "packages.txt names not the agent's libraries"
size=$(stat -c %s "$work/env/initrd.img")
[ "$size" -le $((60 * 1024 * 1024)) ] || fail "initrd.img is $size bytes, over 60 MiB"
# The kernel is Debian's signed one: sbverify lists its signature.
sbverify --list "$work/env/vmlinuz" | grep -q "Debian Secure Boot Signer" || fail "vmlinuz is not signed by Debian"

tftp="$work/tftp"
"$repo/packaging/service-env/loaders" "$tftp" || fail "the loaders failed"
mkdir -p "$tftp/env"
cp "$work/env/vmlinuz" "$work/env/initrd.img" "$tftp/env/"
cp "$tftp/env/vmlinuz" "$tftp/env/vmlinuz-unsigned"
sbattach --remove "$tftp/env/vmlinuz-unsigned" >/dev/null
! sbverify --list "$tftp/env/vmlinuz-unsigned" 2>/dev/null | grep -q "Debian Secure Boot Signer" ||
  fail "sbattach left the signature on"
# What the controller will write for a machine with work (a fixture here): the service
# environment, powering off afterwards so that QEMU ends (GRUB halts if the kernel is refused).
boot_config() {
  cat >"$tftp/grub/grub.cfg" <<EOF
smbios --type 1 --get-uuid 8 --set uuid
echo "lifeboat-netboot: uuid=\$uuid"
linux /env/$1 console=ttyS0 lifeboat.after=poweroff quiet
initrd /env/initrd.img
boot
echo "lifeboat-netboot: the boot failed"
halt
EOF
}

# ---- the disks ----
"$repo/tests/fixtures/make-windows-disk" "$work/gpt.img" --label gpt --disk-size 2G --windows-size 1500M --fill-mb 20 >/dev/null
"$repo/tests/fixtures/make-windows-disk" "$work/mbr.img" --label mbr --disk-size 2G --windows-size 1500M --fill-mb 20 >/dev/null
gpt_sum=$(sha256sum <"$work/gpt.img")
mbr_sum=$(sha256sum <"$work/mbr.img")

# boot NAME FIRMWARE DISK UUID: a machine network-booting from $tftp; its serial console in
# $work/NAME.log with the firmware's control sequences removed.
boot() {
  local name=$1 firmware=$2 disk=$3 uuid=$4 bootfile machine firmware_args=()
  case "$firmware" in
    uefi-secure)
      cp /usr/share/OVMF/OVMF_VARS_4M.ms.fd "$work/$name.vars"
      machine=q35,smm=on
      bootfile=uefi/bootx64.efi
      firmware_args=(-global driver=cfi.pflash01,property=secure,value=on
        -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
        -drive "if=pflash,format=raw,unit=1,file=$work/$name.vars")
      ;;
    bios)
      machine=q35
      bootfile=bios/lifeboat.0
      ;;
  esac
  # romfile= on UEFI: OVMF's own network stack, whose TFTP tells shim the file's size (iPXE's
  # option ROM does not, and shim then fails to check GRUB). SeaBIOS needs iPXE's ROM for PXE.
  local rom=""
  [ "$firmware" = bios ] || rom=",romfile="
  local start=$SECONDS
  timeout 300 qemu-system-x86_64 -accel tcg -machine "$machine" -m 1024 -nographic -no-reboot \
    "${firmware_args[@]}" -smbios "type=1,uuid=$uuid" \
    -netdev "user,id=n0,tftp=$tftp,bootfile=$bootfile" -device "virtio-net-pci,netdev=n0,bootindex=1$rom" \
    -drive "file=$disk,format=raw,if=none,id=d0" -device virtio-blk-pci,drive=d0,bootindex=2 \
    -serial "file:$work/$name.raw" -monitor none -display none >"$work/$name.qemu" 2>&1 || true
  sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\r//g' "$work/$name.raw" >"$work/$name.log"
  echo "$name: $((SECONDS - start)) s from power-on to power-off (QEMU TCG)"
}
show() {
  echo "---- $1's console ----" >&2
  grep -a -v '^\s*$' "$work/$1.log" | tail -40 >&2
}
expect() {
  grep -aqF -- "$2" "$work/$1.log" || { show "$1"; fail "$1: the console never said: $2"; }
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
disk, = inv["disks"]
assert disk["path"] == "/dev/vda" and disk["label"] == label, disk
assert "windows" in [p["role"] for p in disk["partitions"]], disk["partitions"]
EOF
}

# ---- UEFI with Secure Boot ----
boot_config vmlinuz
uuid1=5b7c3e2a-1111-4222-8333-944455556666
boot uefi uefi-secure "$work/gpt.img" $uuid1
expect uefi "lifeboat-netboot: uuid=$uuid1"
expect uefi "lifeboat-service: machine $uuid1 (uefi, secure boot on), adapters 52:54:00:12:34:56"
expect uefi "lifeboat-service: network on eth0: 10.0.2.15/24"
expect uefi "lifeboat-service: disks vda(2048 MiB)"
expect uefi "lifeboat-service: inventory done (0)"
expect uefi "lifeboat-service: powering off"
inventory uefi uefi gpt
[ "$(sha256sum <"$work/gpt.img")" = "$gpt_sum" ] || fail "uefi: the disk changed"

# ---- the same machine, the kernel's signature removed: Secure Boot stops it ----
boot_config vmlinuz-unsigned
boot unsigned uefi-secure "$work/gpt.img" $uuid1
expect unsigned "lifeboat-netboot: uuid=$uuid1"
expect unsigned "bad shim signature"
if grep -aq "lifeboat-service:" "$work/unsigned.log"; then
  show unsigned
  fail "unsigned: an unsigned kernel ran under Secure Boot"
fi

# ---- BIOS ----
boot_config vmlinuz
uuid2=6b7c3e2a-1111-4222-8333-944455556666
boot bios bios "$work/mbr.img" $uuid2
expect bios "lifeboat-netboot: uuid=$uuid2"
expect bios "lifeboat-service: machine $uuid2 (bios), adapters 52:54:00:12:34:56"
expect bios "lifeboat-service: network on eth0: 10.0.2.15/24"
expect bios "lifeboat-service: inventory done (0)"
inventory bios bios mbr
[ "$(sha256sum <"$work/mbr.img")" = "$mbr_sum" ] || fail "bios: the disk changed"

echo "service environment: initrd.img $((size / 1024 / 1024)) MiB (zstd -6), booted under OVMF Secure Boot and SeaBIOS"
