#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang-16 (ASan + UBSan) and runs each for RUNS
# executions (default 10 million) from its seed corpus in fuzz/corpus/<target>, printing the
# executions, the time and the coverage reached. Crashes are saved under build-fuzz/crashes and
# stop the run; each one found becomes a regression test in tests/.
#   fuzz/run.sh [RUNS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}; shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(disk_model bcd_hive bcd_element wim config bitlocker compose)

scripts/setup >/dev/null
need=()
for p in clang-16 libclang-rt-16-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLIFEBOAT_FUZZ=ON -DLIFEBOAT_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz --target $(printf '%s_fuzz ' "${targets[@]}")

fuzz/make-corpus build-fuzz/corpus
mkdir -p build-fuzz/crashes
for t in "${targets[@]}"; do
  work=build-fuzz/work/$t
  mkdir -p "$work"
  start=$(date +%s)
  # -runs counts executions; -rss_limit_mb guards against inputs that make a decoder allocate
  # without bound, which counts as a finding too.
  max_len=65536
  [ "$t" = bcd_hive ] && max_len=300000  # real stores are up to a few hundred KiB
  # allocator_may_return_null: a decoder asking for an absurd allocation (wimlib does, for sizes
  # read from a header) gets NULL as from glibc, instead of ASan stopping the run.
  # close_fd_mask=3: wimlib and libxml2 print an error per bad input (gigabytes of log over a run);
  # libFuzzer's own report still goes to the log.
  # lsan-suppressions.txt: leaks of libraries we call, each explained there.
  ASAN_OPTIONS=allocator_may_return_null=1 LSAN_OPTIONS=suppressions=fuzz/lsan-suppressions.txt \
  build-fuzz/bin/${t}_fuzz -runs="$runs" -rss_limit_mb=2048 -max_len=$max_len -print_final_stats=1 \
    -close_fd_mask=3 \
    -artifact_prefix=build-fuzz/crashes/$t- "$work" build-fuzz/corpus/$t > build-fuzz/$t.log 2>&1 \
    || { echo "$t: FOUND A CRASH (build-fuzz/$t.log, build-fuzz/crashes/)"; tail -30 build-fuzz/$t.log; exit 1; }
  end=$(date +%s)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' build-fuzz/$t.log | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' build-fuzz/$t.log | tail -1)
  echo "$t: $execs executions in $((end - start)) s, $cov, 0 crashes"
done
