#!/usr/bin/env bash
# Benchmark: the agent daemon's resident memory and CPU while idle (registered, heartbeating,
# nothing to do) against a controller on loopback, over a fixed window. Target: RSS <= 12 MiB.
# Between heartbeats only lifeboat-agent-daemon is in memory; each heartbeat is a short-lived
# lifeboat-agent-contact, whose own cost is measured at the end.
# Needs root (the agent reads a generated disk image through loop devices) and a build.
#   bench/agent_idle.sh [--seconds 60] [--heartbeat 30]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60 heartbeat=30
while [ $# -gt 0 ]; do
  case $1 in --seconds) seconds=$2; shift 2 ;; --heartbeat) heartbeat=$2; shift 2 ;; *) echo "unknown $1" >&2; exit 2 ;; esac
done
work=$(mktemp -d /var/tmp/lifeboat-bench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
tests/fixtures/make-windows-disk "$work/disk.img" --label gpt --fill-mb 20
build/bin/lifeboat-controller --listen 127.0.0.1:0 --http off --data-dir "$work/controller" \
  --heartbeat-seconds "$heartbeat" > "$work/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "on port" "$work/controller.log" && break; sleep 0.1; done
port=$(grep -o "gRPC on port [0-9]*" "$work/controller.log" | grep -o '[0-9]*$')
token=$(build/bin/lifeboatctl --controller "127.0.0.1:$port" --ca "$work/controller/ca.pem" \
  --token-file "$work/controller/admin.token" token create | tail -1)
printf 'controller = 127.0.0.1:%s\nmachine_id = idle\ndisk = %s\nstate_dir = %s\nca = %s\nenrollment_token = %s\n' \
  "$port" "$work/disk.img" "$work/agent" "$work/controller/ca.pem" "$token" > "$work/agent.conf"
build/bin/lifeboat-agent run --config "$work/agent.conf" > "$work/agent.log" 2>&1 &
agent=$!
pids+=($agent)
sleep 3
ctl() { build/bin/lifeboatctl --controller "127.0.0.1:$port" --ca "$work/controller/ca.pem" \
  --token-file "$work/controller/admin.token" "$@"; }
seen0=$(ctl machine show idle | awk '/last seen/ {print $3}')
# The daemon's own CPU and that of the children it waited for (the inventory reads).
ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$agent/stat"; }
t0=$(ticks)
sleep "$seconds"
t1=$(ticks)
hz=$(getconf CLK_TCK)
seen1=$(ctl machine show idle | awk '/last seen/ {print $3}')
# An idle figure means something only if the agent kept heartbeating meanwhile.
if [ -z "$seen0" ] || [ "$seen0" = "$seen1" ]; then
  echo "the agent did not heartbeat during the window (last seen $seen0, then $seen1):" >&2
  cat "$work/agent.log" >&2
  exit 1
fi
rss=$(awk '/VmRSS/ {print $2}' "/proc/$agent/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
printf 'agent idle over %d s (heartbeat every %d s): RSS %.1f MiB (peak %.1f; target <= 12), CPU %.2f s (%.2f%%)\n' \
  "$seconds" "$heartbeat" "$(echo "$rss / 1024" | bc -l)" "$(echo "$hwm / 1024" | bc -l)" \
  "$(echo "($t1 - $t0) / $hz" | bc -l)" "$(echo "($t1 - $t0) * 100 / $hz / $seconds" | bc -l)"
# Contacts as the daemon starts them for each heartbeat, ten in a row: wall time and CPU each
# (averaged: one is below the clock's 10 ms resolution), and the largest peak RSS.
contacts=$( { /usr/bin/time -f '%e %U %S %M' bash -c "for i in \$(seq 10); do \
  build/bin/lifeboat-agent-contact --config '$work/agent.conf' --agent '$PWD/build/bin/lifeboat-agent' \
  > /dev/null || exit 1; done"; } 2>&1 | tail -1)
echo "$contacts" | awk '{printf "one contact (each heartbeat): %.0f ms, %.1f ms CPU, peak RSS %.1f MiB while it runs\n", $1 * 100, ($2 + $3) * 100, $4 / 1024}'
# Contacts re-read the inventory (a lifeboat-agent child) every 10 minutes, which a short window
# may not include: its cost, amortized.
cpu=$( { /usr/bin/time -f '%U %S' build/bin/lifeboat-agent inventory "$work/disk.img" --state-dir "$work/agent" > /dev/null; } 2>&1 | tail -1)
printf 'inventory read (every 10 min): %.0f ms CPU, %.3f%% of a core amortized\n' \
  "$(echo "$cpu" | awk '{print ($1 + $2) * 1000}')" "$(echo "$cpu" | awk '{print ($1 + $2) * 100 / 600}')"
