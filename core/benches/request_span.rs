//! What this project's own code adds per request, separated from the Datadog pipeline: the
//! same request span through the same pipeline, once as the minimal hand-written OpenTelemetry
//! span a user could write (the pipeline's floor: span creation, sampling, export), once
//! through `RequestTracer` (everything the integrations do). The difference is ours.
//!
//! A counting global allocator reports allocations per request for each.
//!
//! `cargo bench -p ddtrace-core --bench request_span`

use criterion::{black_box, criterion_group, Criterion};
use ddtrace_conformance::measure::{count_thread_allocations, CountingAllocator};
use ddtrace_core::{Config, Integration, RequestInfo, RequestTracer};
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use std::time::Duration;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// The plain extractor any OpenTelemetry instrumentation uses (as `opentelemetry-http`'s):
/// the floor does not get this project's extractor for free.
struct PlainExtractor<'a>(&'a http::HeaderMap);

impl Extractor for PlainExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

fn plain_extract(headers: &http::HeaderMap) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&PlainExtractor(headers)))
}

fn headers(with_trace_headers: bool) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert("host", "localhost".parse().unwrap());
    h.insert("user-agent", "bench/1.0".parse().unwrap());
    if with_trace_headers {
        for (k, v) in ddtrace_conformance::inproc::TRACE_HEADERS {
            h.insert(k, v.parse().unwrap());
        }
    }
    h
}

/// The floor: what any instrumentation on this pipeline pays for one server span.
fn minimal(tracer: &opentelemetry_sdk::trace::SdkTracer, headers: &http::HeaderMap, extract: bool) {
    let parent = if extract {
        plain_extract(headers)
    } else {
        Context::new()
    };
    let span = tracer.build_with_context(
        SpanBuilder::from_name("axum.request")
            .with_kind(SpanKind::Server)
            .with_attributes([KeyValue::new("http.method", "GET")]),
        &parent,
    );
    let cx = parent.with_span(span);
    cx.span().end();
}

/// The floor with the same attributes the request span carries, built by hand: what the
/// pipeline charges for the data itself, whoever computes it.
fn floor_same_attributes(tracer: &opentelemetry_sdk::trace::SdkTracer, headers: &http::HeaderMap) {
    let parent = plain_extract(headers);
    let span = tracer.build_with_context(
        SpanBuilder::from_name("axum.request")
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("datadog.name", "axum.request"),
                KeyValue::new("datadog.type", "web"),
                KeyValue::new("component", "axum"),
                KeyValue::new("_dd.measured", 1_i64),
                KeyValue::new("http.method", "GET"),
                KeyValue::new("http.url", "http://localhost/users/42"),
                KeyValue::new("http.useragent", "bench/1.0"),
            ]),
        &parent,
    );
    let cx = parent.with_span(span);
    cx.span()
        .set_attribute(KeyValue::new("http.route", "/users/{id}"));
    cx.span()
        .set_attribute(KeyValue::new("datadog.resource", "GET /users/{id}"));
    cx.span()
        .set_attribute(KeyValue::new("datadog.http_status_code", "200"));
    cx.span().end();
}

/// Everything an integration does for the same request.
fn ours(tracer: &RequestTracer, headers: &http::HeaderMap) {
    let mut span = tracer.start(RequestInfo::new("GET", "/users/42", None, headers));
    span.set_route("/users/{id}");
    span.record_status(200, &http::HeaderMap::new());
    span.finish();
}

/// Allocations per request on this thread (the exporter's are the pipeline's).
fn allocations(f: impl Fn()) -> f64 {
    const N: u64 = 2000;
    for _ in 0..200 {
        f();
    }
    count_thread_allocations(|| {
        for _ in 0..N {
            f();
        }
    }) as f64
        / N as f64
}

fn bench(c: &mut Criterion) {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();
    let provider = guard.provider().expect("installed").clone();
    let tracer = provider.tracer("bench");
    let request_tracer =
        RequestTracer::new(Integration::new("axum", "axum.request"), Config::default());

    for with_headers in [false, true] {
        let h = headers(with_headers);
        let label = if with_headers {
            "with Datadog/W3C headers"
        } else {
            "no trace headers"
        };
        // Any instrumentation extracts the incoming context; the floor does too.
        let floor = allocations(|| minimal(&tracer, &h, true));
        let total = allocations(|| ours(&request_tracer, &h));
        let same = allocations(|| floor_same_attributes(&tracer, &h));
        println!("allocations per request ({label}): floor with the same attributes {same:.1}");
        println!(
            "allocations per request ({label}): pipeline floor {floor:.1}, RequestTracer {total:.1}, ours {:.1}",
            total - floor
        );
        let mut group = c.benchmark_group(format!("request span, {label}"));
        group.measurement_time(Duration::from_secs(4));
        group.bench_function("pipeline floor (minimal OTel server span)", |b| {
            b.iter(|| minimal(&tracer, black_box(&h), true))
        });
        group.bench_function("pipeline floor with the same attributes", |b| {
            b.iter(|| floor_same_attributes(&tracer, black_box(&h)))
        });
        group.bench_function("RequestTracer (this project)", |b| {
            b.iter(|| ours(&request_tracer, black_box(&h)))
        });
        group.finish();
    }
    guard.shutdown();
}

/// `DDTRACE_PROFILE=floor|same|ours[+headers]`: one case in a loop, for callgrind
/// (`PROFILE_BENCH=core scripts/profile.sh`).
fn profile(case: &str, with_headers: bool, n: u64) {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();
    let provider = guard.provider().expect("installed").clone();
    let tracer = provider.tracer("bench");
    let request_tracer =
        RequestTracer::new(Integration::new("axum", "axum.request"), Config::default());
    let h = headers(with_headers);
    for _ in 0..n {
        match case {
            "floor" => minimal(&tracer, &h, true),
            "same" => floor_same_attributes(&tracer, &h),
            "ours" => ours(&request_tracer, &h),
            other => panic!("no case {other}"),
        }
    }
    guard.shutdown();
}

criterion_group!(benches, bench);

fn main() {
    // What this bench isolates is this project's code over the OpenTelemetry pipeline's own
    // span, so `RequestTracer` must run on that pipeline too.
    std::env::set_var("DDTRACE_RS_PIPELINE", "opentelemetry");
    match ddtrace_conformance::measure::profile_spec() {
        Some((case, headers, n)) => profile(&case, headers, n),
        None => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
