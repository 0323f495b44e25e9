//! An outgoing call's cost with a client span: a bare reqwest call, the same call through
//! `ddtrace-reqwest` (the native pipeline), and through `reqwest-tracing` (its spans exported by
//! the OpenTelemetry pipeline through tracing-opentelemetry), in one run, against a keep-alive
//! server on loopback. Allocations per call are counted on the calling thread.
//!
//! `cargo bench -p ddtrace-reqwest`

use criterion::{criterion_group, Criterion};
use ddtrace_conformance::measure::{count_thread_allocations, CountingAllocator};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use std::time::Duration;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn clients() -> Vec<(&'static str, ClientWithMiddleware)> {
    let client = reqwest::Client::new;
    vec![
        ("reqwest (bare)", ClientBuilder::new(client()).build()),
        (
            "ddtrace-reqwest (this project)",
            ClientBuilder::new(client())
                .with(ddtrace_reqwest::DatadogMiddleware::new())
                .build(),
        ),
        (
            "reqwest-tracing 0.5",
            ClientBuilder::new(client())
                .with(reqwest_tracing::TracingMiddleware::default())
                .build(),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();
    let downstream = ddtrace_conformance::sink::start_discarding_agent();
    let url = format!("http://127.0.0.1:{downstream}/items/7");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let clients = clients();
    let call = |client: &ClientWithMiddleware| {
        rt.block_on(async {
            let _ = client.get(&url).send().await;
        })
    };
    let mut group = c.benchmark_group("reqwest GET");
    group.measurement_time(Duration::from_secs(5));
    for (name, client) in &clients {
        group.bench_function(*name, |b| b.iter(|| call(client)));
    }
    group.finish();
    for (name, client) in &clients {
        call(client);
        let n = count_thread_allocations(|| (0..1000).for_each(|_| call(client)));
        println!(
            "reqwest GET | {name:<32} | allocations per call on the calling thread {:.1}",
            n as f64 / 1000.0
        );
    }
    guard.shutdown();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
