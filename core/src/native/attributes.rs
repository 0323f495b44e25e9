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

/// Keys every request span or client span carries, as static text: no allocation for them.
const STATIC_KEYS: &[&str] = &[
    "component",
    "span.kind",
    "http.method",
    "http.url",
    "http.useragent",
    "http.route",
    "http.client_ip",
    "network.client.ip",
    "out.host",
    "_dd.measured",
    "env",
    "version",
    "_dd.p.dm",
    "_dd.p.tid",
    "_dd.p.ksr",
    "_dd.origin",
    "_dd.parent_id",
    "_dd.propagation_error",
];

/// Span text for a tag value, static when it is one of the few values every trace repeats
/// (the propagated tags' common values: `propagation::known_text`).
pub(crate) fn value_text(value: &str) -> BytesString {
    match crate::propagation::known_text(value) {
        Some(v) => BytesString::from_static(v),
        None => crate::native::short_text(value),
    }
}

/// Span text for a tag key, static when the key is a known one.
pub(crate) fn key_text(key: &str) -> BytesString {
    match STATIC_KEYS.iter().find(|k| **k == key) {
        Some(k) => BytesString::from_static(k),
        None => crate::native::short_text(key),
    }
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
            data.metrics.insert(key_text(key.as_str()), n as f64);
        }
        (_, Value::F64(f)) => {
            data.metrics.insert(key_text(key.as_str()), f);
        }
        (_, Value::Bool(b)) => {
            data.meta.insert(
                key_text(key.as_str()),
                BytesString::from_static(if b { "true" } else { "false" }),
            );
        }
        (_, Value::String(v)) => {
            data.meta.insert(key_text(key.as_str()), string(&v));
        }
        (_, other) => {
            data.meta.insert(
                key_text(key.as_str()),
                BytesString::from_string(other.to_string()),
            );
        }
    }
}

/// A tracer's fixed attributes as Datadog span fields and tags, converted once.
#[derive(Clone, Debug, Default)]
pub(crate) struct StaticTags {
    name: Option<BytesString>,
    r#type: Option<BytesString>,
    service: Option<BytesString>,
    meta: Vec<(BytesString, BytesString)>,
    metrics: Vec<(BytesString, f64)>,
}

impl StaticTags {
    pub(crate) fn from_attributes(attrs: &[KeyValue]) -> StaticTags {
        let mut tags = StaticTags::default();
        for kv in attrs {
            let key = kv.key.as_str();
            match (key, &kv.value) {
                ("datadog.name", Value::String(v)) => tags.name = Some(string(v)),
                ("datadog.type", Value::String(v)) => tags.r#type = Some(string(v)),
                ("datadog.service", Value::String(v)) => tags.service = Some(string(v)),
                (_, Value::I64(n)) => tags.metrics.push((key_text(key), *n as f64)),
                (_, Value::F64(f)) => tags.metrics.push((key_text(key), *f)),
                (_, Value::String(v)) => tags.meta.push((key_text(key), string(v))),
                (_, other) => tags
                    .meta
                    .push((key_text(key), BytesString::from_string(other.to_string()))),
            }
        }
        tags
    }

    pub(crate) fn apply(&self, span: &mut ActiveSpan) {
        let Some(data) = span.data() else { return };
        if let Some(name) = &self.name {
            data.name = name.clone();
        }
        if let Some(t) = &self.r#type {
            data.r#type = t.clone();
        }
        if let Some(service) = &self.service {
            data.service = service.clone();
        }
        for (k, v) in &self.meta {
            data.meta.insert(k.clone(), v.clone());
        }
        for (k, v) in &self.metrics {
            data.metrics.insert(k.clone(), *v);
        }
    }
}
