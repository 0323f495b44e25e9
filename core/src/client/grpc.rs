//! The span of an outgoing gRPC call (see [`crate::grpc`] for its tags).

use super::{native_span, otel_span, peer_attributes, peer_meta, ClientConfig, ClientSpan, Inner};
use crate::grpc::{GrpcStatus, MethodTags};
use libdd_tinybytes::BytesString;
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::KeyValue;

/// The host and port a call goes to, from a target as gRPC clients write it: `host:port`,
/// `[::1]:50051`, or a URI (`http://inventory:50051`).
fn host_port(target: &str) -> Option<(String, Option<u16>)> {
    let uri: http::Uri = target.trim().parse().ok()?;
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_string(), uri.port_u16()))
}

impl ClientSpan {
    /// Starts the span of a gRPC call to the full method `path` (`/package.Service/Method`),
    /// operation `grpc.client`, a child of the current span. `target` is where the channel
    /// connects (`inventory:50051`), when the integration knows it: it gives `out.host`,
    /// `network.destination.port` and, when peer services are on, `peer.service`.
    ///
    /// ```no_run
    /// use ddtrace_core::{grpc::GrpcStatus, ClientConfig, ClientSpan};
    ///
    /// let config = ClientConfig::from_env();
    /// let mut span = ClientSpan::start_grpc(&config, "tonic", "/shop.Inventory/Get", Some("inventory:50051"));
    /// let mut headers = http::HeaderMap::new();
    /// span.inject(&mut headers);
    /// // ... make the call with `headers` as its metadata ...
    /// span.record_grpc_status(GrpcStatus::code(0));
    /// span.finish();
    /// ```
    pub fn start_grpc(
        config: &ClientConfig,
        component: &'static str,
        path: &str,
        target: Option<&str>,
    ) -> ClientSpan {
        let tags = MethodTags::of(path);
        let target = target.and_then(host_port);
        let peer = target
            .as_ref()
            .and_then(|(host, _)| config.peer_service_of(host));
        let error_statuses = config.grpc_error_statuses.clone();
        if let Some(settings) = crate::native::installed() {
            let mut span = native_span(&settings, "grpc.client");
            if let Some(data) = span.data() {
                let fixed = BytesString::from_static;
                data.r#type = fixed("grpc");
                data.resource = tags.path.clone();
                crate::grpc::span::start_tags(data, "client", &tags);
                let meta = &mut data.meta;
                meta.insert(fixed("component"), fixed(component));
                if let Some((host, port)) = target {
                    meta.insert(fixed("out.host"), BytesString::from_string(host));
                    if let Some(port) = port {
                        meta.insert(
                            fixed("network.destination.port"),
                            BytesString::from_string(port.to_string()),
                        );
                    }
                }
                peer_meta(meta, peer);
                data.metrics.insert(fixed("_dd.measured"), 1.0);
            }
            return ClientSpan {
                inner: Inner::Native(Box::new(span)),
                error_statuses,
            };
        }
        let mut attrs = vec![
            KeyValue::new("datadog.name", "grpc.client"),
            KeyValue::new("datadog.type", "grpc"),
            KeyValue::new("datadog.resource", tags.path.as_str().to_string()),
            KeyValue::new("component", component),
            KeyValue::new("_dd.measured", 1_i64),
        ];
        attrs.extend(crate::grpc::span::start_attributes(&tags));
        if let Some((host, port)) = target {
            attrs.push(KeyValue::new("out.host", host));
            if let Some(port) = port {
                attrs.push(KeyValue::new("network.destination.port", port.to_string()));
            }
        }
        peer_attributes(&mut attrs, peer);
        ClientSpan {
            inner: Inner::Otel(otel_span("grpc.client", attrs)),
            error_statuses,
        }
    }

    /// The call's gRPC status: tagged as `grpc.status.code`, and an error when the code is in
    /// `DD_GRPC_CLIENT_ERROR_STATUSES` (default `1-16`).
    pub fn record_grpc_status(&mut self, status: GrpcStatus) {
        let error = crate::grpc::span::end_error(Some(&status), None, None, &self.error_statuses);
        match &mut self.inner {
            Inner::Native(span) => {
                if let Some(data) = span.data() {
                    crate::grpc::span::end_native(data, Some(&status), error);
                }
            }
            Inner::Otel(cx) => {
                let (attrs, description) = crate::grpc::span::end_attributes(Some(&status), error);
                let span = cx.span();
                span.set_attributes(attrs);
                if let Some(description) = description {
                    span.set_status(Status::error(description));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn targets_are_read_as_grpc_clients_write_them() {
        let hp = |t: &str| host_port(t);
        assert_eq!(
            hp("inventory:50051"),
            Some(("inventory".into(), Some(50051)))
        );
        assert_eq!(
            hp("http://inventory:50051"),
            Some(("inventory".into(), Some(50051)))
        );
        assert_eq!(hp("https://inventory"), Some(("inventory".into(), None)));
        assert_eq!(hp("[::1]:50051"), Some(("::1".into(), Some(50051))));
        assert_eq!(hp("not a target"), None);
        assert_eq!(hp(""), None);
    }
}
