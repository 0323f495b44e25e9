//! Per-request overhead of `DatadogFairing` (with `traced` routes) over bare rocket, through
//! rocket's local client with the body read, with and without incoming Datadog + W3C
//! headers. The Datadog pipeline exports to a local sink that discards the payloads.
//!
//! `cargo bench -p ddtrace-rocket`

use criterion::{criterion_group, criterion_main, Criterion};
use ddtrace_rocket::{traced, DatadogFairing};
use rocket::http::Header;
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use std::time::Duration;

#[get("/users/<id>")]
fn user(id: &str) -> String {
    format!("user {id}")
}

const TRACE_HEADERS: [(&str, &str); 6] = [
    ("x-datadog-trace-id", "1234567890123456789"),
    ("x-datadog-parent-id", "987654321"),
    ("x-datadog-sampling-priority", "1"),
    ("x-datadog-tags", "_dd.p.dm=-0"),
    (
        "traceparent",
        "00-0000000000000000112210f47de98115-000000003ade68b1-01",
    ),
    ("tracestate", "dd=s:1;t.dm:-0,congo=t61rcWkgMzE"),
];

async fn run(client: &Client, headers: bool) {
    let mut req = client
        .get("/users/42")
        .header(Header::new("user-agent", "bench/1.0"));
    if headers {
        for (k, v) in TRACE_HEADERS {
            req = req.header(Header::new(k, v));
        }
    }
    let _ = req.dispatch().await.into_string().await;
}

fn bench(c: &mut Criterion) {
    let port = ddtrace_conformance::sink::start_discarding_agent();
    let mut config = ddtrace_core::datadog_opentelemetry::configuration::Config::builder();
    config
        .set_service("bench".to_string())
        .set_trace_agent_url(format!("http://127.0.0.1:{port}"))
        .set_telemetry_enabled(false);
    let guard = ddtrace_core::init_with(config.build());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let quiet = rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        ..rocket::Config::release_default()
    };
    let bare = rt
        .block_on(Client::untracked(
            rocket::custom(quiet.clone()).mount("/", routes![user]),
        ))
        .expect("bare client");
    let ours = rt
        .block_on(Client::untracked(
            rocket::custom(quiet)
                .attach(DatadogFairing::new())
                .mount("/", traced(routes![user])),
        ))
        .expect("traced client");

    let mut group = c.benchmark_group("rocket GET /users/<id>");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("bare", |b| b.iter(|| rt.block_on(run(&bare, false))));
    group.bench_function("DatadogFairing + traced", |b| {
        b.iter(|| rt.block_on(run(&ours, false)))
    });
    group.bench_function("DatadogFairing + traced + Datadog/W3C headers", |b| {
        b.iter(|| rt.block_on(run(&ours, true)))
    });
    group.finish();
    guard.shutdown();
}

criterion_group!(benches, bench);
criterion_main!(benches);
