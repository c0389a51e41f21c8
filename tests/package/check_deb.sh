#!/usr/bin/env bash
# Builds the Debian package from a finished build folder and checks it with dpkg-deb.
set -euo pipefail
build=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd "$build" && cpack -G DEB -B "$out" >/dev/null)
deb=$(ls "$out"/lifeboat_*.deb)
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/lifeboat-agent ./usr/bin/lifeboat-controller ./usr/bin/lifeboatctl \
         ./usr/libexec/lifeboat/lifeboat-agent-daemon ./usr/libexec/lifeboat/lifeboat-agent-contact \
         ./usr/lib/systemd/system/lifeboat-agent.service ./usr/lib/systemd/system/lifeboat-controller.service \
         ./etc/lifeboat/agent.conf ./etc/lifeboat/controller.conf \
         ./usr/share/lifeboat/service-env/build ./usr/share/lifeboat/service-env/init \
         ./usr/share/doc/lifeboat/dnsmasq-lifeboat.conf; do
  grep -qF " $f" <<<"$contents" || { echo "missing from the package: $f"; exit 1; }
done
info=$(dpkg-deb -I "$deb")
grep -q "^ Depends:.*ntfs-3g" <<<"$info" || { echo "Depends lacks ntfs-3g:"; echo "$info"; exit 1; }
grep -q "^ Depends:.*libgrpc" <<<"$info" || { echo "Depends lacks the shared libraries (shlibdeps):"; echo "$info"; exit 1; }
dpkg-deb -e "$deb" "$out/control"
grep -qx "/etc/lifeboat/agent.conf" "$out/control/conffiles" || { echo "agent.conf is not a conffile"; exit 1; }
# Installed where the package puts it, `lifeboat-agent run` finds its daemon, which finds its
# contact program, which runs (and keeps trying to enroll with a controller that is not there).
dpkg-deb -x "$deb" "$out/root"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=test-ca -days 1 \
  -keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null
printf 'controller = 127.0.0.1:1\ndisk = /nonexistent\nstate_dir = %s\nca = %s\nenrollment_token = lbe_test\n' "$out/state" "$out/ca.pem" > "$out/agent.conf"
timeout 3 "$out/root/usr/bin/lifeboat-agent" run --config "$out/agent.conf" > "$out/agent.log" 2>&1 || true
grep -q "enroll: .*retrying in" "$out/agent.log" || { echo "the packaged agent did not start its daemon and contact:"; cat "$out/agent.log"; exit 1; }
# The units as systemd reads them: valid, and the controller confined: systemd's own score of its
# sandboxing, from 0 (safest) to 10, is at most 4 (--threshold counts tenths); the hardening of
# packaging/lifeboat-controller.service gives 3.2.
units="$out/root/usr/lib/systemd/system"
for unit in lifeboat-controller lifeboat-agent; do
  sed "s|/usr/bin/|$out/root/usr/bin/|" "$units/$unit.service" > "$out/$unit.service"
  systemd-analyze verify "$out/$unit.service" || { echo "$unit.service does not verify"; exit 1; }
done
systemd-analyze security --offline=true --threshold=40 "$out/lifeboat-controller.service" >/dev/null \
  || { systemd-analyze security --offline=true "$out/lifeboat-controller.service" | tail -1; exit 1; }
grep -q "^RestartPreventExitStatus=2 3 5" "$units/lifeboat-agent.service" \
  || { echo "the agent's unit restarts forever on a refusal that will not change"; exit 1; }
grep -q "^tls_names" "$out/root/etc/lifeboat/controller.conf" \
  && { echo "the example config puts a name into the certificate"; exit 1; }
echo "ok: $(basename "$deb")"
