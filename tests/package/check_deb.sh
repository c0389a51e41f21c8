#!/usr/bin/env bash
# Builds the Debian packages (lifeboat-controller, lifeboat-agent, lifeboatctl and their -dbgsym)
# from a finished build folder and checks them with tools we did not write: dpkg-deb (contents,
# control fields, conffiles), file (stripped binaries), readelf (build ids matching the dbgsym
# files), man (the man pages render), lintian (no errors), systemd-analyze (the units), and the
# packaged agent started where the package puts it.
set -euo pipefail
build=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "$*"; exit 1; }
(cd "$build" && cpack -G DEB -B "$out" >/dev/null)
version=$(grep -m1 -o 'CPACK_PACKAGE_VERSION "[^"]*"' "$build/CPackConfig.cmake" | cut -d'"' -f2)
deb() { echo "$out/${1}_${version}_amd64.deb"; }

# ---- each package holds its own part, with its man page, copyright and changelog ----
declare -A files=(
  [lifeboat-controller]="./usr/bin/lifeboat-controller ./usr/lib/systemd/system/lifeboat-controller.service
    ./etc/lifeboat/controller.conf ./usr/share/man/man8/lifeboat-controller.8.gz
    ./usr/share/doc/lifeboat-controller/dashboard.md ./usr/share/doc/lifeboat-controller/openapi.yaml
    ./usr/share/doc/lifeboat-controller/grafana-dashboard.json
    ./usr/share/doc/lifeboat-controller/dnsmasq-lifeboat.conf"
  [lifeboat-agent]="./usr/bin/lifeboat-agent ./usr/libexec/lifeboat/lifeboat-agent-daemon
    ./usr/libexec/lifeboat/lifeboat-agent-contact ./usr/lib/systemd/system/lifeboat-agent.service
    ./etc/lifeboat/agent.conf ./usr/share/lifeboat/service-env/build
    ./usr/share/lifeboat/service-env/init ./usr/share/man/man8/lifeboat-agent.8.gz
    ./usr/share/doc/lifeboat-agent/cli.md"
  [lifeboatctl]="./usr/bin/lifeboatctl ./usr/share/man/man1/lifeboatctl.1.gz
    ./usr/share/doc/lifeboatctl/lifeboatctl.md ./usr/share/doc/lifeboatctl/json.schema.json"
)
for package in lifeboat-controller lifeboat-agent lifeboatctl; do
  [ -f "$(deb "$package")" ] || fail "no package $package: $(ls "$out")"
  contents=$(dpkg-deb -c "$(deb "$package")")
  for f in ${files[$package]} ./usr/share/doc/$package/copyright ./usr/share/doc/$package/changelog.gz; do
    grep -qF " $f" <<<"$contents" || fail "missing from $package: $f"
  done
  # Nothing of another part: each program is in one package only.
  for program in lifeboat-controller lifeboat-agent lifeboatctl; do
    [ "$program" = "$package" ] && continue
    ! grep -qE " \./usr/bin/$program\$" <<<"$contents" || fail "$package holds $program"
  done
  mkdir -p "$out/$package"
  dpkg-deb -x "$(deb "$package")" "$out/$package"
  # The man page renders, and for the command lines lists their commands.
  page=$(find "$out/$package/usr/share/man" -name '*.gz')
  rendered=$(MANWIDTH=100 man -l "$page" 2>/dev/null)
  grep -q "^NAME" <<<"$rendered" || fail "$page does not render: $rendered"
  # Every binary stripped, its symbols in the -dbgsym package under its build id.
  [ -f "$out/${package}-dbgsym_${version}_amd64.ddeb" ] || fail "no ${package}-dbgsym"
  dbgsym=$(dpkg-deb -c "$out/${package}-dbgsym_${version}_amd64.ddeb")
  while IFS= read -r binary; do
    kind=$(file "$binary")  # (read whole: grep -q would stop dpkg-deb or file early, under pipefail)
    grep -q ", stripped" <<<"$kind" || fail "not stripped: $kind"
    id=$(readelf -n "$binary" | awk '/Build ID/ {print $3}')
    grep -qF "./usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" <<<"$dbgsym" ||
      fail "no debug file for $binary (build id $id) in ${package}-dbgsym"
  done < <(find "$out/$package" -type f -exec sh -c 'file "$1" | grep -q ELF' _ {} \; -print)
done
info=$(dpkg-deb -I "$(deb lifeboat-agent)")
grep -q "^ Depends:.*ntfs-3g" <<<"$info" || fail "the agent's Depends lacks ntfs-3g: $info"
info=$(dpkg-deb -I "$(deb lifeboat-controller)")
grep -q "^ Depends:.*libgrpc" <<<"$info" ||
  fail "the controller's Depends lacks the shared libraries (shlibdeps): $info"
for pair in lifeboat-agent:agent.conf lifeboat-controller:controller.conf; do
  dpkg-deb -e "$(deb "${pair%%:*}")" "$out/control-${pair%%:*}"
  grep -qx "/etc/lifeboat/${pair#*:}" "$out/control-${pair%%:*}/conffiles" || fail "${pair#*:} is not a conffile"
done

# ---- lintian: no errors (warnings are printed) ----
lint=$(lintian --tag-display-limit 0 "$out"/*.deb 2>&1 | grep -v "running with root privileges" || true)
[ -z "$lint" ] || echo "$lint"
! grep -q "^E:" <<<"$lint" || fail "lintian finds errors"

# ---- installed where the packages put them ----
# `lifeboat-agent run` finds its daemon, which finds its contact program, which runs (and keeps
# trying to enroll with a controller that is not there).
root="$out/lifeboat-agent"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=test-ca -days 1 \
  -keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null
printf 'controller = 127.0.0.1:1\ndisk = /nonexistent\nstate_dir = %s\nca = %s\nenrollment_token = lbe_test\n' "$out/state" "$out/ca.pem" > "$out/agent.conf"
timeout 3 "$root/usr/bin/lifeboat-agent" run --config "$out/agent.conf" > "$out/agent.log" 2>&1 || true
grep -q "enroll: .*retrying in" "$out/agent.log" || { echo "the packaged agent did not start its daemon and contact:"; cat "$out/agent.log"; exit 1; }
# The units as systemd reads them: valid, and the controller confined: systemd's own score of its
# sandboxing, from 0 (safest) to 10, is at most 4 (--threshold counts tenths); the hardening of
# packaging/lifeboat-controller.service gives 3.2.
for unit in lifeboat-controller lifeboat-agent; do
  sed "s|/usr/bin/|$out/$unit/usr/bin/|" "$out/$unit/usr/lib/systemd/system/$unit.service" > "$out/$unit.service"
  systemd-analyze verify "$out/$unit.service" || fail "$unit.service does not verify"
done
systemd-analyze security --offline=true --threshold=40 "$out/lifeboat-controller.service" >/dev/null \
  || { systemd-analyze security --offline=true "$out/lifeboat-controller.service" | tail -1; exit 1; }
grep -q "^RestartPreventExitStatus=2 3 5" "$root/usr/lib/systemd/system/lifeboat-agent.service" \
  || fail "the agent's unit restarts forever on a refusal that will not change"
grep -q "^tls_names" "$out/lifeboat-controller/etc/lifeboat/controller.conf" \
  && fail "the example config puts a name into the certificate"
echo "ok: $(cd "$out" && ls *.deb *.ddeb | tr '\n' ' ')"
