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
         ./usr/lib/systemd/system/lifeboat-agent.service ./usr/lib/systemd/system/lifeboat-controller.service \
         ./etc/lifeboat/agent.conf ./etc/lifeboat/controller.conf; do
  grep -qF " $f" <<<"$contents" || { echo "missing from the package: $f"; exit 1; }
done
info=$(dpkg-deb -I "$deb")
grep -q "^ Depends:.*ntfs-3g" <<<"$info" || { echo "Depends lacks ntfs-3g:"; echo "$info"; exit 1; }
grep -q "^ Depends:.*libgrpc" <<<"$info" || { echo "Depends lacks the shared libraries (shlibdeps):"; echo "$info"; exit 1; }
dpkg-deb -e "$deb" "$out/control"
grep -qx "/etc/lifeboat/agent.conf" "$out/control/conffiles" || { echo "agent.conf is not a conffile"; exit 1; }
echo "ok: $(basename "$deb")"
