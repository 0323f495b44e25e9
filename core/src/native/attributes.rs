//! The request span's attributes, as the integrations' shared code lists them for either
//! pipeline, written into the Datadog span: `datadog.*` keys name the span's own fields (as
//! `datadog-opentelemetry` maps them), numbers become metrics, the rest meta.

use crate::trace::ActiveSpan;
use libdd_tinybytes::BytesString;
use opentelemetry::{KeyValue, StringValue, Value};
use std::borrow::Cow;

/// Span text from a string that may be static (then nothing is copied).
pub(crate) fn text(s: Cow<'static, str>) -> BytesString {
    BytesString::from_cow(s)
}

fn string(v: &StringValue) -> BytesString {
    BytesString::from_string(v.as_str().to_string())
}

fn key_text(key: &opentelemetry::Key) -> BytesString {
    BytesString::from_string(key.as_str().to_string())
}

/// Writes one attribute into the span.
pub(crate) fn apply(span: &mut ActiveSpan, kv: KeyValue) {
    let Some(data) = span.data() else { return };
    let KeyValue { key, value, .. } = kv;
    match (key.as_str(), value) {
        ("datadog.name", Value::String(v)) => data.name = string(&v),
        ("datadog.type", Value::String(v)) => data.r#type = string(&v),
        ("datadog.service", Value::String(v)) => data.service = string(&v),
        ("datadog.resource", Value::String(v)) => data.resource = string(&v),
        ("datadog.http_status_code", Value::String(v)) => {
            data.meta
                .insert(BytesString::from_static("http.status_code"), string(&v));
        }
        ("datadog.http_status_code", Value::I64(n)) => {
            data.meta.insert(
                BytesString::from_static("http.status_code"),
                BytesString::from_string(n.to_string()),
            );
        }
        ("datadog.error", _) => data.error = 1,
        ("datadog.error.type", Value::String(v)) => {
            data.meta
                .insert(BytesString::from_static("error.type"), string(&v));
        }
        ("datadog.error.msg", Value::String(v)) => {
            data.meta
                .insert(BytesString::from_static("error.message"), string(&v));
        }
        (_, Value::I64(n)) => {
            data.metrics.insert(key_text(&key), n as f64);
        }
        (_, Value::F64(f)) => {
            data.metrics.insert(key_text(&key), f);
        }
        (_, Value::Bool(b)) => {
            data.meta.insert(
                key_text(&key),
                BytesString::from_static(if b { "true" } else { "false" }),
            );
        }
        (_, Value::String(v)) => {
            data.meta.insert(key_text(&key), string(&v));
        }
        (_, other) => {
            data.meta
                .insert(key_text(&key), BytesString::from_string(other.to_string()));
        }
    }
}
