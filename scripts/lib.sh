# Shared helpers of the load, fault, soak and profile scripts (sourced, not run).

# The test agent's .venv has msgpack, which the sink uses to count spans.
[ -x .venv/bin/python ] || scripts/install-test-agent.sh >/dev/null
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python

free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# prepare_load_run: wrk, the load example ($load_bin), a scratch dir ($work) and an exit trap
# that stops the sink and the app and removes the scratch dir.
prepare_load_run() {
  ensure_wrk
  build_load_app
  work=$(mktemp -d)
  trap 'stop_sink; kill ${app_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
}

ensure_wrk() { command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }; }

# build_load_app: the axum example the scripts drive (release build); sets $load_bin.
build_load_app() {
  cargo build --quiet --release -p ddtrace-axum --example load
  load_bin="${CARGO_TARGET_DIR:-target}/release/examples/load"
}

# start_sink PORT MODE: a stand-in agent (scripts/sink.py) on PORT; sets $sink_pid.
# SINK_DECODE=0 in the environment makes it count trace chunks without decoding spans. It
# answers with an agent rate for the apps' service (`load`, as start_app names it).
start_sink() {
  SINK_SERVICES="${SINK_SERVICES:-load}" $py scripts/sink.py "$1" "$2" >/dev/null &
  sink_pid=$!
  wait_http "http://127.0.0.1:$1/_stats"
}

stop_sink() { [ -n "${sink_pid:-}" ] && kill -TERM "$sink_pid" 2>/dev/null && wait "$sink_pid" 2>/dev/null; sink_pid=; true; }

sink_stats() { # PORT [QUERY]
  $py -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:$1/_stats${2:+?$2}"
}

wait_http() { # URL: up to 10 s
  for _ in $(seq 1 100); do
    $py -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

# start_app PORT MODE AGENT_URL LOG: the load example; sets $app_pid.
start_app() {
  env PORT="$1" LOAD_MODE="$2" DD_SERVICE=load DD_TRACE_AGENT_URL="$3" \
    DD_INSTRUMENTATION_TELEMETRY_ENABLED=false "$load_bin" 2>"$4" &
  app_pid=$!
  wait_http "http://127.0.0.1:$1/users/0"
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# sample_rss PID FILE: appends "seconds rss_kib" every second until PID exits (background).
sample_rss() {
  local t=0
  while kill -0 "$1" 2>/dev/null; do
    echo "$t $(rss_kib "$1")" >>"$2"
    sleep 1
    t=$((t + 1))
  done
}

now_ns() { $py -c 'import time; print(time.time_ns())'; }

# paced_wrk SECONDS RATE URL: about RATE requests/s (connections pause between requests).
paced_wrk() {
  local conns=$(( $2 / 20 )); [ "$conns" -ge 1 ] || conns=1
  local lua; lua=$(mktemp --suffix=.lua)
  printf 'function delay() return %d end\n' 50 >"$lua"
  wrk -t1 -c"$conns" -d"$1s" --latency -s "$lua" "$3"
  rm -f "$lua"
}

wrk_field() { # OUTPUT FIELD: requests | p99 | p50 | rps | errors
  case "$2" in
    requests) echo "$1" | awk '/requests in/ {print $1}' ;;
    p99) echo "$1" | awk '$1 == "99%" {print $2}' ;;
    p50) echo "$1" | awk '$1 == "50%" {print $2}' ;;
    rps) echo "$1" | awk '/Requests\/sec/ {print $2}' ;;
    errors) echo "$1" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ' ;;
  esac
}
