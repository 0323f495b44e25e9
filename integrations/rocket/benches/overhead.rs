//! Per-request overhead of `DatadogFairing` (with `traced` routes) over bare rocket, through
//! rocket's local client with the body read, with and without incoming Datadog + W3C
//! headers. The Datadog pipeline exports to a local sink that discards the payloads.
//!
//! `cargo bench -p ddtrace-rocket`

use criterion::{criterion_group, criterion_main, Criterion};
use ddtrace_conformance::measure::{self, CountingAllocator};
use ddtrace_rocket::{traced, DatadogFairing};
use rocket::http::Header;
use rocket::local::asynchronous::Client;
use rocket::{get, routes};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[get("/users/<id>")]
fn user(id: &str) -> String {
    format!("user {id}")
}

async fn run(client: &Client, headers: bool) {
    let mut req = client
        .get("/users/42")
        .header(Header::new("user-agent", "bench/1.0"));
    if headers {
        for (k, v) in ddtrace_conformance::inproc::TRACE_HEADERS {
            req = req.header(Header::new(k, v));
        }
    }
    let _ = req.dispatch().await.into_string().await;
}

fn bench(c: &mut Criterion) {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();

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

    measure::compare(
        c,
        "rocket GET /users/<id>",
        &guard,
        &["bare", "DatadogFairing + traced (this project)"],
        |case, headers| {
            let app = if case == 0 { &bare } else { &ours };
            rt.block_on(run(app, headers));
        },
    );
    guard.shutdown();
}

criterion_group!(benches, bench);
criterion_main!(benches);
