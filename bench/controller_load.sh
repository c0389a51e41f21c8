#!/usr/bin/env bash
# Benchmark: one lifeboat-controller (its own process, embedded SQLite) against N agents played
# over real gRPC on loopback by bench/agent_load.cpp, each heartbeating once per PERIOD seconds on
# a new mutual-TLS connection (as real agents' contacts do), taking assignments and reporting them
# done. A four-wave rollout (1 %, 10 %, 50 %, 100 %) to a
# published image is created after the steady state has run for a while. Prints heartbeats per
# second, p50/p99 latency (and gRPC health checks timed alongside as the baseline), the
# controller's peak RSS and CPU, the CPU per heartbeat of the controller and the load generator
# (less moved by a noisy machine than latency is), and the time the rollout took to reach every
# machine. Prints a line every 30 s as it goes (that window's heartbeat latencies, the rollout's
# progress, the controller's CPU and RSS), and at the end the worst window's p99, so a stall
# shows when it happens.
# Targets on this 2-core machine: 10,000 agents, one heartbeat per 30 s each, p99 < 50 ms, RSS <
# 300 MiB; 100,000 agents, one heartbeat per 300 s each (333/s), p99 < 50 ms in every window
# (rollout creation included), RSS < 512 MiB, every machine reached:
#   bench/controller_load.sh --agents 100000 --period 300 --steady 120 --rollout-timeout 3600
#   bench/controller_load.sh [--agents 10000] [--period 30] [--steady 60] [--rollout-timeout 3600]
set -euo pipefail
cd "$(dirname "$0")/.."
agents=10000 period=30 steady=60 rollout_timeout=3600
while [ $# -gt 0 ]; do
  case $1 in
    --agents) agents=$2; shift 2 ;; --period) period=$2; shift 2 ;; --steady) steady=$2; shift 2 ;;
    --rollout-timeout) rollout_timeout=$2; shift 2 ;;
    *) echo "unknown $1" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d /var/tmp/lifeboat-bench.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

tests/fixtures/make-test-wim "$work/image.wim" --size-mb 8
build/bin/lifeboat-controller --listen 127.0.0.1:0 --http 127.0.0.1:0 --data-dir "$work/controller" \
  --heartbeat-seconds "$period" > "$work/controller.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "on port" "$work/controller.log" && break; sleep 0.1; done
port=$(grep -o "gRPC on port [0-9]*" "$work/controller.log" | grep -o '[0-9]*$')
http=$(grep -o "HTTP on port [0-9]*" "$work/controller.log" | grep -o '[0-9]*$')
build/bin/lifeboatctl --controller "127.0.0.1:$port" --ca "$work/controller/ca.pem" --token-file "$work/controller/admin.token" image publish "$work/image.wim" --version bench-1 2>/dev/null

echo "== $agents agents, one heartbeat every $period s each; rollout after ${steady} s of steady state"
# The load generator's own CPU is printed too: its agents' side of every TLS handshake runs on the
# same two cores as the controller, where real agents would each use their own machine.
/usr/bin/time -f 'load generator CPU: %U s user, %S s system, over %e s' build/bin/lifeboat-bench-agents --controller "127.0.0.1:$port" --ca "$work/controller/ca.pem" --token-file "$work/controller/admin.token" --agents "$agents" --period "$period" \
  --seconds 600 --rollout-image bench-1 --rollout-at "$steady" --rollout-timeout "$rollout_timeout" \
  --controller-pid "$pid"
rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
printf 'controller peak RSS: %.1f MiB (targets: < 300 at 10,000 agents, < 512 at 100,000)\n' "$(echo "$rss_kib / 1024" | bc -l)"
cpu_ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
printf 'controller CPU over the whole run (enrollment included): %.1f s\n' "$(echo "$cpu_ticks / $(getconf CLK_TCK)" | bc -l)"
# Where it went, by thread name: the store's writes of heartbeats, assignments and reports all
# run on store-commit (heartbeat-flush hands it the heartbeats' batches); TLS and the calls run
# on gRPC's threads. Only threads alive at the end are listed: gRPC starts and ends its own as the
# load changes, so the list falls short of the total above.
for task in /proc/$pid/task/*; do
  printf '%s %s\n' "$(cat "$task/comm")" "$(sed 's/.*) //' "$task/stat" | awk '{print $12 + $13}')"
done | awk -v hz="$(getconf CLK_TCK)" '{cpu[$1] += $2} END {
  printf "controller CPU by thread (those alive at the end):"; for (n in cpu) if (cpu[n] > 0) printf " %s %.1f s,", n, cpu[n] / hz; print ""}'
curl -sf --cacert "$work/controller/ca.pem" -H "Authorization: Bearer $(cat "$work/controller/admin.token")" "https://127.0.0.1:$http/metrics" | grep -E '^lifeboat_rpc_duration_seconds_(count|sum)\{method="/lifeboat.v1.AgentService/Heartbeat"' || true
