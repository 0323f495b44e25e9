//! The span of an outgoing gRPC call (see [`crate::grpc`] for its tags).

use super::{native_span, otel_span, peer_attributes, peer_meta, ClientConfig, ClientSpan, Inner};
use crate::grpc::{GrpcStatus, GrpcTarget, MethodTags};
use libdd_tinybytes::BytesString;
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::KeyValue;

impl ClientSpan {
    /// Starts the span of a gRPC call to the full method `path` (`/package.Service/Method`),
    /// operation `grpc.client`, a child of the current span. `target` is where the channel
    /// connects, read once per channel, when the integration knows it: it gives `out.host`,
    /// `network.destination.port` and, when peer services are on, `peer.service`.
    ///
    /// ```no_run
    /// use ddtrace_core::grpc::{GrpcStatus, GrpcTarget};
    /// use ddtrace_core::{ClientConfig, ClientSpan};
    ///
    /// let config = ClientConfig::from_env();
    /// let target = GrpcTarget::parse("inventory:50051");
    /// let mut span = ClientSpan::start_grpc(&config, "tonic", "/shop.Inventory/Get", target.as_ref());
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
        target: Option<&GrpcTarget>,
    ) -> ClientSpan {
        let tags = MethodTags::of(path);
        let peer = target.and_then(|t| config.peer_service_of(t.host()));
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
                if let Some(target) = target {
                    meta.insert(fixed("out.host"), target.host.clone());
                    if let Some(port) = &target.port {
                        meta.insert(fixed("network.destination.port"), port.clone());
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
        if let Some(target) = target {
            attrs.push(KeyValue::new("out.host", target.host().to_string()));
            if let Some(port) = target.port() {
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
