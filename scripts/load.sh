#!/usr/bin/env bash
# Loopback load test (wrk): axum GET /users/{id}, bare vs traced, with the agent up (a local
# sink that accepts the agent's endpoints and discards the payloads) and down (nothing
# listening). Prints requests/s and p99 per case. Traffic stays on 127.0.0.1.
# Usage: scripts/load.sh [seconds per case, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
conns="${2:-32}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --quiet --release -p ddtrace-axum --example load
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/examples/load"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

sink_port=$(free_port)
python3 - "$sink_port" <<'PY' &
import http.server, sys, threading
received = {"requests": 0, "bytes": 0}
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _answer(self):
        n = int(self.headers.get("content-length", 0))
        self.rfile.read(n)
        received["requests"] += 1
        received["bytes"] += n
        body = b'{"rate_by_service":{}}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_PUT = do_POST = do_GET = _answer
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY
sink_pid=$!
trap 'kill $sink_pid 2>/dev/null || true' EXIT
down_port=$(free_port)   # nothing listens there

run_case() { # name mode agent_url
  local name=$1 mode=$2 agent=$3 port
  port=$(free_port)
  env -u DD_SERVICE PORT="$port" LOAD_MODE="$mode" DD_SERVICE=load DD_TRACE_AGENT_URL="$agent" \
    DD_INSTRUMENTATION_TELEMETRY_ENABLED=false "$bin" 2>/dev/null &
  local pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/users/0" >/dev/null 2>&1 && break
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/users/0')" 2>/dev/null && break
    sleep 0.1
  done
  local out rss
  out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/users/42")
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  local rps p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  printf '%-34s %12s req/s   p99 %-9s  RSS %6s KiB\n' "$name" "$rps" "$p99" "$rss"
}

echo "wrk -t1 -c$conns -d${secs}s, axum GET /users/{id}, release build"
run_case "bare" bare "http://127.0.0.1:$down_port"
run_case "DatadogLayer, agent up (sink)" traced "http://127.0.0.1:$sink_port"
run_case "DatadogLayer, agent down" traced "http://127.0.0.1:$down_port"
