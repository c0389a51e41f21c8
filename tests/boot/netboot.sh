# The controller and the machines that network-boot from it through real firmware in QEMU (TCG),
# as the boot test and the service-visit benchmark start them. Source it; then
#   start_netboot_controller BUILD_DIR WORK
# generates a signing key (WORK/signer.key, .pub) and starts a controller (gRPC on a free port,
# no HTTP API) whose netboot tree is WORK/tftp, also served over HTTP on a free port (GRUB loads
# the kernel and initrd from there), serving the service environment in WORK/env to
# machines that reach it at 10.0.2.2 and power off after their visit; it sets `port` and
# `controller_pid`, logs to WORK/controller.log, and fails if the controller does not start;
#   netboot_args FIRMWARE VARS_DIR UUID MAC TFTP DISK [NETDEV]
# fills the array `qemu_args` for qemu-system-x86_64 (without the serial port and memory size):
#   uefi-secure  OVMF with Secure Boot on and Microsoft's keys (its variables kept in
#                VARS_DIR/UUID.vars, so a machine keeps them across boots); loads uefi/bootx64.efi
#   uefi         OVMF without Secure Boot (variables as above)
#   bios         SeaBIOS with iPXE's PXE ROM; loads bios/lifeboat.0
# QEMU's user network gives DHCP and TFTP from TFTP; the host is 10.0.2.2. NETDEV replaces it
# (-netdev NETDEV, with id=n0). The disk is DISK, raw, on virtio, after the network in the boot
# order.
#   make_recovery_tree REPO WORK   WORK/env: the loaders (Debian's shim and GRUB) and a service
#       environment that is never booted; WORK/recovery.wim: a recovery image of the media
#       stand-ins, with shim (signed by Microsoft's UEFI CA) as its bootmgfw.efi
#   make_local_disks WORK   WORK/bios.img and WORK/uefi.img: disks whose own boot prints
#                           "lifeboat-test: the local disk started (BIOS)" / "(UEFI)"
#   boot NAME FIRMWARE DISK UUID MAC [UNTIL]   a machine of $work network-booting (netboot_args,
#       from $work/tftp, on ${netdev:-QEMU's user network}, run through ${qemu_wrap[@]:-nothing})
#       until it powers off, or until its console says UNTIL; its console in $work/NAME.log
#   expect NAME TEXT / refuse NAME TEXT   fail unless / if the machine's console said TEXT
#   monitor=unix:$work/NAME.mon,server=on,wait=off boot NAME ... &   a machine whose QEMU monitor
#       takes keys:  wait_console NAME TEXT  waits (up to 120 s) until its console says TEXT;
#       press NAME KEY...  presses keys on its keyboard (QEMU's sendkey names: r, ret, esc, c)
#   netboot_cleanup   (for trap ... EXIT) kills the machines and the controller of WORK ($work),
#                     and removes WORK unless KEEP is set
#   fail MESSAGE      ends the test; ctl ARGS... runs lifeboatctl against the controller as admin
netboot_cleanup() {
  # Machines still booting in the background when a check failed: their disks are in $work.
  pkill -f "qemu-system-x86_64 .*$work/" 2>/dev/null || true
  [ -z "${controller_pid:-}" ] || kill "$controller_pid" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ctl() {
  "$build/bin/lifeboatctl" --controller "127.0.0.1:$port" --ca "$work/data/ca.pem" \
    --token-file "$work/data/admin.token" "$@"
}

# tree_says UUID WHAT: waits (up to 20 s) until the tree sends the machine with this UUID to WHAT
# (service, local, recovery/), else fails.
tree_says() {
  for _ in $(seq 1 80); do
    grep -q "source /lifeboat/$2" "$work/tftp/lifeboat/machines/$1.cfg" 2>/dev/null && return 0
    sleep 0.25
  done
  fail "the netboot tree does not send $1 to $2: $(cat "$work/tftp/lifeboat/machines/$1.cfg" 2>&1)"
}

netboot_args() {
  local firmware=$1 vars_dir=$2 uuid=$3 mac=$4 tftp=$5 disk=$6 netdev=${7:-} machine bootfile
  local rom=""
  local firmware_args=()
  case "$firmware" in
    uefi-secure)
      [ -f "$vars_dir/$uuid.vars" ] || cp /usr/share/OVMF/OVMF_VARS_4M.ms.fd "$vars_dir/$uuid.vars"
      machine=q35,smm=on
      bootfile=uefi/bootx64.efi
      firmware_args=(-global driver=cfi.pflash01,property=secure,value=on
        -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
        -drive "if=pflash,format=raw,unit=1,file=$vars_dir/$uuid.vars")
      # OVMF's own network stack (no option ROM): its TFTP tells shim the file's size (iPXE's
      # UEFI ROM does not, and shim then fails to check GRUB).
      rom=",romfile="
      ;;
    uefi)
      [ -f "$vars_dir/$uuid.vars" ] || cp /usr/share/OVMF/OVMF_VARS_4M.fd "$vars_dir/$uuid.vars"
      machine=q35
      bootfile=uefi/bootx64.efi
      firmware_args=(-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
        -drive "if=pflash,format=raw,unit=1,file=$vars_dir/$uuid.vars")
      rom=",romfile="
      ;;
    bios)
      machine=q35
      bootfile=bios/lifeboat.0
      ;;
    *) echo "netboot_args: unknown firmware $firmware" >&2; return 2 ;;
  esac
  qemu_args=(-accel tcg -machine "$machine" -nographic -no-reboot -display none -monitor "${monitor:-none}"
    "${firmware_args[@]}" -smbios "type=1,uuid=$uuid"
    -netdev "${netdev:-user,id=n0,tftp=$tftp,bootfile=$bootfile}"
    -device "virtio-net-pci,netdev=n0,mac=$mac,bootindex=1$rom"
    -drive "file=$disk,format=raw,if=none,id=d0" -device virtio-blk-pci,drive=d0,bootindex=2)
}

start_netboot_controller() {
  local build=$1 work=$2
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$build/bin/lifeboatctl" key generate --out "$work/signer" >/dev/null
  "$build/bin/lifeboat-controller" --listen "127.0.0.1:$port" --http off --heartbeat-seconds 2 \
    --data-dir "$work/data" --netboot-dir "$work/tftp" --service-env "$work/env" \
    --netboot-address "10.0.2.2:$port" --netboot-trusted-keys "$work/signer.pub" \
    --netboot-http 127.0.0.1:0 \
    --netboot-kernel-args "quiet console=ttyS0 lifeboat.after=poweroff" >"$work/controller.log" 2>&1 &
  controller_pid=$!
  for _ in $(seq 1 100); do grep -q "gRPC on port" "$work/controller.log" && break; sleep 0.1; done
  grep -q "network boot tree in $work/tftp" "$work/controller.log" || { cat "$work/controller.log" >&2; return 1; }
}

make_recovery_tree() {
  local repo=$1 work=$2
  "$repo/packaging/service-env/loaders" "$work/env/loaders" >/dev/null || fail "the loaders were not made"
  printf 'not booted here' >"$work/env/vmlinuz"
  printf 'not booted here' >"$work/env/initrd.img"
  "$repo/tests/fixtures/make-media-standins" "$work/standins"
  cp /var/cache/lifeboat/service-env/shim-signed/usr/lib/shim/shimx64.efi.signed \
    "$work/standins/Windows/Boot/EFI/bootmgfw.efi"
  "$repo/tests/fixtures/make-test-wim" "$work/recovery.wim" --size-mb 4 --overlay "$work/standins" >/dev/null
}

make_local_disks() {
  local work=$1 esp grub_signed
  # BIOS: MBR code writing to COM1 and powering the q35 machine off (ACPI PM1a, port 0x604).
  truncate -s 64M "$work/bios.img"
  {
    printf '\x31\xc0\x8e\xd8\xba\xf8\x03\xbe\x1d\x7c\xfc\xac\x84\xc0\x74\x03\xee\xeb\xf8'
    printf '\xba\x04\x06\xb8\x00\x20\xef\xf4\xeb\xfd'
    printf 'lifeboat-test: the local disk started (BIOS)\r\n\0'
  } | dd of="$work/bios.img" conv=notrunc status=none
  printf '\x55\xaa' | dd of="$work/bios.img" bs=1 seek=510 conv=notrunc status=none
  # UEFI: an ESP whose \EFI\Microsoft\Boot\bootmgfw.efi is shim, starting Debian's signed GRUB
  # beside it, whose grub.cfg prints the marker.
  truncate -s 64M "$work/uefi.img"
  printf 'label: gpt\nstart=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n' | sfdisk -q "$work/uefi.img"
  mkfs.vfat --offset 2048 "$work/uefi.img" $((64 * 1024 - 1024 - 17)) >/dev/null
  esp="$work/uefi.img@@1M"
  grub_signed=$(find /var/cache/lifeboat/service-env/grub-efi-amd64-signed -name grubx64.efi.signed | head -1)
  printf 'echo "lifeboat-test: the local disk started (UEFI)"\nhalt\n' >"$work/local.cfg"
  mmd -i "$esp" ::/EFI ::/EFI/Microsoft ::/EFI/Microsoft/Boot ::/EFI/debian
  mcopy -i "$esp" /var/cache/lifeboat/service-env/shim-signed/usr/lib/shim/shimx64.efi.signed ::/EFI/Microsoft/Boot/bootmgfw.efi
  mcopy -i "$esp" "$grub_signed" ::/EFI/Microsoft/Boot/grubx64.efi
  mcopy -i "$esp" "$work/local.cfg" ::/EFI/debian/grub.cfg
  mcopy -i "$esp" "$work/local.cfg" ::/EFI/Microsoft/Boot/grub.cfg
}

boot() {
  local name=$1 firmware=$2 disk=$3 uuid=$4 mac=$5 until=${6:-}
  netboot_args "$firmware" "$work" "$uuid" "$mac" "$work/tftp" "$disk" "${netdev:-}"
  local start=$SECONDS
  : >"$work/$name.raw"
  ${qemu_wrap[@]+"${qemu_wrap[@]}"} timeout "${boot_timeout:-300}" qemu-system-x86_64 "${qemu_args[@]}" -m 512 \
    -serial "file:$work/$name.raw" >"$work/$name.qemu" 2>&1 &
  local qemu=$!
  if [ -n "$until" ]; then
    while kill -0 $qemu 2>/dev/null && ! grep -aqF -- "$until" "$work/$name.raw"; do sleep 0.5; done
    sleep 1  # the rest of the line
    kill $qemu 2>/dev/null || true
  fi
  wait $qemu || true
  sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\r//g' "$work/$name.raw" >"$work/$name.log"
  echo "$name: $((SECONDS - start)) s from power-on to power-off (QEMU TCG)"
}
expect() {
  grep -aqF -- "$2" "$work/$1.log" || {
    grep -a -v '^\s*$' "$work/$1.log" | tail -30 >&2
    fail "$1: the console never said: $2"
  }
}
refuse() {
  ! grep -aqF -- "$2" "$work/$1.log" || { tail -30 "$work/$1.log" >&2; fail "$1: the console said: $2"; }
}
wait_console() {
  # (As the log will be read: without terminal escapes, and with lines joined, since the BIOS
  # console breaks long lines and may move the cursor in the middle of one.)
  for _ in $(seq 1 240); do
    sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\r//g' "$work/$1.raw" 2>/dev/null | tr -d '\n' |
      grep -aqF -- "$2" && return 0
    sleep 0.5
  done
  fail "$1: the console never said: $2"
}
press() {
  local name=$1
  shift
  python3 - "$work/$name.mon" "$@" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
for key in sys.argv[2:]:
    s.sendall(("sendkey %s\n" % key).encode())
    time.sleep(0.3)
s.close()
PY
}
