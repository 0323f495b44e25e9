//! The local root span as libdatadog's sampler reads it: name, service, `env`, resource, HTTP
//! status and tags, borrowed from the span without copying.

#[cfg(test)]
use libdd_sampling::AttributeFactory;
use libdd_sampling::{AttributeLike, SamplingData, SpanProperties, ValueLike};
use libdd_trace_utils::span::v04::SpanBytes;
use std::borrow::Cow;

/// A tag of the span: a meta string or a metric.
pub(super) enum Value<'a> {
    Meta(&'a str),
    Metric(f64),
}

impl ValueLike for Value<'_> {
    fn as_float(&self) -> Option<f64> {
        match self {
            Value::Metric(f) => Some(*f),
            Value::Meta(_) => None,
        }
    }

    fn as_str(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Meta(s) => Some(Cow::Borrowed(s)),
            Value::Metric(f) => Some(Cow::Owned(f.to_string())),
        }
    }
}

pub(super) struct Attribute<'a> {
    key: &'a str,
    value: Value<'a>,
}

impl<'a> AttributeLike for Attribute<'a> {
    type Value = Value<'a>;

    fn key(&self) -> &str {
        self.key
    }

    fn value(&self) -> &Value<'a> {
        &self.value
    }
}

pub(super) struct Properties<'a>(&'a SpanBytes);

impl SpanProperties for Properties<'_> {
    type Attribute<'b>
        = Attribute<'b>
    where
        Self: 'b;

    fn operation_name(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.0.name.as_str())
    }

    fn service(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.0.service.as_str())
    }

    fn env(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.0.meta.get("env").map_or("", |v| v.as_str()))
    }

    fn resource(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.0.resource.as_str())
    }

    fn status_code(&self) -> Option<u32> {
        self.0
            .meta
            .get("http.status_code")
            .and_then(|s| s.as_str().parse().ok())
    }

    fn attributes(&self) -> impl Iterator<Item = Attribute<'_>> + '_ {
        let meta = self.0.meta.iter().map(|(k, v)| Attribute {
            key: k.as_str(),
            value: Value::Meta(v.as_str()),
        });
        let metrics = self.0.metrics.iter().map(|(k, v)| Attribute {
            key: k.as_str(),
            value: Value::Metric(*v),
        });
        meta.chain(metrics)
    }

    fn get_alternate_key<'b>(&self, _key: &'b str) -> Option<Cow<'b, str>> {
        None
    }
}

/// A local root without an upstream decision.
pub(super) struct Root<'a>(pub &'a SpanBytes);

impl SamplingData for Root<'_> {
    type TraceId = u128;
    type Properties<'b>
        = Properties<'b>
    where
        Self: 'b;

    fn is_parent_sampled(&self) -> Option<bool> {
        None
    }

    fn trace_id(&self) -> &u128 {
        &self.0.trace_id
    }

    fn with_span_properties<S, T, F>(&self, s: &S, f: F) -> T
    where
        F: Fn(&S, &Properties<'_>) -> T,
    {
        f(s, &Properties(self.0))
    }
}

/// A sampling tag for the local root, as libdatadog's own listing of a decision's tags gives
/// it: the reference the tests hold `Sampler::sample` to.
#[cfg(test)]
pub(super) enum Tag {
    Meta(&'static str, String),
    Metric(&'static str, f64),
}

#[cfg(test)]
pub(super) struct Tags;

#[cfg(test)]
impl AttributeFactory for Tags {
    type Attribute = Tag;

    fn create_i64(&self, key: &'static str, value: i64) -> Tag {
        Tag::Metric(key, value as f64)
    }

    fn create_f64(&self, key: &'static str, value: f64) -> Tag {
        Tag::Metric(key, value)
    }

    fn create_string(&self, key: &'static str, value: Cow<'static, str>) -> Tag {
        Tag::Meta(key, value.into_owned())
    }
}
