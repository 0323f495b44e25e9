//! Trace-context propagation over `http` headers, through the Datadog pipeline's propagator.

use super::carrier::{header_index, is_visible_ascii, Carrier, Header};
use crate::HeaderSource;
use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::Context;

/// Reads propagation headers from any [`HeaderSource`], case-insensitively, with repeated
/// fields combined in order with `,` (RFC 9110 section 5.3).
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
pub struct HeaderExtractor<'a, H: ?Sized> {
    headers: &'a H,
    /// The propagation headers, read in one pass over the request's headers by the engine's
    /// carrier, so each of the propagator's lookups is a comparison with a static name.
    carrier: Carrier<'a>,
    /// `tracestate` without whitespace around members or empty members, when it had some: the
    /// pipeline's parser accepts only the canonical form.
    tracestate: Option<String>,
}

impl<'a, H: HeaderSource + ?Sized> HeaderExtractor<'a, H> {
    /// Wraps `headers`, reading the propagation headers in one pass.
    pub fn new(headers: &'a H) -> Self {
        let carrier = Carrier::read(headers);
        let tracestate = carrier
            .get(Header::TraceState)
            .filter(|v| {
                v.contains([' ', '\t'])
                    || v.starts_with(',')
                    || v.ends_with(',')
                    || v.contains(",,")
            })
            .map(super::tracecontext::normalized);
        HeaderExtractor {
            headers,
            carrier,
            tracestate,
        }
    }
}

impl<H: HeaderSource + ?Sized> Extractor for HeaderExtractor<'_, H> {
    fn get(&self, key: &str) -> Option<&str> {
        let Some(i) = header_index(key) else {
            // A header no propagator of the pipeline reads today: looked up directly.
            let lower: std::borrow::Cow<'_, str> = if key.bytes().any(|b| b.is_ascii_uppercase()) {
                key.to_ascii_lowercase().into()
            } else {
                key.into()
            };
            return self
                .headers
                .first_str(&lower)
                .filter(|v| is_visible_ascii(v));
        };
        if i == Header::TraceState as usize {
            if let Some(normalized) = &self.tracestate {
                return Some(normalized);
            }
        }
        let value = self.carrier.get_index(i)?;
        // Datadog's tracers discard the whole header when an item is malformed, where the
        // OpenTelemetry parser would keep the valid items.
        if i == Header::Baggage as usize
            && super::baggage::extract(value, MAX_BAGGAGE_ITEMS, MAX_BAGGAGE_BYTES).is_none()
        {
            return None;
        }
        Some(value)
    }

    fn keys(&self) -> Vec<&str> {
        self.headers.names().collect()
    }
}

/// Datadog's baggage limits: items and bytes (docs/propagation.md, "Baggage").
const MAX_BAGGAGE_ITEMS: usize = 64;
const MAX_BAGGAGE_BYTES: usize = 8192;

/// Datadog's limits on injected baggage: at most 64 items and 8192 bytes, stopping before the
/// item that would exceed them (system-tests D016, D017).
fn limit_baggage(value: &mut String) {
    const MAX_ITEMS: usize = MAX_BAGGAGE_ITEMS;
    const MAX_BYTES: usize = MAX_BAGGAGE_BYTES;
    let mut end = 0;
    for (i, item) in value.split(',').enumerate() {
        let next = if i == 0 {
            item.len()
        } else {
            end + 1 + item.len()
        };
        if i >= MAX_ITEMS || next > MAX_BYTES {
            break;
        }
        end = next;
    }
    value.truncate(end);
}

/// The pipeline keeps propagation tags in a hash map; Datadog's tracers write the decision
/// maker first and the trace id's high bits last. Ordering those two makes the header stable.
fn order_datadog_tags(value: &mut String) {
    if !value.contains(',') {
        return;
    }
    let rank = |tag: &str| {
        if tag.starts_with("_dd.p.dm=") {
            0
        } else if tag.starts_with("_dd.p.tid=") {
            2
        } else {
            1
        }
    };
    let mut tags: Vec<&str> = value.split(',').collect();
    tags.sort_by_key(|t| rank(t));
    *value = tags.join(",");
}

/// Writes propagation headers into a [`HeaderMap`]; a name or value that is not valid HTTP is
/// skipped rather than panicking.
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, mut value: String) {
        if key.eq_ignore_ascii_case("baggage") {
            limit_baggage(&mut value);
        } else if key.eq_ignore_ascii_case("x-datadog-tags") {
            order_datadog_tags(&mut value);
        }
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
pub fn extract<H: HeaderSource + ?Sized>(headers: &H) -> Context {
    // With the Datadog pipeline's propagator installed, a request without any of the headers
    // it reads has nothing to extract: skip it (most requests at an edge service).
    let extractor = HeaderExtractor::new(headers);
    if crate::pipeline::is_installed() && !extractor.carrier.any() {
        return Context::new();
    }
    opentelemetry::global::get_text_map_propagator(|p| {
        p.extract_with_context(&Context::new(), &extractor)
    })
}

/// Injects `cx` (its span and baggage) into outgoing request headers, for HTTP clients.
///
/// On the Datadog-native pipeline, a context holding a request span (the one a handler runs
/// in) injects from that span with the core's engine.
///
/// ```no_run
/// use opentelemetry::trace::{TraceContextExt, Tracer};
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
    if let Some(current) = cx.get::<crate::native::Current>() {
        current.trace.inject(current.span_id, headers);
        return;
    }
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(cx, &mut HeaderInjector(headers))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_baggage_keeps_whole_items_within_the_limits() {
        // 8192 bytes: three 4000-byte items do not fit; the first two (and the comma) do.
        let item = |c: char| format!("k{c}={}", c.to_string().repeat(3997));
        let mut value = [item('a'), item('b'), item('c')].join(",");
        limit_baggage(&mut value);
        assert_eq!(value, [item('a'), item('b')].join(","));
        assert!(value.len() <= 8192);

        let mut many = (0..100)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        limit_baggage(&mut many);
        assert_eq!(many.split(',').count(), 64);
        assert!(many.ends_with("k63=v"));
    }

    #[test]
    fn datadog_tags_put_the_decision_maker_first_and_tid_last() {
        let mut tags = "_dd.p.tid=640cfd8d00000000,_dd.p.usr.id=x,_dd.p.dm=-4".to_string();
        order_datadog_tags(&mut tags);
        assert_eq!(
            tags,
            "_dd.p.dm=-4,_dd.p.usr.id=x,_dd.p.tid=640cfd8d00000000"
        );
    }

    /// What the extractor gives for header `name` sent once with `value`.
    fn extract_one(name: &'static str, value: &'static str) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        HeaderExtractor::new(&headers).get(name).map(str::to_string)
    }

    #[test]
    fn tracestate_loses_whitespace_and_empty_members_only() {
        let get = |value| extract_one("tracestate", value);
        assert_eq!(get("foo=1,bar=2").as_deref(), Some("foo=1,bar=2"));
        assert_eq!(get(" foo=1 \t, ,\tbar=2,").as_deref(), Some("foo=1,bar=2"));
    }

    #[test]
    fn repeated_fields_fold_in_order_unless_one_is_not_ascii() {
        let mut headers = HeaderMap::new();
        headers.append("tracestate", HeaderValue::from_static("a=1"));
        headers.append("tracestate", HeaderValue::from_static("b=2"));
        headers.append("traceparent", HeaderValue::from_static("00-x"));
        headers.append("traceparent", HeaderValue::from_bytes(b"\xff").unwrap());
        let extractor = HeaderExtractor::new(&headers);
        assert_eq!(extractor.get("tracestate"), Some("a=1,b=2"));
        assert_eq!(extractor.get("traceparent"), None);
    }

    #[test]
    fn malformed_baggage_is_dropped_whole() {
        let get = |value| extract_one("baggage", value);
        assert_eq!(get("a=1,b=2;prop=x").as_deref(), Some("a=1,b=2;prop=x"));
        for bad in ["a=1,b", "a=1, =2", "a="] {
            assert_eq!(get(bad), None, "{bad}");
        }
    }
}
