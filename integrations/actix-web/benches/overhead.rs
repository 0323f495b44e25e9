//! Per-request overhead of `DatadogTracing` over a bare actix-web app, in-process
//! (`actix_web::test::call_service`, body collected), with and without incoming Datadog + W3C
//! headers; beside it, in the same run, `opentelemetry-instrumentation-actix-web` on the same
//! Datadog pipeline. The pipeline exports to a local sink that discards the payloads.
//!
//! After criterion's timings, a table gives CPU time per request over every thread but the
//! sink's (the exporter's encoding and sending included; median of 15 interleaved rounds) and
//! allocations per request.
//!
//! `cargo bench -p ddtrace-actix-web`

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, web, App};
use criterion::{criterion_group, criterion_main, Criterion};
use ddtrace_actix_web::DatadogTracing;
use ddtrace_conformance::measure::{self, CountingAllocator};
use opentelemetry_instrumentation_actix_web::RequestTracing;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/users/{id}",
        web::get().to(|id: web::Path<String>| async move { format!("user {id}") }),
    );
}

fn request(with_trace_headers: bool) -> actix_http::Request {
    let mut req = test::TestRequest::get()
        .uri("/users/42")
        .insert_header(("host", "localhost"))
        .insert_header(("user-agent", "bench/1.0"));
    if with_trace_headers {
        for header in ddtrace_conformance::inproc::TRACE_HEADERS {
            req = req.insert_header(header);
        }
    }
    req.to_request()
}

async fn run<S, B>(app: &S, headers: bool)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let res = test::call_service(app, request(headers)).await;
    let _ = actix_web::body::to_bytes(res.into_body()).await;
}

fn bench(c: &mut Criterion) {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();

    let system = actix_web::rt::System::new();
    let bare = system.block_on(test::init_service(App::new().configure(routes)));
    let ours = system.block_on(test::init_service(
        App::new().wrap(DatadogTracing::new()).configure(routes),
    ));
    let peer = system.block_on(test::init_service(
        App::new().wrap(RequestTracing::new()).configure(routes),
    ));

    let names = [
        "bare",
        "DatadogTracing (this project)",
        "opentelemetry-instrumentation-actix-web 0.25",
    ];
    // The three apps have different types: one request per case, chosen by index.
    let group = "actix-web GET /users/{id}";
    measure::compare(c, group, &guard, &names, |case, headers| match case {
        0 => system.block_on(run(&bare, headers)),
        1 => system.block_on(run(&ours, headers)),
        _ => system.block_on(run(&peer, headers)),
    });
    guard.shutdown();
}

criterion_group!(benches, bench);
criterion_main!(benches);
