//! The span of an outgoing HTTP request, on whichever pipeline is installed: what every client
//! integration (`ddtrace-reqwest`, a tower client layer) shares.
//!
//! Its tags follow Datadog's HTTP client integrations (dd-trace-py's `requests`, dd-trace-go's
//! `net/http` round tripper):
//! - operation `<client>.request`, type `http`, `span.kind` `client`, `component` the client
//!   library, `_dd.measured` 1;
//! - resource `<METHOD> <path>` (dd-trace-py `requests`: `f"{method} {path}"`);
//! - `http.method`, `http.url` (no userinfo or fragment; the query obfuscated as on server
//!   spans, or dropped with `DD_TRACE_HTTP_CLIENT_TAG_QUERY_STRING=false`), `out.host` (the
//!   host alone), `http.status_code` as a string;
//! - an error for an answer in `DD_TRACE_HTTP_CLIENT_ERROR_STATUSES` (400-499 by default), with
//!   `error.message` `404: Not Found` as dd-trace-go writes it, and for a transport error or
//!   timeout, with its type and message;
//! - with `DD_TRACE_HTTP_CLIENT_SPLIT_BY_DOMAIN=true`, the service is the host and port called;
//! - with peer services on (`DD_TRACE_PEER_SERVICE_DEFAULTS_ENABLED`), `peer.service` and
//!   `_dd.peer.service.source` (see [`ClientConfig`]).

mod config;
mod grpc;
mod layer;
mod url;

pub use config::ClientConfig;
pub use layer::{ClientFuture, ClientLayer, ClientService};

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
    error_statuses: std::sync::Arc<crate::status::StatusRanges>,
}

#[derive(Debug)]
enum Inner {
    Native(Box<ActiveSpan>),
    Otel(Context),
}

impl ClientSpan {
    /// Starts the span of a `method` request to `url`, named `operation_name`
    /// (`<client>.request`), with `component` the client library, configured from the
    /// environment ([`ClientConfig::from_env`], read once).
    pub fn start(
        component: &'static str,
        operation_name: &'static str,
        method: &str,
        url: &str,
    ) -> ClientSpan {
        ClientSpan::start_with(
            ClientConfig::global(),
            component,
            operation_name,
            method,
            url,
        )
    }

    /// [`ClientSpan::start`] with a configuration of the integration's own.
    pub fn start_with(
        config: &ClientConfig,
        component: &'static str,
        operation_name: &'static str,
        method: &str,
        url: &str,
    ) -> ClientSpan {
        let target = url::Target::parse(url, &config.query);
        let method = crate::span::method_str(method);
        let resource = format!("{} {}", method, target.path);
        let service = target.authority.filter(|_| config.split_by_domain);
        let peer = target
            .host
            .as_deref()
            .and_then(|host| config.peer_service_of(host));
        let error_statuses = config.error_statuses.clone();
        if let Some(settings) = crate::native::installed() {
            let mut span = native_span(&settings, operation_name);
            // Written straight into the Datadog span, as the request span's tags are.
            if let Some(data) = span.data() {
                let fixed = BytesString::from_static;
                data.r#type = fixed("http");
                data.resource = BytesString::from_string(resource);
                if let Some(service) = service {
                    data.service = BytesString::from_string(service);
                }
                let meta = &mut data.meta;
                meta.insert(fixed("span.kind"), fixed("client"));
                meta.insert(fixed("component"), fixed(component));
                meta.insert(fixed("http.method"), BytesString::from_cow(method));
                meta.insert(fixed("http.url"), BytesString::from_string(target.http_url));
                peer_meta(meta, peer);
                if let Some(host) = target.host {
                    meta.insert(fixed("out.host"), BytesString::from_string(host));
                }
                data.metrics.insert(fixed("_dd.measured"), 1.0);
            }
            return ClientSpan {
                inner: Inner::Native(Box::new(span)),
                error_statuses,
            };
        }
        let mut attrs = vec![
            KeyValue::new("datadog.name", operation_name),
            KeyValue::new("datadog.type", "http"),
            KeyValue::new("datadog.resource", resource),
            KeyValue::new("component", component),
            KeyValue::new("_dd.measured", 1_i64),
            KeyValue::new("http.method", method),
            KeyValue::new("http.url", target.http_url),
        ];
        if let Some(host) = target.host {
            attrs.push(KeyValue::new("out.host", host));
        }
        if let Some(service) = service {
            attrs.push(KeyValue::new("datadog.service", service));
        }
        peer_attributes(&mut attrs, peer);
        ClientSpan {
            inner: Inner::Otel(otel_span(operation_name, attrs)),
            error_statuses,
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

    /// The response's status; one in the error statuses (400-499 by default) makes the span an
    /// error, with `error.message` `<status>: <reason>` (`404: Not Found`).
    pub fn record_status(&mut self, status: u16) {
        let error =
            self.error_statuses.contains(status).then(|| {
                match http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                {
                    Some(reason) => format!("{status}: {reason}"),
                    None => status.to_string(),
                }
            });
        if let Inner::Native(span) = &mut self.inner {
            if let Some(data) = span.data() {
                let code = match crate::span::status_str(status) {
                    Some(code) => BytesString::from_static(code),
                    None => BytesString::from_string(status.to_string()),
                };
                data.meta
                    .insert(BytesString::from_static("http.status_code"), code);
                if let Some(message) = error {
                    data.error = 1;
                    data.meta.insert(
                        BytesString::from_static("error.message"),
                        BytesString::from_string(message),
                    );
                }
            }
            return;
        }
        let mut attrs = vec![KeyValue::new(
            "datadog.http_status_code",
            status.to_string(),
        )];
        if let Some(message) = &error {
            attrs.push(KeyValue::new("datadog.error", 1_i64));
            attrs.push(KeyValue::new("datadog.error.msg", message.clone()));
        }
        self.set(attrs, error);
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

/// A client span on the native pipeline: a child of the current span, or the root of a trace
/// of its own when there is none (a call made outside any request).
fn native_span(
    settings: &std::sync::Arc<crate::trace::TraceSettings>,
    name: &'static str,
) -> ActiveSpan {
    let name = BytesString::from_static(name);
    match Current::get() {
        Some(current) => ActiveSpan::child_of(current.trace, current.span_id, name),
        None => {
            let now = crate::clock::now();
            let trace = crate::propagation::TraceContext::new_root_at(&settings.propagation, &now);
            crate::trace::Trace::start_root_at(
                settings,
                trace,
                name.clone(),
                name,
                BytesString::default(),
                now,
            )
        }
    }
}

/// The peer service tags, when peer services are on: `(peer.service, renamed from)`.
type Peer = Option<(String, Option<String>)>;

fn peer_meta(
    meta: &mut libdd_trace_utils::span::vec_map::VecMap<BytesString, BytesString>,
    peer: Peer,
) {
    let fixed = BytesString::from_static;
    if let Some((peer, remapped)) = peer {
        meta.insert(fixed("peer.service"), BytesString::from_string(peer));
        meta.insert(fixed("_dd.peer.service.source"), fixed("out.host"));
        if let Some(from) = remapped {
            meta.insert(
                fixed("_dd.peer.service.remapped_from"),
                BytesString::from_string(from),
            );
        }
    }
}

fn peer_attributes(attrs: &mut Vec<KeyValue>, peer: Peer) {
    if let Some((peer, remapped)) = peer {
        attrs.push(KeyValue::new("peer.service", peer));
        attrs.push(KeyValue::new("_dd.peer.service.source", "out.host"));
        if let Some(from) = remapped {
            attrs.push(KeyValue::new("_dd.peer.service.remapped_from", from));
        }
    }
}

/// A client span on the OpenTelemetry pipeline, a child of the current context.
fn otel_span(name: &'static str, attrs: Vec<KeyValue>) -> Context {
    let parent = Context::current();
    let tracer = global::tracer("");
    let span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Client)
        .with_attributes(attrs)
        .start_with_context(&tracer, &parent);
    parent.with_span(span)
}

impl Drop for ClientSpan {
    fn drop(&mut self) {
        if let Inner::Otel(cx) = &self.inner {
            cx.span().end();
        }
        // A native span ends when dropped.
    }
}
