//! Support for the integrations' in-process tests and benches: an in-memory span exporter
//! installed as the global OpenTelemetry provider, span queries, the incoming trace headers
//! every bench uses, and the Datadog pipeline pointed at a discarding sink.

use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use std::sync::OnceLock;

/// The process-wide in-memory exporter (installed on first use, with the W3C propagator).
/// Integrations fall back to the global provider when `ddtrace_core::init` was not called.
pub fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        opentelemetry::global::set_tracer_provider(provider);
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        exporter
    })
}

/// A span attribute as text.
pub fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| match &kv.value {
            Value::String(s) => s.to_string(),
            other => other.to_string(),
        })
}

/// The finished server spans whose `http.url` ends with `path` after the host.
pub fn server_spans(path: &str) -> Vec<SpanData> {
    exporter()
        .get_finished_spans()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.span_kind == opentelemetry::trace::SpanKind::Server)
        .filter(|s| {
            attr(s, "http.url").is_some_and(|u| {
                u.split_once("://")
                    .is_some_and(|(_, rest)| rest.ends_with(path))
            })
        })
        .collect()
}

/// The finished span named `name` in `server`'s trace, asserted to be its direct child: what
/// each integration checks to prove handlers run inside the request span's context.
pub fn assert_child_of(server: &SpanData, name: &str) -> SpanData {
    let child = exporter()
        .get_finished_spans()
        .unwrap_or_default()
        .into_iter()
        .find(|s| s.name == name && s.span_context.trace_id() == server.span_context.trace_id())
        .unwrap_or_else(|| panic!("no span {name:?} in the request's trace"));
    assert_eq!(
        child.parent_span_id,
        server.span_context.span_id(),
        "{name} must be a child of the request span"
    );
    child
}

/// A header map of (name, value) pairs, names in any case, repeated names kept in order.
///
/// Panics on a name or value that is not valid HTTP: for tests, whose headers are literals.
pub fn header_map(pairs: &[(&str, &str)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (k, v) in pairs {
        map.append(
            http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            http::HeaderValue::from_str(v).expect("header value"),
        );
    }
    map
}

/// The incoming Datadog and W3C headers the benches send "with trace headers".
pub const TRACE_HEADERS: [(&str, &str); 6] = [
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

/// The service the benches' traces carry (the sink gives it an agent rate).
pub const BENCH_SERVICE: &str = "bench";

/// The Datadog pipelines, exporting to a discarding sink on loopback (for benches): this
/// project's request spans on the native pipeline (`init`'s default) and the OpenTelemetry
/// peers on the OpenTelemetry pipeline, side by side in one process.
/// `DDTRACE_RS_PIPELINE=opentelemetry` puts this project's spans on the OpenTelemetry pipeline
/// too, as before the native one existed.
///
/// `DDTRACE_BENCH_AGENT_URL` points it at a sink in another process instead (the profile
/// script does, so that the receiver's instructions are not in the bench's process).
pub fn pipeline_to_sink() -> ddtrace_core::TracerGuard {
    let url = std::env::var("DDTRACE_BENCH_AGENT_URL").unwrap_or_else(|_| {
        let port = crate::sink::start_agent_sink(BENCH_SERVICE);
        format!("http://127.0.0.1:{port}")
    });
    // Set before any thread of the bench reads the environment (the native pipeline does).
    std::env::set_var("DD_TRACE_AGENT_URL", &url);
    std::env::set_var("DD_SERVICE", BENCH_SERVICE);
    let mut config = ddtrace_core::datadog_opentelemetry::configuration::Config::builder();
    config
        .set_service(BENCH_SERVICE.to_string())
        .set_trace_agent_url(url)
        .set_telemetry_enabled(false);
    let otel_only = std::env::var("DDTRACE_RS_PIPELINE")
        .is_ok_and(|v| v.eq_ignore_ascii_case("opentelemetry") || v.eq_ignore_ascii_case("otel"));
    if otel_only {
        ddtrace_core::init_with(config.build())
    } else {
        ddtrace_core::init_for_benches(config.build())
    }
}

/// Hostile request headers every integration's tests send, each case a list of (name, raw
/// value): malformed and duplicated propagation headers, 1 MiB values, invalid bytes.
pub fn hostile_header_cases() -> Vec<Vec<(&'static str, Vec<u8>)>> {
    let huge = vec![b'x'; 1 << 20];
    vec![
        vec![
            ("traceparent", b"00-zz-zz-zz".to_vec()),
            ("traceparent", b"dup".to_vec()),
        ],
        vec![(
            "traceparent",
            b"ff-00000000000000000000000000000000-0000000000000000-01".to_vec(),
        )],
        vec![
            ("x-datadog-trace-id", b"-1".to_vec()),
            ("x-datadog-parent-id", b"abc".to_vec()),
        ],
        vec![
            ("x-datadog-tags", huge.clone()),
            ("tracestate", huge.clone()),
        ],
        vec![("baggage", b"=,=,,;;==".to_vec())],
        vec![("x-big", huge.clone()), ("x-forwarded-for", huge)],
        vec![
            ("x-bin", vec![0xff, 0xfe, b'a']),
            ("user-agent", vec![0xc3, 0x28]),
        ],
        vec![
            ("forwarded", b"for=\"[::1".to_vec()),
            ("x-real-ip", b"999.1.1.1".to_vec()),
        ],
    ]
}
