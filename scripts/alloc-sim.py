#!/usr/bin/env python3
"""Replays a request thread's allocation trace through a model of glibc's malloc.

Usage:
  DDTRACE_ALLOC_TRACE=/tmp/ours.txt DDTRACE_PROFILE=DatadogLayer+headers DDTRACE_PROFILE_N=3000 \\
      cargo bench -p ddtrace-axum --bench overhead
  python3 scripts/alloc-sim.py /tmp/ours.txt /tmp/peer.txt ...

A trace (written by the bench, `tests/src/measure.rs`) lists, request by request, the request
thread's allocations and frees in order; frees made by other threads (the exporter's) are not
in it, and those blocks never come back to this thread's cache. The last complete request is
replayed until the model is in a steady state, and the script prints per request how many
allocations miss the per-thread cache (glibc's `_int_malloc`, the slow path), by chunk size.

The model, glibc 2.36 on x86-64 with default tunables:
- a request of n bytes takes a chunk of max(32, (n + 23) & ~15) bytes;
- the per-thread cache (tcache) holds 7 free chunks per size, for chunks up to 1,040 bytes;
- a free with the cache full goes to the fast bin of its size (chunks up to 128 bytes) or to
  the other bins (kept here by exact size);
- a miss takes a chunk from the fast or other bin of its size when there is one, and moves
  more of that size into the cache (as glibc does), otherwise from fresh memory;
- an allocation of a chunk of 1,024 bytes or more first consolidates the fast bins when they
  hold anything: their chunks merge and are no longer found by size.

It is a model: the real allocator coalesces neighbours, sorts the unsorted bin and receives
other threads' frees into the same arena, so it serves some misses the model counts as fresh
memory. What it isolates is the part that depends only on the order of one thread's
allocations and frees; differences it does not show come from the other threads.
"""
import collections
import sys

TCACHE_COUNT = 7
TCACHE_MAX_CHUNK = 1040
FAST_MAX_CHUNK = 128
LARGE_MIN_CHUNK = 1024


def chunk(n):
    return max(32, (n + 23) & ~15)


def load(path):
    with open(path) as f:
        return load_lines(f)


def load_lines(lines):
    """The trace's requests, each a list of (op, bytes) with op 'alloc' or 'free'."""
    requests, current = [], None
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "request":
            if current is not None:
                requests.append(current)
            current = []
        elif current is not None and parts[0] in ("alloc", "free") and len(parts) == 2:
            current.append((parts[0], int(parts[1])))
    if current:
        requests.append(current)
    return requests


class Malloc:
    def __init__(self):
        self.tcache = collections.Counter()
        self.fast = collections.Counter()
        self.other = collections.Counter()
        self.misses = collections.Counter()
        self.consolidated = 0

    def alloc(self, n):
        c = chunk(n)
        if c <= TCACHE_MAX_CHUNK and self.tcache[c] > 0:
            self.tcache[c] -= 1
            return
        self.misses[c] += 1
        if c >= LARGE_MIN_CHUNK and sum(self.fast.values()):
            self.consolidated += sum(self.fast.values())
            self.fast.clear()
        bin_ = self.fast if c <= FAST_MAX_CHUNK else self.other
        if bin_[c] > 0:
            bin_[c] -= 1
            if c <= TCACHE_MAX_CHUNK:
                moved = min(bin_[c], TCACHE_COUNT - self.tcache[c])
                bin_[c] -= moved
                self.tcache[c] += moved

    def free(self, n):
        c = chunk(n)
        if c <= TCACHE_MAX_CHUNK and self.tcache[c] < TCACHE_COUNT:
            self.tcache[c] += 1
        elif c <= FAST_MAX_CHUNK:
            self.fast[c] += 1
        else:
            self.other[c] += 1


def steady_state(request, repeats=200):
    m = Malloc()
    for i in range(repeats):
        if i == repeats - 1:
            m.misses.clear()
            m.consolidated = 0
        for op, n in request:
            (m.alloc if op == "alloc" else m.free)(n)
    return m


def deepest(request):
    """Per chunk size, the most chunks of that size this request holds at once."""
    live, peak = collections.Counter(), collections.Counter()
    for op, n in request:
        c = chunk(n)
        live[c] += 1 if op == "alloc" else -1
        peak[c] = max(peak[c], live[c])
    return peak


def self_test():
    """Known answers of the model, run by scripts/test.sh."""
    assert [chunk(n) for n in (0, 24, 25, 120, 1032, 1033)] == [32, 32, 48, 128, 1040, 1056]
    ten = [("alloc", 16)] * 10 + [("free", 16)] * 10
    m = steady_state(ten)
    # 7 from the cache, one miss that takes a fast-bin chunk and refills the cache with the
    # other two, then 2 more from the cache.
    assert sum(m.misses.values()) == 1 and m.consolidated == 0, m.misses
    m = steady_state([("alloc", 2000), ("free", 2000)] + ten)
    # The large allocation first empties the 3 fast-bin chunks: all 3 beyond the cache miss.
    assert m.misses == {2016: 1, 32: 3} and m.consolidated == 3, (m.misses, m.consolidated)
    assert load_lines(["alloc 9", "request", "alloc 9", "free 9", "request", "alloc 1"]) == [
        [("alloc", 9), ("free", 9)],
        [("alloc", 1)],
    ]
    print("alloc-sim self-test: ok")


def main(paths):
    if paths == ["--self-test"]:
        self_test()
        return 0
    if not paths:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    for path in paths:
        requests = load(path)
        if not requests:
            print(f"{path}: no complete request in the trace", file=sys.stderr)
            return 1
        request = requests[-1]
        allocs = sum(1 for op, _ in request if op == "alloc")
        frees = sum(1 for op, _ in request if op == "free")
        m = steady_state(request)
        by_size = ", ".join(f"{c} B: {k}" for c, k in sorted(m.misses.items()))
        deep = ", ".join(
            f"{c} B: {k}" for c, k in sorted(deepest(request).items()) if k > TCACHE_COUNT
        )
        print(f"{path}")
        print(f"  per request: {allocs} allocations, {frees} frees on this thread")
        print(f"  cache misses (slow path) per request: {sum(m.misses.values())} ({by_size})")
        print(f"  fast-bin chunks consolidated per request: {m.consolidated}")
        print(f"  sizes held more than {TCACHE_COUNT} at once (chunk: most at once): {deep}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
