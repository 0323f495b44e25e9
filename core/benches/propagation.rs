//! Extraction and injection: the core's propagation engine next to the propagator of the
//! OpenTelemetry pipeline (`datadog-opentelemetry`, through this crate's header extractor and
//! injector), in the same run, with and without Datadog + W3C headers. Allocations per call
//! are counted on the calling thread; `scripts/profile.sh` counts instructions with
//! `PROFILE_BENCH=propagation`.
//!
//! `cargo bench -p ddtrace-core --bench propagation`

use criterion::{black_box, criterion_group, Criterion};
use ddtrace_conformance::measure::{count_thread_allocations, CountingAllocator};
use ddtrace_core::propagation::{Extracted, PropagationConfig, Propagator, TraceContext};
use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::Context;
use std::time::Duration;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn headers(with_trace_headers: bool) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert("host", "localhost".parse().unwrap());
    h.insert("user-agent", "bench/1.0".parse().unwrap());
    h.insert("accept", "*/*".parse().unwrap());
    if with_trace_headers {
        for (k, v) in ddtrace_conformance::inproc::TRACE_HEADERS {
            h.insert(k, v.parse().unwrap());
        }
    }
    h
}

/// The engine's extraction: read the headers once and merge what the styles found.
fn engine_extract(p: &Propagator, h: &http::HeaderMap) -> Extracted {
    p.extract(h)
}

/// Extraction and the local trace's state started from it (a new trace id when nothing is
/// continued): what the native pipeline does per request.
fn engine_start(p: &Propagator, h: &http::HeaderMap) -> TraceContext {
    TraceContext::start(p.extract(h), p.config())
}

/// The OpenTelemetry pipeline's extraction, as `RequestTracer` runs it today.
fn pipeline_extract(h: &http::HeaderMap) -> Context {
    ddtrace_core::propagation::extract(h)
}

fn engine_inject(trace: &mut TraceContext, config: &PropagationConfig) -> http::HeaderMap {
    let mut out = http::HeaderMap::new();
    trace.inject(0x1234_5678_9abc_def0, config, &mut out);
    out
}

fn pipeline_inject(cx: &Context) -> http::HeaderMap {
    let mut out = http::HeaderMap::new();
    ddtrace_core::propagation::inject(cx, &mut out);
    out
}

fn per_call(f: &mut dyn FnMut()) -> f64 {
    const N: u64 = 5000;
    for _ in 0..500 {
        f();
    }
    count_thread_allocations(|| {
        for _ in 0..N {
            f();
        }
    }) as f64
        / N as f64
}

struct Setup {
    propagator: Propagator,
    headers: http::HeaderMap,
    trace: TraceContext,
    cx: Context,
}

fn setup(tracer: &opentelemetry_sdk::trace::SdkTracer, with_headers: bool) -> Setup {
    let propagator = Propagator::new(PropagationConfig::from_env());
    let headers = headers(with_headers);
    let mut trace = engine_start(&propagator, &headers);
    if trace.sampling_priority().is_none() {
        trace.set_sampling_decision(1, 0);
    }
    let parent = pipeline_extract(&headers);
    let span = tracer.build_with_context(
        SpanBuilder::from_name("client.request").with_kind(SpanKind::Client),
        &parent,
    );
    let cx = parent.with_span(span);
    Setup {
        propagator,
        headers,
        trace,
        cx,
    }
}

fn bench(c: &mut Criterion) {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();
    let tracer = guard.provider().expect("installed").tracer("bench");
    for with_headers in [false, true] {
        let mut s = setup(&tracer, with_headers);
        let label = if with_headers {
            "with Datadog + W3C headers"
        } else {
            "no trace headers"
        };
        let config = s.propagator.config().clone();
        let a = per_call(&mut || drop(black_box(engine_extract(&s.propagator, &s.headers))));
        let started = per_call(&mut || drop(black_box(engine_start(&s.propagator, &s.headers))));
        let b = per_call(&mut || drop(black_box(pipeline_extract(&s.headers))));
        println!("allocations per extraction ({label}): engine {a:.1} (with the trace started {started:.1}), pipeline propagator {b:.1}");
        let a = per_call(&mut || drop(black_box(engine_inject(&mut s.trace, &config))));
        let b = per_call(&mut || drop(black_box(pipeline_inject(&s.cx))));
        println!("allocations per injection ({label}): engine {a:.1}, pipeline propagator {b:.1}");

        let mut group = c.benchmark_group(format!("propagation, {label}"));
        group.measurement_time(Duration::from_secs(3));
        group.bench_function("extract: engine", |b| {
            b.iter(|| engine_extract(&s.propagator, black_box(&s.headers)))
        });
        group.bench_function("extract and start the trace: engine", |b| {
            b.iter(|| engine_start(&s.propagator, black_box(&s.headers)))
        });
        group.bench_function("extract: pipeline propagator", |b| {
            b.iter(|| pipeline_extract(black_box(&s.headers)))
        });
        group.bench_function("inject: engine", |b| {
            b.iter(|| engine_inject(&mut s.trace, &config))
        });
        group.bench_function("inject: pipeline propagator", |b| {
            b.iter(|| pipeline_inject(black_box(&s.cx)))
        });
        group.finish();
        s.cx.span().end();
    }
    guard.shutdown();
}

/// `DDTRACE_PROFILE=engine-extract|engine-start|pipeline-extract|engine-inject|pipeline-inject[+headers]`:
/// one case in a loop, for callgrind (`PROFILE_BENCH=propagation scripts/profile.sh`).
fn profile(case: &str, with_headers: bool, n: u64) {
    let guard = ddtrace_conformance::inproc::pipeline_to_sink();
    let tracer = guard.provider().expect("installed").tracer("bench");
    let mut s = setup(&tracer, with_headers);
    let config = s.propagator.config().clone();
    for _ in 0..n {
        match case {
            "engine-extract" => drop(black_box(engine_extract(&s.propagator, &s.headers))),
            "engine-start" => drop(black_box(engine_start(&s.propagator, &s.headers))),
            "pipeline-extract" => drop(black_box(pipeline_extract(&s.headers))),
            "engine-inject" => drop(black_box(engine_inject(&mut s.trace, &config))),
            "pipeline-inject" => drop(black_box(pipeline_inject(&s.cx))),
            other => panic!("no case {other}"),
        }
    }
    s.cx.span().end();
    guard.shutdown();
}

criterion_group!(benches, bench);

fn main() {
    match ddtrace_conformance::measure::profile_spec() {
        Some((case, headers, n)) => profile(&case, headers, n),
        None => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
