//! The span of an outgoing HTTP request, on whichever pipeline is installed.

use crate::error::{error_attributes, ErrorInfo};
use crate::native::Current;
use crate::trace::ActiveSpan;
use http::HeaderMap;
use libdd_tinybytes::BytesString;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{global, Context, KeyValue};

/// The span of an outgoing request: a child of the current span (the request being handled),
/// from which the trace context is injected into the request's headers.
///
/// ```no_run
/// use ddtrace_core::ClientSpan;
///
/// let mut span = ClientSpan::start("reqwest", "reqwest.request", "GET", "http://inventory/items/7");
/// let mut headers = http::HeaderMap::new();
/// span.inject(&mut headers);
/// // ... send the request with `headers` ...
/// span.record_status(200);
/// span.finish();
/// ```
#[derive(Debug)]
pub struct ClientSpan {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Native(Box<ActiveSpan>),
    Otel(Context),
}

/// `DD_TRACE_HTTP_CLIENT_ERROR_STATUSES`' default: a client span is an error for a 4xx answer.
fn is_client_error(status: u16) -> bool {
    (400..500).contains(&status)
}

impl ClientSpan {
    /// Starts the span of a `method` request to `url`, named `operation_name`
    /// (`<client>.request`), with `component` the client library.
    pub fn start(
        component: &'static str,
        operation_name: &'static str,
        method: &str,
        url: &str,
    ) -> ClientSpan {
        let (http_url, host) = describe(url);
        let mut attrs = vec![
            KeyValue::new("datadog.name", operation_name),
            KeyValue::new("datadog.type", "http"),
            KeyValue::new("component", component),
            KeyValue::new("http.method", method.to_string()),
            KeyValue::new("http.url", http_url),
        ];
        if let Some(host) = host {
            attrs.push(KeyValue::new("out.host", host));
        }
        if let Some(settings) = crate::native::installed() {
            let name = BytesString::from_static(operation_name);
            let mut span = match Current::get() {
                Some(current) => ActiveSpan::child_of(current.trace, current.span_id, name),
                None => {
                    let trace = crate::propagation::TraceContext::new_root(&settings.propagation);
                    crate::trace::Trace::start_root(
                        &settings,
                        trace,
                        name.clone(),
                        name,
                        BytesString::default(),
                    )
                }
            };
            span.set_meta(
                BytesString::from_static("span.kind"),
                BytesString::from_static("client"),
            );
            for kv in attrs {
                crate::native::apply(&mut span, kv);
            }
            return ClientSpan {
                inner: Inner::Native(Box::new(span)),
            };
        }
        let parent = Context::current();
        let tracer = global::tracer("");
        let span = tracer
            .span_builder(operation_name)
            .with_kind(SpanKind::Client)
            .with_attributes(attrs)
            .start_with_context(&tracer, &parent);
        ClientSpan {
            inner: Inner::Otel(parent.with_span(span)),
        }
    }

    /// Sets a baggage item that this request, and later ones of the same trace, carry.
    pub fn set_baggage(&mut self, key: &str, value: &str) {
        match &mut self.inner {
            Inner::Native(span) => span.trace().set_baggage(key, value),
            Inner::Otel(cx) => {
                let mut items: Vec<KeyValue> = cx
                    .baggage()
                    .iter()
                    .map(|(k, (v, _))| KeyValue::new(k.clone(), v.to_string()))
                    .collect();
                items.push(KeyValue::new(key.to_string(), value.to_string()));
                *cx = cx.with_baggage(items);
            }
        }
    }

    /// Writes the trace context into the request's headers, with the configured styles.
    pub fn inject(&mut self, headers: &mut HeaderMap) {
        match &self.inner {
            Inner::Native(span) => span.inject(headers),
            Inner::Otel(cx) => crate::propagation::inject(cx, headers),
        }
    }

    /// The response's status; a 4xx makes the span an error.
    pub fn record_status(&mut self, status: u16) {
        let mut attrs = vec![KeyValue::new(
            "datadog.http_status_code",
            status.to_string(),
        )];
        if is_client_error(status) {
            attrs.push(KeyValue::new("datadog.error", 1_i64));
        }
        self.set(attrs, is_client_error(status).then(String::new));
    }

    /// A transport error or timeout: no response came.
    pub fn record_error(&mut self, error: ErrorInfo) {
        let description = error.message.clone();
        self.set(error_attributes(error).into(), Some(description));
    }

    fn set(&mut self, attrs: Vec<KeyValue>, error: Option<String>) {
        match &mut self.inner {
            Inner::Native(span) => {
                for kv in attrs {
                    crate::native::apply(span, kv);
                }
            }
            Inner::Otel(cx) => {
                let span = cx.span();
                span.set_attributes(attrs);
                if let Some(description) = error {
                    span.set_status(Status::error(description));
                }
            }
        }
    }

    /// Ends the span.
    pub fn finish(self) {}
}

impl Drop for ClientSpan {
    fn drop(&mut self) {
        if let Inner::Otel(cx) = &self.inner {
            cx.span().end();
        }
        // A native span ends when dropped.
    }
}

/// `http.url` (userinfo and query left out) and `out.host`.
fn describe(url: &str) -> (String, Option<String>) {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return (String::new(), None);
    };
    let host = uri.host().map(str::to_string);
    let mut out = String::with_capacity(url.len());
    if let Some(scheme) = uri.scheme_str() {
        out.push_str(scheme);
        out.push_str("://");
    }
    if let Some(authority) = uri.authority() {
        let a = authority.as_str();
        out.push_str(a.rsplit_once('@').map_or(a, |(_, h)| h));
    }
    out.push_str(uri.path());
    (out, host)
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_lose_credentials_and_query() {
        assert_eq!(
            super::describe("http://user:pw@example.com:8080/a/b?token=x"),
            (
                "http://example.com:8080/a/b".to_string(),
                Some("example.com".to_string())
            )
        );
        assert_eq!(super::describe("not a url"), (String::new(), None));
    }
}
