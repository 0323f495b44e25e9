#!/usr/bin/env bash
# The app under a failing agent (issue 8): the traced axum load example at a fixed request rate
# with the agent up, down (connection refused), hanging (accepts, never answers), answering 500
# and answering garbage. Per mode: requests, p50/p99 (and p99 against the agent-up run), peak
# RSS, the app's log (outage warnings, "agent is back" lines, any other line), and whether
# traces arrive again once the agent is back: the sink is restarted healthy and every request
# sent in the next 10 s must arrive as a span.
# Usage: scripts/faults.sh [seconds per mode, default 20] [requests/s, default 1000]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"
rate="${2:-1000}"
source scripts/lib.sh
prepare_load_run   # .venv (msgpack to count spans), wrk, the load example, $work, cleanup

warning='traces are not reaching the Datadog Agent'
back_line='traces reach the Datadog Agent at .* again'
count() { grep -c -- "$1" "$2" || true; }
printf '%-8s %9s %9s %9s %7s %12s %8s %5s %6s %16s %12s\n' mode requests p50 p99 "p99/up" "RSS peak" warnings back other "resumed (spans)" "exit"
up_p99=
for mode in up down hang 500 garbage; do
  agent_port=$(free_port)
  [ "$mode" = down ] || start_sink "$agent_port" "$mode"
  app_port=$(free_port)
  start_app "$app_port" traced "http://127.0.0.1:$agent_port" "$work/$mode.log"
  sample_rss "$app_pid" "$work/$mode.rss" &
  out=$(paced_wrk "$secs" "$rate" "http://127.0.0.1:$app_port/users/42")
  p99=$(wrk_field "$out" p99)
  # The agent comes back (healthy, same port): traces must arrive again.
  stop_sink
  start_sink "$agent_port" up
  t0=$(now_ns)
  back=$(paced_wrk 10 "$rate" "http://127.0.0.1:$app_port/users/7")
  t1=$(now_ns)
  sleep 3
  got=$(sink_stats "$agent_port" "from_ns=$t0&to_ns=$t1" | $py -c 'import json,sys; print(json.load(sys.stdin)["spans_in_window"])')
  sent=$(wrk_field "$back" requests)
  start=$(date +%s.%N)
  kill -TERM "$app_pid"; code=0; wait "$app_pid" || code=$?
  took=$($py -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.3f}")' "$start" "$(date +%s.%N)")
  stop_sink
  peak=$(sort -k2 -n "$work/$mode.rss" | tail -1 | awk '{print $2}')
  [ -n "$up_p99" ] || up_p99=$p99
  ratio=$($py -c '
import sys
def us(v):
    for unit, f in (("us", 1), ("ms", 1e3), ("s", 1e6)):
        if v.endswith(unit): return float(v[: -len(unit)]) * f
print(f"{us(sys.argv[1]) / us(sys.argv[2]):.2f}")' "$p99" "$up_p99")
  log="$work/$mode.log"
  warnings=$(count "$warning" "$log")
  backs=$(count "$back_line" "$log")
  other=$(grep -v -e "$warning" -e "$back_line" -e 'shutting the Datadog pipeline down' "$log" | grep -c . || true)
  printf '%-8s %9s %9s %9s %7s %8s KiB %8s %5s %6s %16s %12s\n' "$mode" "$(wrk_field "$out" requests)" \
    "$(wrk_field "$out" p50)" "$p99" "$ratio" "$peak" "$warnings" "$backs" "$other" "$got/$sent" \
    "$code in ${took}s"
  errors=$(wrk_field "$out" errors); [ -z "$errors" ] || echo "  $mode: $errors"
  if [ -s "$log" ]; then cut -c1-160 "$log" | sed 's/^/  log: /' | head -5; fi
done
