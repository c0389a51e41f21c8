#!/usr/bin/env bash
# Benchmark: the agent's image download over gRPC on loopback (lifeboat-bench-download: the
# controller's DownloadImage stream; the running SHA-256 of the file is checked against the
# controller's hash of the image up to each chunk's end before the chunk is written, and the last
# check is the whole image's) against curl fetching the same file from nginx on loopback, in the
# same run, alternating, all writing to a file and fsyncing it. gRPC is TLS only (issue 6), so the
# baseline is curl over HTTPS (TLS 1.3, the controller's own certificate); curl over plain HTTP
# (nginx's sendfile, nothing encrypted) is timed too, for comparison. Prints the throughput ratios
# lifeboat / curl (target >= 0.8 against HTTPS). Needs a build; installs nginx-light if missing.
#   bench/download_vs_curl.sh [--image-mb 500] [--rounds 5]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
image_mb=500 rounds=5
while [ $# -gt 0 ]; do
  case $1 in --image-mb) image_mb=$2; shift 2 ;; --rounds) rounds=$2; shift 2 ;; *) echo "unknown $1" >&2; exit 2 ;; esac
done
if ! command -v nginx >/dev/null; then
  # The baseline's server, installed without starting the distribution's own nginx service.
  install_packages nginx-light
fi
work=$(mktemp -d /var/tmp/lifeboat-bench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT

tests/fixtures/make-test-wim "$work/image.wim" --size-mb "$image_mb" --compress none
sha=$(sha256sum "$work/image.wim" | cut -d' ' -f1)
bytes=$(stat -c %s "$work/image.wim")

build/bin/lifeboat-controller --listen 127.0.0.1:0 --http off --data-dir "$work/controller" > "$work/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "on port" "$work/controller.log" && break; sleep 0.1; done
port=$(grep -o "gRPC on port [0-9]*" "$work/controller.log" | grep -o '[0-9]*$')
ctl() { build/bin/lifeboatctl --controller "127.0.0.1:$port" --ca "$work/controller/ca.pem" \
  --token-file "$work/controller/admin.token" "$@"; }
ctl image publish "$work/image.wim" --version bench --from-path >/dev/null
# The downloading agent's enrollment token: used by the first download, which enrolls.
token=$(ctl token create | tail -1)
mkdir -p "$work/agent"

# nginx serving the same bytes (the controller's own copy of the image), on two free ports: plain
# HTTP, and HTTPS with the controller's certificate.
mkdir -p "$work/nginx/logs"
for http in $(shuf -i 20000-60000 -n 20); do
  https=$((http + 1))
  cat > "$work/nginx/nginx.conf" <<CONF
daemon off;
user root;
worker_processes 1;
error_log $work/nginx/logs/error.log;
pid $work/nginx/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  server { listen 127.0.0.1:$http; root $work/controller/images; }
  server {
    listen 127.0.0.1:$https ssl;
    ssl_certificate $work/controller/tls/server.pem;
    ssl_certificate_key $work/controller/tls/server.key;
    ssl_protocols TLSv1.3;
    root $work/controller/images;
  }
}
CONF
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
  pids+=($!)
  sleep 0.5
  curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$http/$sha.wim" &&
    curl -sf --cacert "$work/controller/ca.pem" -o /dev/null -r 0-0 "https://127.0.0.1:$https/$sha.wim" && break
done

# One round of each first, not counted: the first fetch of the file after publishing is slower for
# whichever goes first.
curl -sf -o "$work/a.wim" "http://127.0.0.1:$http/$sha.wim" && sync -f "$work/a.wim"
curl -sf --cacert "$work/controller/ca.pem" -o "$work/s.wim" "https://127.0.0.1:$https/$sha.wim" && sync -f "$work/s.wim"
build/bin/lifeboat-bench-download "127.0.0.1:$port" "$work/controller/ca.pem" "$work/agent" "$token" \
  "$sha" "$work/b.wim" > /dev/null
total_curl=0 total_tls=0 total_lb=0
run_curl() {
  rm -f "$work/a.wim" "$work/s.wim"
  t_curl=$(seconds bash -c "curl -sf -o '$work/a.wim' 'http://127.0.0.1:$http/$sha.wim' && sync -f '$work/a.wim' || echo curl failed >&2")
  t_tls=$(seconds bash -c "curl -sf --cacert '$work/controller/ca.pem' -o '$work/s.wim' 'https://127.0.0.1:$https/$sha.wim' && sync -f '$work/s.wim' || echo curl failed >&2")
}
run_lifeboat() {
  rm -f "$work/b.wim"
  t_lb=$(build/bin/lifeboat-bench-download "127.0.0.1:$port" "$work/controller/ca.pem" "$work/agent" \
    "$token" "$sha" "$work/b.wim")
}
for i in $(seq 1 "$rounds"); do
  # Alternating which goes first: the one that goes second meets the first one's writeback.
  if [ $((i % 2)) -eq 1 ]; then run_curl; run_lifeboat; else run_lifeboat; run_curl; fi
  printf 'round %d: curl https %.2f s, curl http %.2f s, lifeboat %.2f s (%.0f MB/s)\n' "$i" \
    "$t_tls" "$t_curl" "$t_lb" "$(echo "$bytes / $t_lb / 1000000" | bc -l)"
  total_curl=$(echo "$total_curl + $t_curl" | bc -l); total_tls=$(echo "$total_tls + $t_tls" | bc -l)
  total_lb=$(echo "$total_lb + $t_lb" | bc -l)
done
cmp "$work/a.wim" "$work/b.wim"
cmp "$work/s.wim" "$work/b.wim"
printf 'download throughput over %d rounds of %d bytes, lifeboat / curl over HTTPS: %.2f (target >= 0.8)\n' \
  "$rounds" "$bytes" "$(echo "$total_tls / $total_lb" | bc -l)"
printf 'for comparison, lifeboat / curl over plain HTTP (sendfile, nothing encrypted): %.2f\n' \
  "$(echo "$total_curl / $total_lb" | bc -l)"
