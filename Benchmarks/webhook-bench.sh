#!/usr/bin/env bash
# Load test of `kaudit serve` on loopback with the load generator (webhook-load), with
# detection on (the bundled rules), over HTTPS with a client certificate (certificates made
# with openssl in a temporary directory). Usage:
#   Benchmarks/webhook-bench.sh [SECONDS] [CONNECTIONS] [RATE_EVENTS_PER_S (0 = as fast as acknowledged)]
# SERVE_ARGS adds options to `kaudit serve`; SERVE_WRAPPER and LOAD_WRAPPER prefix the server
# and the load generator (SERVE_WRAPPER="taskset -c 0" LOAD_WRAPPER="taskset -c 1" gives each
# one core, halving the server's capacity, to offer it twice what it can take).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}; connections=${2:-8}; rate=${3:-0}
build=.build-release
swift build -c release --scratch-path "$build" --product kaudit >/dev/null
swift build -c release --scratch-path "$build" --product webhook-load >/dev/null
work=$(mktemp -d /tmp/kaudit-webhook-bench.XXXXXX)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=bench-ca 2>/dev/null
for n in server client; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr -subj /CN=$( [ $n = server ] && echo localhost || echo kube-apiserver ) 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > $n.ext
  openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $n.crt -days 1 -extfile $n.ext 2>/dev/null
done
cd - >/dev/null
${SERVE_WRAPPER:-} "$build/release/kaudit" serve --state-dir "$work/state" --listen 127.0.0.1:0 --tls-cert "$work/server.crt" --tls-key "$work/server.key" \
  --client-ca "$work/ca.crt" --allowed-subject kube-apiserver --format ndjson ${SERVE_ARGS:-} >"$work/alerts.ndjson" 2>"$work/serve.err" &
server=$!
for _ in $(seq 1 200); do grep -q 'listening on' "$work/serve.err" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*listening on https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/serve.err")
${LOAD_WRAPPER:-} "$build/release/webhook-load" --port "$port" --connections "$connections" --rate "$rate" --seconds "$seconds" \
  --tls-ca "$work/ca.crt" --client-cert "$work/client.crt" --client-key "$work/client.key" --server-pid $server --verify "$work/state" || status=$?
kill -TERM $server; wait $server || true
echo "alerts      $(wc -l < "$work/alerts.ndjson")"
grep -E 'events stored|duplicates|detection at|alerts ' "$work/serve.err" || true
exit ${status:-0}
