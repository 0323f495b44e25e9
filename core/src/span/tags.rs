//! What the `on_request` and `on_response` hooks may change on a request span.

use libdd_tinybytes::BytesString;
use libdd_trace_utils::span::v04::SpanBytes;
use opentelemetry::KeyValue;

/// A request span as the hooks see it: tags to add, the service, the type, the error.
///
/// ```
/// let config = ddtrace_core::Config::builder()
///     .on_request(|req, span| {
///         span.set_tag("tenant", req.header("x-tenant").unwrap_or("none"));
///         span.set_metric("request.priority", 2.0);
///     })
///     .on_response(|resp, span| {
///         if resp.status() == 409 {
///             span.set_error("conflict");
///         }
///     })
///     .build()
///     .unwrap();
/// # let _ = config;
/// ```
pub struct SpanTags<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    Native(&'a mut SpanBytes),
    OpenTelemetry(opentelemetry::trace::SpanRef<'a>),
}

impl<'a> SpanTags<'a> {
    pub(super) fn native(span: &'a mut SpanBytes) -> Self {
        SpanTags {
            inner: Inner::Native(span),
        }
    }

    pub(super) fn opentelemetry(span: opentelemetry::trace::SpanRef<'a>) -> Self {
        SpanTags {
            inner: Inner::OpenTelemetry(span),
        }
    }

    fn otel(&self, kv: KeyValue) {
        if let Inner::OpenTelemetry(span) = &self.inner {
            span.set_attribute(kv);
        }
    }

    /// Sets a string tag.
    pub fn set_tag(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match &mut self.inner {
            Inner::Native(span) => span.meta.insert(
                crate::native::key_text(key),
                BytesString::from_string(value),
            ),
            Inner::OpenTelemetry(_) => self.otel(KeyValue::new(key.to_string(), value)),
        }
    }

    /// Sets a numeric tag (a metric).
    pub fn set_metric(&mut self, key: &str, value: f64) {
        match &mut self.inner {
            Inner::Native(span) => span.metrics.insert(crate::native::key_text(key), value),
            Inner::OpenTelemetry(_) => self.otel(KeyValue::new(key.to_string(), value)),
        }
    }

    /// Sets the span's service.
    pub fn set_service(&mut self, service: impl Into<String>) {
        let service = service.into();
        match &mut self.inner {
            Inner::Native(span) => span.service = BytesString::from_string(service),
            Inner::OpenTelemetry(_) => self.otel(KeyValue::new("datadog.service", service)),
        }
    }

    /// Sets the span's type (`web` by default).
    pub fn set_type(&mut self, span_type: impl Into<String>) {
        let span_type = span_type.into();
        match &mut self.inner {
            Inner::Native(span) => span.r#type = BytesString::from_string(span_type),
            Inner::OpenTelemetry(_) => self.otel(KeyValue::new("datadog.type", span_type)),
        }
    }

    /// Marks the span as an error with `message` (cut to 4 KiB, as every error message).
    pub fn set_error(&mut self, message: impl Into<String>) {
        let mut message = message.into();
        crate::header_tags::truncate(&mut message, crate::error::MAX_MESSAGE_LEN);
        match &mut self.inner {
            Inner::Native(span) => {
                span.error = 1;
                span.meta.insert(
                    BytesString::from_static("error.message"),
                    BytesString::from_string(message),
                );
            }
            Inner::OpenTelemetry(_) => {
                self.otel(KeyValue::new("datadog.error", 1_i64));
                self.otel(KeyValue::new("datadog.error.msg", message));
            }
        }
    }
}

impl std::fmt::Debug for SpanTags<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpanTags")
    }
}
