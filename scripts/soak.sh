#!/usr/bin/env bash
# Soak (issue 8): the traced axum load example at a fixed rate for MINUTES minutes while the
# agent goes down and comes back every minute (30 s up, 30 s down). Records, per phase, the
# requests sent and their failures, the spans the agent received for the requests sent while it
# was up (by span start time: every one must arrive), and the app's RSS every second. Ends
# with a SIGTERM that must exit 0. Any panic in the app's log fails the run, and so does any
# outage that is not reported by exactly one warning, or a return of the agent not reported by
# exactly one line (the last outage has no return).
# Usage: scripts/soak.sh [minutes, default 10] [requests/s, default 1000]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-10}"
rate="${2:-1000}"
source scripts/lib.sh
prepare_load_run   # .venv (msgpack to count spans), wrk, the load example, $work, cleanup

agent_port=$(free_port)
app_port=$(free_port)
start_app "$app_port" traced "http://127.0.0.1:$agent_port" "$work/app.log"
sample_rss "$app_pid" "$work/rss" &
url="http://127.0.0.1:$app_port/users/42"
failed=0
lost_total=0
sent_up_total=0
echo "soak: $minutes min at ~$rate req/s, agent up 30 s / down 30 s each minute"
warning='traces are not reaching the Datadog Agent'
back_line='traces reach the Datadog Agent at .* again'
count() { grep -c -- "$1" "$work/app.log" || true; }
misreported=0
printf '%-6s %-5s %9s %10s %16s %12s %9s\n' minute agent requests failures "spans received" "RSS KiB" "log lines"
for minute in $(seq 1 "$minutes"); do
  for phase in up down; do
    # Counted before the agent comes back: the first send after that may say so at once.
    w0=$(count "$warning"); b0=$(count "$back_line")
    if [ "$phase" = up ]; then start_sink "$agent_port" up; fi
    t0=$(now_ns)
    out=$(paced_wrk 27 "$rate" "$url")
    t1=$(now_ns)
    sleep 3   # the exporter flushes about every second
    sent=$(wrk_field "$out" requests)
    errors=$(wrk_field "$out" errors)
    spans=-
    if [ "$phase" = up ]; then
      spans=$(sink_stats "$agent_port" "from_ns=$t0&to_ns=$t1" | $py -c 'import json,sys; print(json.load(sys.stdin)["spans_in_window"])')
      sent_up_total=$((sent_up_total + sent))
      [ "$spans" -ge "$sent" ] || lost_total=$((lost_total + sent - spans))
      stop_sink
    fi
    [ -z "$errors" ] || failed=1
    # An up phase after an outage must say once that the agent is back; a down phase must
    # warn once; nothing else.
    w=$(( $(count "$warning") - w0 )); b=$(( $(count "$back_line") - b0 ))
    if [ "$phase" = down ]; then lines="warn $w"; [ "$w" = 1 ] && [ "$b" = 0 ] || misreported=1
    else lines="back $b"; [ "$w" = 0 ] && [ "$b" = $(( minute > 1 ? 1 : 0 )) ] || misreported=1; fi
    printf '%-6s %-5s %9s %10s %16s %12s %9s\n' "$minute" "$phase" "$sent" "${errors:-0}" \
      "$spans" "$(rss_kib "$app_pid")" "$lines"
  done
done
kill -TERM "$app_pid"; code=0; wait "$app_pid" || code=$?
panics=$(grep -c 'panicked' "$work/app.log" || true)
read -r first_rss < <(awk 'NR == 10 {print $2}' "$work/rss")
peak=$(sort -k2 -n "$work/rss" | tail -1 | awk '{print $2}')
last=$(tail -1 "$work/rss" | awk '{print $2}')
echo "RSS after 10 s: $first_rss KiB, peak: $peak KiB, last: $last KiB"
echo "spans lost while the agent was up: $lost_total of $sent_up_total"
echo "app log lines: $(wc -l <"$work/app.log") ($(count "$warning") outage warnings, $(count "$back_line") agent-back lines), panics: $panics, exit code: $code"
[ "$misreported" = 0 ] || echo "an outage or a return was not reported exactly once: see $work/app.log"
[ "$panics" = 0 ] && [ "$code" = 0 ] && [ "$failed" = 0 ] && [ "$lost_total" = 0 ] && [ "$misreported" = 0 ]
