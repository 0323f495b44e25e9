//! Measurement support for the benches: a counting global allocator and CPU time per request
//! summed over every thread of the process except the sink's, so the pipeline's exporter
//! thread (span encoding and the HTTP send) is counted and the receiver is not.
//!
//! A bench opts in with
//! `#[global_allocator] static GLOBAL: CountingAllocator = CountingAllocator;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Threads whose name starts with this are the sink's and are left out of [`cpu_ns`].
pub const SINK_THREAD: &str = "ddtrace-sink";

/// Allocation counters, one per thread (threads past the 16th share): a counter shared by the
/// request thread and the exporter thread would bounce its cache line between the cores on
/// every allocation and slow the very timings the benches take.
static ALLOCATIONS: [Slot; SLOTS] = [const { Slot(AtomicU64::new(0)) }; SLOTS];
const SLOTS: usize = 16;
static NEXT_SLOT: AtomicU64 = AtomicU64::new(0);
#[repr(align(128))]
struct Slot(AtomicU64);
// Counting only inside `per_request`; a flag that is only read costs nothing.
static COUNTING: AtomicBool = AtomicBool::new(false);

// Sizes are recorded only inside `allocation_sizes`, on the thread that called it.
static SIZING: AtomicBool = AtomicBool::new(false);

/// Upper bounds (bytes requested) of the size classes [`allocation_sizes`] reports, chosen
/// where glibc's malloc changes paths on x86-64: fast bins up to 120 bytes, the per-thread
/// cache up to 1,032, then the large bins, whose every allocation first consolidates the fast
/// bins when they hold anything.
pub const SIZE_CLASSES: [usize; 4] = [120, 1_032, 4_096, usize::MAX];

thread_local! {
    // Per-thread count: always on, as it touches no shared memory. Const-initialised with no
    // destructor, so it is safe to use from the allocator.
    static THREAD_ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static THREAD_SIZING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static THREAD_SIZES: std::cell::Cell<[u64; 4]> = const { std::cell::Cell::new([0; 4]) };
    static THREAD_SLOT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// The calling thread's allocation counter.
fn slot() -> &'static AtomicU64 {
    let i = THREAD_SLOT
        .try_with(|slot| {
            if slot.get() == usize::MAX {
                slot.set(NEXT_SLOT.fetch_add(1, Ordering::Relaxed) as usize % SLOTS);
            }
            slot.get()
        })
        .unwrap_or(0);
    &ALLOCATIONS[i].0
}

/// The allocation trace of [`allocation_sizes`]'s thread: a ring of the last
/// `TRACE_LEN` events, each `kind << 48 | bytes`, written only while sizing runs with
/// `DDTRACE_ALLOC_TRACE` set. Static and lock-free, as the allocator cannot allocate.
const TRACE_LEN: usize = 16_384;
static TRACE: [AtomicU64; TRACE_LEN] = [const { AtomicU64::new(0) }; TRACE_LEN];
static TRACE_NEXT: AtomicU64 = AtomicU64::new(0);
// Read on every free of every bench: on a cache line of its own, so the counters the other
// threads write while a bench counts cannot share it.
static TRACING: Aligned = Aligned(AtomicBool::new(false));
#[repr(align(128))]
struct Aligned(AtomicBool);
const TRACE_ALLOC: u64 = 1;
const TRACE_FREE: u64 = 2;
const TRACE_MARK: u64 = 3;

fn trace(kind: u64, size: usize) {
    if TRACING.0.load(Ordering::Relaxed) && THREAD_SIZING.try_with(|s| s.get()).unwrap_or(false) {
        let i = TRACE_NEXT.fetch_add(1, Ordering::Relaxed) as usize % TRACE_LEN;
        TRACE[i].store(kind << 48 | size as u64, Ordering::Relaxed);
    }
}

/// Marks the start of a request in the allocation trace (see [`write_allocation_trace`]).
pub fn trace_request_start() {
    trace(TRACE_MARK, 0);
}

/// Turns the allocation trace on for the next [`allocation_sizes`] when `DDTRACE_ALLOC_TRACE`
/// names a file; returns that file.
pub fn allocation_trace_file() -> Option<String> {
    let path = std::env::var("DDTRACE_ALLOC_TRACE").ok()?;
    start_allocation_trace();
    Some(path)
}

/// Turns the allocation trace on for the next [`allocation_sizes`], from an empty ring.
pub fn start_allocation_trace() {
    TRACE_NEXT.store(0, Ordering::Relaxed);
    TRACING.0.store(true, Ordering::Relaxed);
}

/// Writes the last complete requests of the allocation trace to `path`, one event per line:
/// `request` at each request's start, then `alloc <bytes>` and `free <bytes>` in the order the
/// request thread made them (a reallocation is a free and an alloc). Frees made by other
/// threads (the exporter's) are not in it: those blocks go to that thread's cache or to the
/// arena's bins, not to this thread's cache.
/// `scripts/alloc-sim.py` replays it through a model of glibc's malloc.
pub fn write_allocation_trace(path: &str) -> std::io::Result<()> {
    TRACING.0.store(false, Ordering::Relaxed);
    let end = TRACE_NEXT.load(Ordering::Relaxed) as usize;
    let events: Vec<u64> = (end.saturating_sub(TRACE_LEN)..end)
        .map(|i| TRACE[i % TRACE_LEN].load(Ordering::Relaxed))
        .collect();
    // The oldest request in the ring may have lost its start: begin at the first mark.
    let first = events
        .iter()
        .position(|e| e >> 48 == TRACE_MARK)
        .unwrap_or(events.len());
    let mut out = String::new();
    for e in &events[first..] {
        let bytes = e & 0xffff_ffff_ffff;
        match e >> 48 {
            TRACE_MARK => out.push_str("request\n"),
            TRACE_ALLOC => out.push_str(&format!("alloc {bytes}\n")),
            _ => out.push_str(&format!("free {bytes}\n")),
        }
    }
    std::fs::write(path, out)
}

fn count(size: usize) {
    trace(TRACE_ALLOC, size);
    let _ = THREAD_ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    if COUNTING.load(Ordering::Relaxed) {
        slot().fetch_add(1, Ordering::Relaxed);
    }
    if SIZING.load(Ordering::Relaxed) && THREAD_SIZING.try_with(|s| s.get()).unwrap_or(false) {
        let class = SIZE_CLASSES
            .iter()
            .position(|&max| size <= max)
            .unwrap_or(3);
        let _ = THREAD_SIZES.try_with(|s| {
            let mut counts = s.get();
            counts[class] += 1;
            s.set(counts);
        });
    }
}

/// Allocations (and reallocations, by their new size) the calling thread makes while `f`
/// runs, per class of [`SIZE_CLASSES`].
pub fn allocation_sizes(f: impl FnOnce()) -> [u64; 4] {
    THREAD_SIZES.with(|s| s.set([0; 4]));
    THREAD_SIZING.with(|s| s.set(true));
    SIZING.store(true, Ordering::Relaxed);
    f();
    SIZING.store(false, Ordering::Relaxed);
    THREAD_SIZING.with(|s| s.set(false));
    THREAD_SIZES.with(|s| s.get())
}

/// A global allocator that counts allocations (and reallocations) and defers to `System`.
pub struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to `System`; the counter has no effect on memory.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        trace(TRACE_FREE, layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        trace(TRACE_FREE, layout.size());
        count(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations counted so far, on every thread, while counting was on (only with
/// [`CountingAllocator`] installed).
pub fn allocations() -> u64 {
    ALLOCATIONS
        .iter()
        .map(|s| s.0.load(Ordering::Relaxed))
        .sum()
}

/// Allocations made by the calling thread while `f` runs (the request thread's own, without
/// the exporter's).
pub fn count_thread_allocations(f: impl FnOnce()) -> u64 {
    let before = THREAD_ALLOCATIONS.with(|n| n.get());
    f();
    THREAD_ALLOCATIONS.with(|n| n.get()) - before
}

/// Allocations on every thread while `f` runs.
pub fn count_allocations(f: impl FnOnce()) -> u64 {
    let before = allocations();
    COUNTING.store(true, Ordering::Relaxed);
    f();
    COUNTING.store(false, Ordering::Relaxed);
    allocations() - before
}

/// CPU time in nanoseconds consumed so far by this process's threads, the sink's excluded
/// (from `/proc/self/task/*/schedstat`, nanosecond resolution). `None` off Linux.
pub fn cpu_ns() -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if name.starts_with(SINK_THREAD) {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("schedstat")).unwrap_or_default();
        total += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(total)
}

/// CPU nanoseconds the calling thread has used so far. Read into a buffer on the stack: it is
/// taken inside the windows whose allocations are counted.
pub fn thread_cpu_ns() -> Option<u64> {
    use std::io::Read;
    let mut buf = [0u8; 96];
    let n = std::fs::File::open("/proc/thread-self/schedstat")
        .ok()?
        .read(&mut buf)
        .ok()?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// What one request costs over `n` runs of `request`: CPU time of every thread but the
/// sink's, CPU time of the calling thread alone (the request thread, where a bench serves its
/// requests itself), and allocations. `flush` runs before and after so the
/// exporter's work for exactly these requests is inside the window.
#[derive(Debug, Clone, Copy)]
pub struct PerRequest {
    /// CPU nanoseconds per request, all threads but the sink's.
    pub cpu_ns: f64,
    /// CPU nanoseconds per request on the calling thread, while the requests ran (the rest of
    /// `cpu_ns` is the pipeline's other threads: the exporter's encoding and sending).
    pub thread_cpu_ns: f64,
    /// Allocations per request, all threads.
    pub allocations: f64,
    /// Allocations per request made on the request thread.
    pub thread_allocations: f64,
}

/// Runs `request` `n` times (after a warm-up) between two `flush` calls and divides.
pub fn per_request(n: u64, flush: impl Fn(), request: impl Fn()) -> PerRequest {
    for _ in 0..n / 10 {
        request();
    }
    flush();
    let cpu0 = cpu_ns().unwrap_or(0);
    let mut thread_allocations = 0;
    let mut thread_cpu = 0;
    let allocations = count_allocations(|| {
        thread_allocations = count_thread_allocations(|| {
            let t0 = thread_cpu_ns().unwrap_or(0);
            for _ in 0..n {
                request();
            }
            thread_cpu = thread_cpu_ns().unwrap_or(0).saturating_sub(t0);
        });
        flush();
    });
    let cpu1 = cpu_ns().unwrap_or(0);
    PerRequest {
        cpu_ns: cpu1.saturating_sub(cpu0) as f64 / n as f64,
        thread_cpu_ns: thread_cpu as f64 / n as f64,
        allocations: allocations as f64 / n as f64,
        thread_allocations: thread_allocations as f64 / n as f64,
    }
}

/// Runs each of `cases` cases `rounds` times, interleaved (so drift on a shared machine
/// spreads over all cases), `n` requests each: `result[case][round]`.
pub fn interleaved_rounds(
    rounds: usize,
    n: u64,
    flush: impl Fn(),
    cases: usize,
    request: impl Fn(usize),
) -> Vec<Vec<PerRequest>> {
    let mut samples = vec![Vec::with_capacity(rounds); cases];
    for round in 0..rounds {
        for case in round_order(round, cases) {
            samples[case].push(per_request(n, &flush, || request(case)));
        }
    }
    samples
}

/// The order of the cases in `round`: rotated by one each round, so that over `cases` rounds
/// every case runs first once and follows each other case once. In a fixed order, what a case
/// leaves behind (the allocator's caches, the exporter's buffers) would always fall on the
/// same next case.
fn round_order(round: usize, cases: usize) -> impl Iterator<Item = usize> {
    (0..cases).map(move |k| (round + k) % cases)
}

fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn median(samples: &[PerRequest]) -> PerRequest {
    let of = |f: fn(&PerRequest) -> f64| median_of(samples.iter().map(f).collect());
    PerRequest {
        cpu_ns: of(|m| m.cpu_ns),
        thread_cpu_ns: of(|m| m.thread_cpu_ns),
        allocations: of(|m| m.allocations),
        thread_allocations: of(|m| m.thread_allocations),
    }
}

/// Rounds of the CPU table: each is a few tens of milliseconds per case, so the scheduler and
/// the exporter's flush timing move one round by about a microsecond per request. Compared
/// round by round (the cases of a round run back to back), the sign of a difference is far
/// steadier than either median.
const CPU_ROUNDS: usize = 15;

/// The table every bench ends with: for each case named in `names` (the first is the bare
/// framework, the second this project), without and with incoming trace headers, CPU per
/// request over every thread but the sink's (the exporter included, the pipeline flushed around
/// each round) and allocations, as the median of 15 interleaved rounds; then this project
/// against each later case (the peers) round by round: in how many rounds its CPU was lower,
/// and the median of the per-round differences. `request(case, headers)` serves one request.
pub fn cpu_table(
    group: &str,
    pipeline: &ddtrace_core::TracerGuard,
    names: &[&str],
    request: impl Fn(usize, bool),
) {
    cpu_table_flushing(group, || pipeline.flush(), names, request);
}

/// [`cpu_table`] for a bench with exporters besides the pipeline's: `flush` sends what every
/// one of them holds.
pub fn cpu_table_flushing(
    group: &str,
    flush: impl Fn(),
    names: &[&str],
    request: impl Fn(usize, bool),
) {
    let flush = &flush;
    for headers in [false, true] {
        let rounds = interleaved_rounds(CPU_ROUNDS, 5_000, flush, names.len(), |case| {
            request(case, headers)
        });
        let medians: Vec<PerRequest> = rounds.iter().map(|s| median(s)).collect();
        let suffix = if headers { " + headers" } else { "" };
        for (name, m) in names.iter().zip(&medians) {
            report(group, &format!("{name}{suffix}"), Some(medians[0]), *m);
        }
        let Some(ours) = rounds.get(1) else { continue };
        for (name, peer) in names.iter().zip(&rounds).skip(2) {
            let diffs: Vec<f64> = ours
                .iter()
                .zip(peer)
                .map(|(a, b)| (a.cpu_ns - b.cpu_ns) / 1000.0)
                .collect();
            let lower = diffs.iter().filter(|d| **d < 0.0).count();
            println!(
                "{group} | {}{suffix} vs {name}: CPU lower in {lower} of {} rounds, median difference {:+.2} µs/request",
                names[1],
                diffs.len(),
                median_of(diffs)
            );
        }
    }
}

/// A bench's whole comparison: criterion's timing of every case, without incoming trace
/// headers and (all but the first, the bare framework) with them, then [`cpu_table`] under
/// `group`'s first word. `one(case, headers)` serves one request of case `case`, whatever the
/// cases' types.
pub fn compare(
    c: &mut criterion::Criterion,
    group: &str,
    pipeline: &ddtrace_core::TracerGuard,
    names: &[&str],
    one: impl Fn(usize, bool),
) {
    compare_flushing(c, group, || pipeline.flush(), names, one);
}

/// [`compare`] for a bench with exporters besides the pipeline's: `flush` sends what every one
/// of them holds.
pub fn compare_flushing(
    c: &mut criterion::Criterion,
    group: &str,
    flush: impl Fn(),
    names: &[&str],
    one: impl Fn(usize, bool),
) {
    let mut timings = c.benchmark_group(group);
    timings.measurement_time(std::time::Duration::from_secs(5));
    for headers in [false, true] {
        for (case, name) in names.iter().enumerate() {
            if headers && case == 0 {
                continue;
            }
            let suffix = if headers {
                " + Datadog/W3C headers"
            } else {
                ""
            };
            timings.bench_function(format!("{name}{suffix}"), |b| b.iter(|| one(case, headers)));
        }
    }
    timings.finish();
    let table = group.split(' ').next().unwrap_or(group);
    cpu_table_flushing(table, flush, names, one);
}

/// The profile mode of the benches: `DDTRACE_PROFILE=<case>[+headers]` names one case to run
/// `DDTRACE_PROFILE_N` times (default 20,000) without criterion, under callgrind
/// (`scripts/profile.sh`). Returns (case, with headers, count), or `None` to run criterion.
pub fn profile_spec() -> Option<(String, bool, u64)> {
    let spec = std::env::var("DDTRACE_PROFILE").ok()?;
    let n = std::env::var("DDTRACE_PROFILE_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    Some(match spec.strip_suffix("+headers") {
        Some(case) => (case.to_string(), true, n),
        None => (spec, false, n),
    })
}

/// Prints what [`allocation_sizes`] counted over `n` requests, per request.
pub fn report_sizes(case: &str, n: u64, sizes: [u64; 4]) {
    let per = |i: usize| sizes[i] as f64 / n.max(1) as f64;
    eprintln!(
        "{case}: allocations per request on the request thread by size: <=120 B {:.1}, <=1032 B {:.1}, <=4 KiB {:.1}, larger {:.1}",
        per(0),
        per(1),
        per(2),
        per(3)
    );
}

/// Prints one line of the per-request table the benches end with.
pub fn report(group: &str, case: &str, bare: Option<PerRequest>, m: PerRequest) {
    let over = bare
        .map(|b| {
            format!(
                " | over bare: +{:.2} µs cpu (request thread +{:.2}, other threads +{:.2}), +{:.1} allocs on the request thread",
                (m.cpu_ns - b.cpu_ns) / 1000.0,
                (m.thread_cpu_ns - b.thread_cpu_ns) / 1000.0,
                ((m.cpu_ns - m.thread_cpu_ns) - (b.cpu_ns - b.thread_cpu_ns)) / 1000.0,
                m.thread_allocations - b.thread_allocations
            )
        })
        .unwrap_or_default();
    println!(
        "{group} | {case:<50} | cpu {:>6.2} µs/request (all threads but the sink; {:>5.2} on the request thread) | allocs/request {:>5.1} on the request thread, {:>5.1} in all{over}",
        m.cpu_ns / 1000.0,
        m.thread_cpu_ns / 1000.0,
        m.thread_allocations,
        m.allocations
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static GLOBAL: CountingAllocator = CountingAllocator;

    #[test]
    fn rounds_rotate_the_case_order_and_file_each_sample_under_its_case() {
        let order: Vec<Vec<usize>> = (0..4).map(|r| round_order(r, 3).collect()).collect();
        assert_eq!(order, [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 1, 2]]);

        // Case `c` allocates `c` times per request, so each sample shows whose it is.
        let runs = std::cell::RefCell::new(Vec::with_capacity(100));
        let samples = interleaved_rounds(
            3,
            10,
            || {},
            3,
            |case| {
                runs.borrow_mut().push(case);
                for _ in 0..case {
                    drop(std::hint::black_box(Box::new(0u8)));
                }
            },
        );
        for (case, samples) in samples.iter().enumerate() {
            assert_eq!(samples.len(), 3, "one sample per round");
            for sample in samples {
                assert_eq!(sample.thread_allocations, case as f64, "case {case}");
            }
        }
        // Per round each case serves its 1 warm-up and 10 measured requests, back to back.
        let runs = runs.into_inner();
        let blocks: Vec<usize> = runs.chunks(11).map(|c| c[0]).collect();
        assert!(runs.chunks(11).all(|c| c.iter().all(|&x| x == c[0])));
        assert_eq!(blocks, [0, 1, 2, 1, 2, 0, 2, 0, 1]);
    }

    #[test]
    fn the_allocation_trace_lists_the_threads_allocations_in_order() {
        // Made before the trace starts, so the trace holds only what the closure does.
        let path = std::env::temp_dir().join(format!("alloc-trace-{}.txt", std::process::id()));
        let path = path.to_string_lossy().into_owned();
        // Another thread allocating meanwhile must not appear in the trace.
        static STOP: AtomicBool = AtomicBool::new(false);
        let other = std::thread::spawn(|| {
            while !STOP.load(Ordering::Relaxed) {
                drop(std::hint::black_box(vec![0u8; 77]));
            }
        });
        start_allocation_trace();
        allocation_sizes(|| {
            trace_request_start();
            let mut v: Vec<u8> = std::hint::black_box(Vec::with_capacity(1000));
            v.reserve_exact(1001);
            drop(std::hint::black_box(v));
            trace_request_start();
            drop(std::hint::black_box(Box::new(7u64)));
        });
        STOP.store(true, Ordering::Relaxed);
        let _ = other.join();
        write_allocation_trace(&path).expect("trace written");
        let text = std::fs::read_to_string(&path).expect("trace read");
        let _ = std::fs::remove_file(&path);
        // The format scripts/alloc-sim.py reads (its self-test parses the same lines); a
        // reallocation is a free of the old size and an allocation of the new one.
        assert_eq!(
            text,
            "request\nalloc 1000\nfree 1000\nalloc 1001\nfree 1001\nrequest\nalloc 8\nfree 8\n"
        );
    }
    #[test]
    fn the_request_threads_cpu_is_told_from_the_other_threads() {
        // Each request has a worker thread (alive for the whole measure, as an exporter is)
        // burn 2 ms of its own CPU, by its own clock so the machine's speed does not matter,
        // while the calling thread waits for it.
        let (jobs, work) = std::sync::mpsc::channel::<()>();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn(move || {
            for () in work {
                let start = thread_cpu_ns().unwrap_or(0);
                while thread_cpu_ns().unwrap_or(u64::MAX) < start + 2_000_000 {
                    std::hint::spin_loop();
                }
                let _ = done.send(());
            }
        });
        let m = per_request(
            10,
            || {},
            || {
                let _ = jobs.send(());
                let _ = finished.recv();
            },
        );
        drop(jobs);
        let _ = worker.join();
        assert!(m.cpu_ns >= 2_000_000.0, "{m:?}");
        assert!(m.thread_cpu_ns < 1_000_000.0, "{m:?}");
    }
}
