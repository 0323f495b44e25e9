#!/usr/bin/env bash
# Instructions per request (valgrind callgrind: exact counts, unaffected by other load), for
# each case of the axum bench, on the request thread and on the pipeline's other threads
# (exporter included), with traces delivered to a discarding sink in another process.
# Each case runs 1,000 and 3,000 requests; the difference / 2,000 removes startup costs.
# Usage: scripts/profile.sh [case ...]   (default: every case, with and without headers)
#        PROFILE_BENCH=core scripts/profile.sh floor+headers same+headers ours+headers
#        (the core bench: the pipeline's floor, the floor with the same attributes, ours)
#        PROFILE_BENCH=propagation scripts/profile.sh engine-extract+headers pipeline-extract+headers
#        (the propagation bench: engine-extract, engine-start, pipeline-extract, engine-inject,
#        pipeline-inject, each with or without +headers)
# Annotated profiles stay in target/profile/<case>.3000.out-01 (callgrind_annotate).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
if [ "${PROFILE_BENCH:-axum}" = propagation ]; then
  bin=$(cargo bench -p ddtrace-core --bench propagation --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))/\1/p' | tail -1)
elif [ "${PROFILE_BENCH:-axum}" = core ]; then
  bin=$(cargo bench -p ddtrace-core --bench request_span --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))/\1/p' | tail -1)
else
  bin=$(cargo bench -p ddtrace-axum --bench overhead --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))/\1/p' | tail -1)
fi
[ -x "$bin" ] || { echo "bench binary not found" >&2; exit 1; }
out="${CARGO_TARGET_DIR:-target}/profile"
mkdir -p "$out"
py=python3; [ -x .venv/bin/python ] && py=.venv/bin/python
port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SINK_SERVICES=bench $py scripts/sink.py "$port" >/dev/null &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
sleep 0.5
export DDTRACE_BENCH_AGENT_URL="http://127.0.0.1:$port"

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(bare DatadogLayer opentelemetry-instrumentation-tower axum-tracing-opentelemetry tower-http
  bare+headers DatadogLayer+headers opentelemetry-instrumentation-tower+headers axum-tracing-opentelemetry+headers tower-http+headers)

total() { grep -h '^totals:\|^summary:' "$1" | head -1 | awk '{print $2}'; }
run() { # case n -> "main others"
  rm -f "$out/$1.$2.out"*
  DDTRACE_PROFILE=$1 DDTRACE_PROFILE_N=$2 valgrind --tool=callgrind --separate-threads=yes \
    --callgrind-out-file="$out/$1.$2.out" "$bin" >/dev/null 2>&1
  local main others=0 f
  main=$(total "$out/$1.$2.out-01")
  for f in "$out/$1.$2.out"-*; do
    [ "$f" = "$out/$1.$2.out-01" ] || others=$((others + $(total "$f")))
  done
  echo "$main $others"
}
printf '%-45s %14s %14s %14s\n' "case" "request thread" "other threads" "total"
for c in "${cases[@]}"; do
  read -r a1 a2 < <(run "$c" 1000)
  read -r b1 b2 < <(run "$c" 3000)
  m=$(( (b1 - a1) / 2000 )); o=$(( (b2 - a2) / 2000 ))
  printf '%-45s %14s %14s %14s\n' "$c" "$m" "$o" "$((m + o))"
done
