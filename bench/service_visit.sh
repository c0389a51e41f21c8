#!/usr/bin/env bash
# Benchmark: a service visit of a UEFI machine (OVMF, Secure Boot on) network-booting the service
# environment from a real controller and installing an IMAGE_MB image, in QEMU with TCG: no KVM
# on these machines, so every figure below is an emulated machine's, many times slower than a
# real PC's. Printed, with baselines measured in the same run (this machine is noisy):
#   - the initramfs's size;
#   - power-on to the agent's first report (the controller's answer to the contact, its
#     "visit: service" line), against the floor of any boot of this kernel and initramfs:
#     power-on to the init's first line;
#   - the whole visit, power-on to power-off, against the same install done natively on the host
#     (`lifeboat-agent apply` of the same image onto a copy of the same disk): what firmware,
#     network boot, download and emulation add to the disk work itself.
# Needs root and a build (./run test or ./run demo builds it); installs nothing beyond setup.
#   bench/service_visit.sh [--image-mb 500]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
source tests/boot/netboot.sh
image_mb=500
while [ $# -gt 0 ]; do
  case $1 in --image-mb) image_mb=$2; shift 2 ;; *) echo "unknown $1" >&2; exit 2 ;; esac
done
build=$(pwd)/build
work=$(mktemp -d /var/tmp/lifeboat-bench.XXXXXX)
controller_pid=""
cleanup() {
  [ -z "$controller_pid" ] || kill "$controller_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== the service environment"
packaging/service-env/build "$work/env" --agent "$build/bin/lifeboat-agent" --level 6 >/dev/null
initrd=$(stat -c %s "$work/env/initrd.img")
printf 'initrd.img: %.1f MiB (zstd -6), vmlinuz: %.1f MiB\n' "$(echo "$initrd / 1048576" | bc -l)" \
  "$(echo "$(stat -c %s "$work/env/vmlinuz") / 1048576" | bc -l)"

echo "== a ${image_mb} MB image and a 6 GiB GPT/UEFI Windows-like disk with room for it"
tests/fixtures/make-test-wim "$work/image.wim" --size-mb "$image_mb" --compress none
printf 'image: %.0f MB\n' "$(echo "$(stat -c %s "$work/image.wim") / 1000000" | bc -l)"
tests/fixtures/make-windows-disk "$work/pristine.img" --label gpt --disk-size 6G --fill-mb 20 >/dev/null

echo "== baseline: the install natively on the host"
cp --sparse=always "$work/pristine.img" "$work/host.img"
sync; echo 3 > /proc/sys/vm/drop_caches
host_apply() {
  "$build/bin/lifeboat-agent" apply "$work/host.img" --image "$work/image.wim" --version 1.0 \
    --state-dir "$work/host-state" >/dev/null
}
t_host=$(seconds host_apply)
printf 'host apply: %.1f s\n' "$t_host"

echo "== the controller with the image published and the machine in a rollout"
start_netboot_controller "$build" "$work" || fail "the controller did not start"
ctl image publish "$work/image.wim" --version 1.0 --sign-key "$work/signer.key" >/dev/null
uuid=5b7c3e2a-1111-4222-8333-944455556666 mac=52:54:00:00:00:01
printf 'id,smbios_uuid,macs,name,labels\nvm1,%s,%s,,\n' $uuid $mac >"$work/fleet.csv"
ctl machine import "$work/fleet.csv" >/dev/null
ctl rollout create --image 1.0 --machine vm1 >/dev/null
for _ in $(seq 1 80); do
  grep -q "source /lifeboat/service.cfg" "$work/tftp/lifeboat/machines/$uuid.cfg" 2>/dev/null && break
  sleep 0.25
done

echo "== the visit (QEMU TCG, 2 GiB of memory: the image is downloaded into the RAM disk)"
cp --sparse=always "$work/pristine.img" "$work/vm.img"
sync; echo 3 > /proc/sys/vm/drop_caches
netboot_args uefi-secure "$work" "$uuid" "$mac" "$work/tftp" "$work/vm.img"
# The serial console, each line stamped with the seconds since QEMU started (power-on).
timeout 1800 qemu-system-x86_64 "${qemu_args[@]}" -m 2048 -serial stdio 2>"$work/qemu.err" |
  perl -MTime::HiRes=time -ne 'BEGIN { $| = 1; $t0 = time } s/\e\[[0-9;?]*[A-Za-z]//g; s/\r//g;
    printf "%.2f %s", time - $t0, $_' >"$work/console.log" || true
stamp() { grep -a -m1 -F -- "$1" "$work/console.log" | cut -d' ' -f1; }
t_init=$(stamp "lifeboat-service: machine")
t_report=$(stamp "visit: service: machine vm1")
t_assigned=$(stamp "assignment: install 1.0")
t_installed=$(stamp "installed 1.0")
t_end=$(stamp "lifeboat-service: powering off")
[ -n "$t_init" ] && [ -n "$t_report" ] && [ -n "$t_assigned" ] && [ -n "$t_installed" ] && [ -n "$t_end" ] || { tail -30 "$work/console.log" >&2; fail "the visit did not reach the controller"; }
grep -aq "installed 1.0" "$work/console.log" && grep -aq "lifeboat-service: visit finished (0)" "$work/console.log" ||
  { tail -30 "$work/console.log" >&2; fail "the visit did not install 1.0"; }
ctl machine show vm1 | grep -q "done succeeded" || fail "the controller has no finished install"

echo
echo "== results (QEMU TCG; a real PC boots and runs several times faster)"
printf 'power-on to the init'"'"'s first line (floor of any boot of this kernel + initramfs): %.1f s\n' "$t_init"
printf 'power-on to the agent'"'"'s first report: %.1f s, %.2f x the floor (%.1f s in the environment before it reports)\n' \
  "$t_report" "$(echo "$t_report / $t_init" | bc -l)" "$(echo "$t_report - $t_init" | bc -l)"
printf 'whole visit, power-on to power-off, %s MB image: %.1f s, %.2f x the same install natively on the host (%.1f s)\n' \
  "$image_mb" "$t_end" "$(echo "$t_end / $t_host" | bc -l)" "$t_host"
printf 'of which the assignment (download, check, apply, report): %.1f s\n' "$(echo "$t_installed - $t_assigned" | bc -l)"
