#!/usr/bin/env python3
"""A stand-in Datadog agent for load, profile and soak runs on loopback.

Accepts the agent's endpoints and discards the payloads (measuring the tracer, not a
receiver), counting what arrived: requests, bytes, trace chunks and spans (decoded with
msgpack when it is importable, as in the test agent's .venv; otherwise chunks are read from
the payload's array header and spans are not counted).

  sink.py PORT [MODE]    MODE: up (default), hang (accept, never answer), 500, garbage

It answers sends with the sampling rates a Datadog Agent sends, versioned as the agent does:
the default rate, and a rate for each service named in SINK_SERVICES (comma-separated; no
env), as an agent does once it has received that service's traces, so tracers sample by the
agent's rate as in production.

GET /_stats answers the counts as JSON; GET /_stats?from_ns=A&to_ns=B adds "spans_in_window",
the spans whose start is in [A, B) (needs msgpack). SIGTERM prints the counts and exits.
"""
import http.server
import json
import os
import signal
import socketserver
import sys
import threading
import time

try:
    import msgpack  # type: ignore
except ImportError:  # pragma: no cover - depends on the interpreter
    msgpack = None

port = int(sys.argv[1])
mode = sys.argv[2] if len(sys.argv) > 2 else "up"
stats = {"requests": 0, "bytes": 0, "chunks": 0, "spans": 0, "mode": mode}
starts = []  # span start times (ns), when msgpack can decode the payloads
lock = threading.Lock()


# SINK_DECODE=0 reads only the payload's array header (trace chunks, not spans): the load
# script uses it so that decoding does not take CPU from the app on a 2-core machine.
decode = os.environ.get("SINK_DECODE", "1") != "0"

rates = {"service:,env:": 1.0}
for service in filter(None, os.environ.get("SINK_SERVICES", "").split(",")):
    rates[f"service:{service.strip()},env:"] = 1.0
rates_reply = json.dumps({"rate_by_service": rates}).encode()


def count(payload: bytes):
    chunks = spans = 0
    if msgpack is not None and decode:
        try:
            traces = msgpack.unpackb(payload, raw=False, strict_map_key=False)
            chunks = len(traces)
            spans = sum(len(t) for t in traces)
            with lock:
                starts.extend(s.get("start", 0) for t in traces for s in t)
        except Exception:
            pass
    elif payload:
        b = payload[0]
        if 0x90 <= b <= 0x9F:
            chunks = b & 0x0F
        elif b == 0xDC and len(payload) >= 3:
            chunks = int.from_bytes(payload[1:3], "big")
        elif b == 0xDD and len(payload) >= 5:
            chunks = int.from_bytes(payload[1:5], "big")
    return chunks, spans


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        if self.path.startswith("/_stats"):
            query = dict(
                kv.split("=", 1) for kv in self.path.partition("?")[2].split("&") if "=" in kv
            )
            with lock:
                answer = dict(stats)
                if "from_ns" in query and "to_ns" in query:
                    lo, hi = int(query["from_ns"]), int(query["to_ns"])
                    answer["spans_in_window"] = sum(1 for t in starts if lo <= t < hi)
                body = json.dumps(answer).encode()
            return self._send(200, body, "application/json")
        n = int(self.headers.get("content-length", 0) or 0)
        payload = self.rfile.read(n)
        if mode == "hang":
            time.sleep(3600)
            return
        if "/traces" in self.path:
            chunks, spans = count(payload)
            with lock:
                stats["requests"] += 1
                stats["bytes"] += n
                stats["chunks"] += chunks
                stats["spans"] += spans
        if mode == "500":
            return self._send(500, b"internal error", "text/plain")
        if mode == "garbage":
            self.wfile.write(b"\x00\xffNOT HTTP\r\n\r\n")
            self.close_connection = True
            return
        self._send(200, rates_reply, "application/json", rates_version="1")

    def _send(self, status, body, ctype, rates_version=None):
        self.send_response(status)
        self.send_header("content-type", ctype)
        if rates_version:
            # A Datadog Agent versions its rates; tracers take rates only from a new version.
            self.send_header("datadog-rates-payload-version", rates_version)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_POST = do_GET = _answer

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


server = Server(("127.0.0.1", port), Sink)


def stop(*_):
    with lock:
        print(json.dumps(stats), flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
server.serve_forever()
