#!/usr/bin/env python3
"""The demo: start the Datadog test agent and the axum example, send it traffic (including a
request that continues a trace from Datadog and W3C headers), stop it, and print the traces the
agent received as a tree.

Needs only Rust and Python 3: `python3 scripts/demo.py`.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(url, what, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    sys.exit(f"demo: {what} did not come up at {url}")


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def fmt_duration(ns):
    return f"{ns / 1e6:.1f} ms"


INTERESTING = [
    "http.method", "http.url", "http.status_code", "http.route", "http.useragent",
    "component", "span.kind", "env", "version", "error.type", "error.message",
    "_dd.origin", "_dd.p.tid", "_dd.p.dm",
]


def read_logs(path):
    """The app's JSON log lines that carry a span id, by span id."""
    logs = {}
    try:
        with open(path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and "dd.span_id" in record:
                    logs.setdefault(int(record["dd.span_id"]), []).append(record)
    except OSError:
        pass
    return logs


def print_trace(spans, logs):
    by_id = {s["span_id"]: s for s in spans}
    children = {}
    roots = []
    for s in sorted(spans, key=lambda s: s.get("start", 0)):
        parent = s.get("parent_id", 0)
        if parent in by_id:
            children.setdefault(parent, []).append(s)
        else:
            roots.append(s)

    def show(span, prefix, last, depth):
        branch = "" if depth == 0 else ("└─ " if last else "├─ ")
        err = "  ERROR" if span.get("error") else ""
        print(f"{prefix}{branch}{span['name']}  \"{span['resource']}\"  "
              f"[{span.get('type') or '-'}] service={span['service']}  "
              f"{fmt_duration(span.get('duration', 0))}{err}")
        pad = prefix + ("" if depth == 0 else ("   " if last else "│  "))
        meta = span.get("meta", {})
        tags = ", ".join(f"{k}={meta[k]}" for k in INTERESTING if k in meta)
        if tags:
            print(f"{pad}    {tags}")
        kids = children.get(span["span_id"], [])
        for i, kid in enumerate(kids):
            show(kid, pad, i == len(kids) - 1, depth + 1)

    first = spans[0]
    parent_note = ""
    for r in roots:
        if r.get("parent_id"):
            parent_note = f"  (continued from remote parent {r['parent_id']})"
    high = next((s["meta"]["_dd.p.tid"] for s in spans if "_dd.p.tid" in s.get("meta", {})), "")
    print(f"\ntrace {high}{first['trace_id']:016x} — {len(spans)} span(s){parent_note}")
    for i, root in enumerate(roots):
        show(root, "  ", i == len(roots) - 1, 0)
    for span in spans:
        for record in logs.get(span["span_id"], []):
            print(f"  log line: {record.get('level')} {record.get('message')!r}  "
                  f"dd.trace_id={record['dd.trace_id']} dd.span_id={record['dd.span_id']}  "
                  f"(written in {span['name']})")


def main():
    subprocess.run([os.path.join(ROOT, "scripts", "install-test-agent.sh")], check=True)
    agent_port, app_port = free_port(), free_port()
    agent = subprocess.Popen(
        [os.path.join(ROOT, ".venv", "bin", "ddapm-test-agent"), "--port", str(agent_port),
         "--otlp-http-port", str(free_port()), "--otlp-grpc-port", str(free_port())],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "LOG_LEVEL": "WARNING"})
    app = None
    users = None
    app_log = None
    try:
        wait_until(f"http://127.0.0.1:{agent_port}/info", "the test agent")
        print("building examples/axum_hello.rs (the first build takes several minutes; "
              "cargo's progress follows) ...", flush=True)
        subprocess.run(["cargo", "build", "-p", "ddtrace-examples", "--bin", "axum-hello"],
                       cwd=ROOT, check=True)
        print("starting two instances of it: shop-api and users-api ...", flush=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("DD_")}
        env.update({
            "PORT": str(app_port),
            "DD_TRACE_AGENT_URL": f"http://127.0.0.1:{agent_port}",
            "DD_SERVICE": "shop-api",
            "DD_ENV": "demo",
            "DD_VERSION": "1.0.0",
            "DD_TRACE_STATS_COMPUTATION_ENABLED": "false",
            "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
        })
        # A second service, users-api, that shop-api's /checkout calls over reqwest: one trace
        # across two services.
        users_port = free_port()
        users_env = {**env, "PORT": str(users_port), "DD_SERVICE": "users-api"}
        env["USERS_URL"] = f"http://127.0.0.1:{users_port}"
        # The apps write their log lines (JSON, correlated with the trace) to standard output.
        app_log = tempfile.NamedTemporaryFile(prefix="axum-hello-", suffix=".log", delete=False)
        users = subprocess.Popen([os.path.join(target, "debug", "axum-hello")], env=users_env,
                                 stdout=app_log)
        app = subprocess.Popen([os.path.join(target, "debug", "axum-hello")], env=env,
                               stdout=app_log)
        wait_until(f"http://127.0.0.1:{users_port}/users/0", "users-api")
        base = f"http://127.0.0.1:{app_port}"
        wait_until(f"{base}/users/0", "axum-hello")

        print("\ntraffic:")
        requests = [
            ("/users/42?password=hunter2&page=1", {}),
            ("/orders/1", {}),
            ("/orders/99", {}),
            ("/orders/13", {}),
            ("/checkout", {}),
            ("/no/such/page", {}),
            ("/users/5", {  # continues a trace started elsewhere, with both header styles
                "x-datadog-trace-id": "1234567890123456789",
                "x-datadog-parent-id": "987654321",
                "x-datadog-sampling-priority": "2",
                "x-datadog-tags": "_dd.p.dm=-4",
                "traceparent": "00-0000000000000000112210f47de98115-000000003ade68b1-01",
                "tracestate": "dd=s:2;t.dm:-4,congo=t61rcWkgMzE",
            }),
        ]
        for path, headers in requests:
            status, body = get(base + path, headers)
            note = " (with Datadog + W3C trace headers)" if headers else ""
            print(f"  GET {path} -> {status} {body!r}{note}")
    finally:
        for proc in (app, users):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)  # each app flushes every span before exiting
                proc.wait(timeout=10)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{agent_port}/test/session/traces") as res:
            traces = json.load(res)
    finally:
        agent.terminate()
        agent.wait(timeout=10)

    # Each service sends its own chunk of a trace that crosses two services: show them as one.
    merged = {}
    for chunk in (t for t in traces if t):
        merged.setdefault(chunk[0]["trace_id"], []).extend(chunk)
    traces = sorted(merged.values(), key=lambda t: min(s.get("start", 0) for s in t))
    # The apps' readiness probes (GET /users/0) are traced too; they are not the traffic above.
    probes = [t for t in traces
              if any(s.get("meta", {}).get("http.url", "").endswith("/users/0") for s in t)]
    traces = [t for t in traces if t not in probes]
    print(f"\nthe Datadog test agent received {len(traces)} traces for that traffic "
          f"({sum(len(t) for t in traces)} spans; {len(probes)} readiness probes left out):")
    logs = read_logs(app_log.name)
    for t in traces:
        print_trace(t, logs)
    os.unlink(app_log.name)


if __name__ == "__main__":
    main()
