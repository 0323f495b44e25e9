#!/usr/bin/env bash
# Loopback load test (wrk, closed loop: as fast as the server answers): axum GET /users/{id},
# bare, traced by this project, and traced by the axum peers on the same Datadog pipeline, with
# the agent up (scripts/sink.py: accepts the agent's endpoints, discards the payloads, counts the
# spans it received) and down (nothing listening). Prints requests/s, the ratio to bare, p99,
# spans delivered and RSS per case. Traffic stays on 127.0.0.1.
# Usage: scripts/load.sh [seconds per case, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
conns="${2:-32}"
source scripts/lib.sh
prepare_load_run   # .venv (msgpack to count spans), wrk, the load example, $work, cleanup

sink_port=$(free_port)
# Trace chunks from the payload header (one span per trace here): no decoding on the 2 cores.
SINK_DECODE=0 start_sink "$sink_port" up
down_port=$(free_port)   # nothing listens there

bare_rps=
run_case() { # name mode agent_url
  local name=$1 mode=$2 agent=$3 port spans_before spans_after
  port=$(free_port)
  spans_before=$(sink_stats "$sink_port" | $py -c 'import json,sys; print(json.load(sys.stdin)["chunks"])')
  start_app "$port" "$mode" "$agent" "$work/app.log"
  local out rss
  out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/users/42")
  rss=$(rss_kib "$app_pid")
  kill -TERM "$app_pid"; wait "$app_pid" 2>/dev/null || true
  spans_after=$(sink_stats "$sink_port" | $py -c 'import json,sys; print(json.load(sys.stdin)["chunks"])')
  local rps requests
  rps=$(wrk_field "$out" rps)
  requests=$(wrk_field "$out" requests)
  [ -n "$bare_rps" ] || bare_rps=$rps
  local delivered="-"
  [ "$agent" = "http://127.0.0.1:$down_port" ] || [ "$mode" = bare ] || delivered="$((spans_after - spans_before))/$requests"
  printf '%-52s %10s req/s %5s  p99 %-9s spans %-15s RSS %6s KiB\n' "$name" "$rps" \
    "$($py -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}")' "$rps" "$bare_rps")" "$(wrk_field "$out" p99)" "$delivered" "$rss"
}

echo "wrk -t1 -c$conns -d${secs}s, axum GET /users/{id}, release build"
run_case "bare" bare "http://127.0.0.1:$down_port"
run_case "DatadogLayer (this project), agent up" traced "http://127.0.0.1:$sink_port"
run_case "opentelemetry-instrumentation-tower, agent up" otel-tower "http://127.0.0.1:$sink_port"
run_case "axum-tracing-opentelemetry, agent up" axum-tracing-opentelemetry "http://127.0.0.1:$sink_port"
run_case "tower-http TraceLayer + tracing-opentelemetry, agent up" trace-layer "http://127.0.0.1:$sink_port"
run_case "DatadogLayer (this project), agent down" traced "http://127.0.0.1:$down_port"
# The least any tracer on libdatadog's exporter costs: a hand-built root span, no sampler, no
# propagation (benches/support/floor.rs).
run_case "libdatadog floor (hand-built root span), agent up" floor "http://127.0.0.1:$sink_port"
