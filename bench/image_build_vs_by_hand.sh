#!/usr/bin/env bash
# lifeboatctl image build against the same work done by hand, in the same run: a 500 MB base WIM
# (LZX) and about 200 MB of additions (tools in a CAB and a ZIP, driver packages, scripts,
# definitions, symbols, debugging tools, a config file). By hand: copy the base (the build must
# not change it), extract what the archives hold (gcab, unzip), write the two start-up files and
# the manifest, and `wimlib-imagex update --check` with an equivalent command file. Lifeboat does
# more (every input and placed file hashed, INFs read, reproducible times, a manifest) and must
# stay within 1.1x. Rounds alternate the two sides with a cold page cache; prints each round and
# the ratio's min/median/max.
#
#   bench/image_build_vs_by_hand.sh [BUILD_DIR] [ROUNDS] [BASE_MB] [ADDITIONS_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build} rounds=${2:-3} base_mb=${3:-500} additions_mb=${4:-200}
ctl=$build/bin/lifeboatctl
[ -x "$ctl" ] || { echo "build first: $ctl is missing" >&2; exit 1; }
work=$(mktemp -d /var/tmp/lifeboat-bench-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

echo "making the inputs: a ${base_mb} MB base, ${additions_mb} MB of additions ..."
tests/fixtures/make-recipe-inputs "$work" --base-mb "$base_mb" --additions-mb "$additions_mb"
src=$work/src
du -sh "$src/winpe.wim" "$src" | sed 's/^/  /'

by_hand() {
  local out=$1 x
  x=$(mktemp -d "$work/hand.XXXXXX")
  cp "$src/winpe.wim" "$out"
  mkdir -p "$x/cab" "$x/zip" "$x/startup"
  gcab -x -C "$x/cab" "$src/Toolsx64.cab" >/dev/null
  unzip -q "$src/sysinternals.zip" 'Autoruns/*' -d "$x/zip"
  printf '@echo off\r\nwpeinit\r\n' > "$x/startup/startnet.cmd"
  printf '[LaunchApps]\r\n' > "$x/startup/winpeshl.ini"
  echo '{}' > "$x/startup/build.json"
  wimlib-imagex update "$out" 1 --check >/dev/null <<CMDS
add '$x/cab' /
add '$x/zip' /
add '$src/drivers/net' /Drivers/net
add '$src/drivers/storage' /Drivers/storage
add '$src/scripts' /Scripts
add '$src/debuggers/x64' '/Program Files/Debugging Tools for Windows (x64)'
add '$src/defs' /Definitions
add '$src/symbols' /Symbols
add '$src/DartConfig.dat' /Windows/System32/DartConfig.dat
add '$x/startup/startnet.cmd' /Windows/System32/startnet.cmd
add '$x/startup/winpeshl.ini' /Windows/System32/winpeshl.ini
add '$x/startup/build.json' /Lifeboat/build.json
CMDS
  rm -rf "$x"
}
lifeboat() { "$ctl" image build "$work/recipe.yaml" --out "$1" >/dev/null 2>&1; }

ratios=()
for i in $(seq 1 "$rounds"); do
  rm -f "$work"/hand.wim "$work"/built.wim*
  sync; echo 3 > /proc/sys/vm/drop_caches
  t_hand=$(seconds by_hand "$work/hand.wim")
  sync; echo 3 > /proc/sys/vm/drop_caches
  t_lb=$(seconds lifeboat "$work/built.wim")
  # Both results hold the same files (the start-up files' and manifest's bytes differ by design).
  diff <(wimlib-imagex dir "$work/hand.wim" 1) <(wimlib-imagex dir "$work/built.wim" 1) >&2 ||
    { echo "the two images hold different files" >&2; exit 1; }
  ratio=$(echo "$t_lb / $t_hand" | bc -l)
  ratios+=("$ratio")
  printf 'round %d: by hand %.2f s, lifeboat %.2f s, ratio %.3f (sizes %s / %s)\n' "$i" "$t_hand" \
    "$t_lb" "$ratio" "$(stat -c %s "$work/hand.wim")" "$(stat -c %s "$work/built.wim")"
done
sorted=$(printf '%s\n' "${ratios[@]}" | sort -g)
printf 'image build / by hand over %d rounds: min %.3f, median %.3f, max %.3f\n' "$rounds" \
  "$(head -1 <<<"$sorted")" "$(sed -n "$(( (rounds + 1) / 2 ))p" <<<"$sorted")" "$(tail -1 <<<"$sorted")"
