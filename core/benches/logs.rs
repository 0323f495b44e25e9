//! A log event's cost with correlation: `tracing-subscriber`'s JSON lines alone, then wrapped
//! by this crate's format outside any trace, inside a request span, and inside one with
//! injection off, in the same run. Lines go to `io::sink`, so the formatting is measured and
//! not the terminal. Allocations per event are counted on the calling thread.
//!
//! `cargo bench -p ddtrace-core --bench logs`

use criterion::{criterion_group, Criterion};
use ddtrace_conformance::measure::{count_thread_allocations, CountingAllocator};
use ddtrace_core::logs::LogCorrelation;
use ddtrace_core::{Config, Integration, RequestInfo, RequestTracer};
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn event() {
    tracing::info!(user_id = 42, order = "A-17", "order charged");
}

/// Runs `f` with a subscriber writing JSON lines in `format` to nowhere.
fn with_format<F>(format: F, f: impl FnOnce())
where
    F: tracing_subscriber::fmt::FormatEvent<
            tracing_subscriber::Registry,
            tracing_subscriber::fmt::format::DefaultFields,
        > + Send
        + Sync
        + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(std::io::sink)
        .event_format(format);
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
}

fn plain_json() -> tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json> {
    tracing_subscriber::fmt::format()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
}

fn bench(c: &mut Criterion) {
    // The native pipeline, exporting nowhere: the request span only has to be current.
    std::env::set_var("DD_TRACE_AGENT_URL", "http://127.0.0.1:9");
    let guard = ddtrace_core::init();
    let tracer = RequestTracer::new(
        Integration::new("bench", "bench.request"),
        Config::default(),
    );
    let req = http::Request::get("/users/7").body(()).expect("request");

    let mut group = c.benchmark_group("log event");
    group.measurement_time(Duration::from_secs(3));
    with_format(plain_json(), || {
        group.bench_function("tracing-subscriber JSON", |b| b.iter(event));
    });
    with_format(LogCorrelation::from_env().json(), || {
        group.bench_function("correlated JSON, outside a trace", |b| b.iter(event));
        let span = tracer.start(RequestInfo::from_request(&req));
        let _entered = span.enter();
        group.bench_function("correlated JSON, inside a request", |b| b.iter(event));
    });
    with_format(LogCorrelation::from_env().enabled(false).json(), || {
        let span = tracer.start(RequestInfo::from_request(&req));
        let _entered = span.enter();
        group.bench_function("correlated JSON switched off, inside a request", |b| {
            b.iter(event)
        });
    });
    group.finish();

    let per_event = |format: &str, inside: bool| {
        let count = |f: &mut dyn FnMut()| {
            f(); // the first event sizes the thread's buffers
            count_thread_allocations(|| (0..1000).for_each(|_| f())) as f64 / 1000.0
        };
        let mut n = 0.0;
        let run = || {
            let span = inside.then(|| tracer.start(RequestInfo::from_request(&req)));
            let _entered = span.as_ref().map(|s| s.enter());
            n = count(&mut event);
        };
        match format {
            "plain" => with_format(plain_json(), run),
            _ => with_format(LogCorrelation::from_env().json(), run),
        }
        n
    };
    println!(
        "allocations per event: tracing-subscriber JSON {:.1}, correlated outside a trace {:.1}, correlated inside a request {:.1}",
        per_event("plain", false),
        per_event("correlated", false),
        per_event("correlated", true)
    );
    guard.shutdown();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
