//! The gRPC tags of a span at its start and its end, on either pipeline.

use super::{GrpcStatus, MethodTags};
use crate::status::StatusRanges;
use crate::ErrorInfo;
use libdd_tinybytes::BytesString;
use libdd_trace_utils::span::v04::SpanBytes;
use opentelemetry::KeyValue;

const fn fixed(s: &'static str) -> BytesString {
    BytesString::from_static(s)
}

/// Writes the call's method tags into a starting span.
pub(crate) fn start_tags(data: &mut SpanBytes, kind: &'static str, tags: &MethodTags) {
    let meta = &mut data.meta;
    meta.insert(fixed("span.kind"), fixed(kind));
    meta.insert(fixed("rpc.system"), fixed("grpc"));
    for (key, value) in tags.pairs() {
        meta.insert(fixed(key), value.clone());
    }
}

/// The same as OpenTelemetry attributes.
pub(crate) fn start_attributes(tags: &MethodTags) -> impl Iterator<Item = KeyValue> + '_ {
    std::iter::once(KeyValue::new("rpc.system", "grpc")).chain(
        tags.pairs()
            .map(|(key, value)| KeyValue::new(key, value.as_str().to_string())),
    )
}

/// The error a span ends with: one the application recorded when the status is an error
/// (or there is none), else the integration's (a panic, a failed body), else the status's.
pub(crate) fn end_error(
    status: Option<&GrpcStatus>,
    recorded: Option<ErrorInfo>,
    error: Option<ErrorInfo>,
    error_statuses: &StatusRanges,
) -> Option<ErrorInfo> {
    let is_error = status.is_some_and(|s| error_statuses.contains(s.code));
    recorded
        .filter(|_| is_error || status.is_none())
        .or(error)
        .or_else(|| status.filter(|_| is_error).map(GrpcStatus::error))
}

/// Writes the status and the error into an ending span.
pub(crate) fn end_native(
    data: &mut SpanBytes,
    status: Option<&GrpcStatus>,
    error: Option<ErrorInfo>,
) {
    if let Some(status) = status {
        let code = f64::from(status.code);
        data.metrics.insert(fixed("grpc.status.code"), code);
        data.metrics.insert(fixed("rpc.grpc.status_code"), code);
    }
    if let Some(error) = error {
        crate::span::native::set_error(data, error);
    }
}

/// The same as OpenTelemetry attributes, with the error's description for the span status.
pub(crate) fn end_attributes(
    status: Option<&GrpcStatus>,
    error: Option<ErrorInfo>,
) -> (Vec<KeyValue>, Option<String>) {
    let mut attrs = Vec::with_capacity(5);
    if let Some(status) = status {
        attrs.push(KeyValue::new("grpc.status.code", i64::from(status.code)));
        attrs.push(KeyValue::new(
            "rpc.grpc.status_code",
            i64::from(status.code),
        ));
    }
    let description = error.map(|error| {
        let description = error.message.clone();
        attrs.extend(crate::error::error_attributes(error));
        description
    });
    (attrs, description)
}
