//! Trace-context propagation over `http` headers, through the Datadog pipeline's propagator.

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::Context;

/// Reads propagation headers from a [`HeaderMap`], case-insensitively, with repeated fields
/// combined in order with `,` (RFC 9110 section 5.3).
///
/// That makes a duplicated `traceparent` invalid and concatenates several `tracestate` fields,
/// as the W3C Trace Context specification requires.
///
/// ```
/// use ddtrace_core::propagation::HeaderExtractor;
/// use opentelemetry::propagation::Extractor;
///
/// let mut headers = http::HeaderMap::new();
/// headers.append("tracestate", "a=1".parse().unwrap());
/// headers.append("tracestate", "b=2".parse().unwrap());
/// let extractor = HeaderExtractor::new(&headers);
/// assert_eq!(extractor.get("TraceState"), Some("a=1,b=2"));
/// ```
pub struct HeaderExtractor<'a> {
    headers: &'a HeaderMap,
    folded: Vec<(&'a HeaderName, String)>,
}

impl<'a> HeaderExtractor<'a> {
    /// Wraps `headers`; folds repeated fields only when the map has any.
    pub fn new(headers: &'a HeaderMap) -> Self {
        let mut folded = Vec::new();
        // The common case (no repeated field) costs one comparison.
        if headers.len() != headers.keys_len() {
            for name in headers.keys() {
                let mut values = headers.get_all(name).iter();
                let (Some(first), Some(_)) = (values.next(), values.next()) else {
                    continue;
                };
                let _ = first;
                let joined: Vec<&str> = headers
                    .get_all(name)
                    .iter()
                    .map(|v| v.to_str().unwrap_or(""))
                    .collect();
                folded.push((name, joined.join(",")));
            }
        }
        HeaderExtractor { headers, folded }
    }
}

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if let Some((_, v)) = self
            .folded
            .iter()
            .find(|(k, _)| k.as_str().eq_ignore_ascii_case(key))
        {
            return Some(v.as_str());
        }
        self.headers.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.headers.keys().map(HeaderName::as_str).collect()
    }
}

/// Writes propagation headers into a [`HeaderMap`]; a name or value that is not valid HTTP is
/// skipped rather than panicking.
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// Extracts the remote parent context (and baggage) from request headers with the installed
/// propagator: the Datadog pipeline's after [`crate::init`], with the styles of
/// `DD_TRACE_PROPAGATION_STYLE*`.
///
/// ```no_run
/// use opentelemetry::trace::TraceContextExt;
///
/// let _guard = ddtrace_core::init();
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-datadog-trace-id", "123".parse().unwrap());
/// headers.insert("x-datadog-parent-id", "456".parse().unwrap());
/// let cx = ddtrace_core::propagation::extract(&headers);
/// assert_eq!(cx.span().span_context().span_id(), opentelemetry::SpanId::from(456u64));
/// ```
pub fn extract(headers: &HeaderMap) -> Context {
    let extractor = HeaderExtractor::new(headers);
    opentelemetry::global::get_text_map_propagator(|p| {
        p.extract_with_context(&Context::new(), &extractor)
    })
}

/// Injects `cx` (its span and baggage) into outgoing request headers, for HTTP clients.
///
/// ```no_run
/// use opentelemetry::trace::Tracer;
///
/// let _guard = ddtrace_core::init();
/// let tracer = opentelemetry::global::tracer("example");
/// let span = tracer.start("client.request");
/// let cx = opentelemetry::Context::current_with_span(span);
/// let mut headers = http::HeaderMap::new();
/// ddtrace_core::propagation::inject(&cx, &mut headers);
/// assert!(headers.contains_key("x-datadog-trace-id"));
/// ```
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(cx, &mut HeaderInjector(headers))
    })
}
