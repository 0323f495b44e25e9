//! The request span: one lifecycle that every integration drives.

use crate::client_ip::resolve_client_ip;
use crate::config::Config;
use crate::error::{error_attributes, ErrorInfo};
use crate::header_tags::{truncate, MAX_HEADER_VALUE_LEN};
use crate::pipeline;
use crate::HeaderSource;
use libdd_tinybytes::BytesString;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, Key, KeyValue, StringValue};
use std::any::Any;
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

mod guard;
mod integration;
pub(crate) mod native;
mod poll;
mod request_info;
mod tags;
mod values;

pub use guard::{InSpan, SpanGuard, SpanHandle};
use integration::integration_enabled;
pub use integration::Integration;
pub use poll::{observe_body_poll, observe_body_poll_with, poll_in_span};
pub use request_info::RequestInfo;
pub use tags::SpanTags;
pub(crate) use values::{floor_boundary, http_url, http_url_text, method_str, status_str};
use values::{status_digits, status_value, tid_tag};

/// Starts request spans for one integration with one configuration; cheap to clone.
///
/// ```
/// use ddtrace_core::{Config, Integration, RequestInfo, RequestTracer};
///
/// let tracer = RequestTracer::new(Integration::new("foo", "foo.request"), Config::default());
/// let req = http::Request::get("/users/7").body(()).unwrap();
/// let mut span = tracer.start(RequestInfo::from_request(&req));
/// span.set_route("/users/{id}");
/// span.record_status(200, &http::HeaderMap::new());
/// span.finish();
/// ```
#[derive(Clone, Debug)]
pub struct RequestTracer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    integration: Integration,
    config: Config,
    // Precomputed once: the attributes every span of this tracer carries.
    static_attrs: Vec<KeyValue>,
    // The same as Datadog span fields and tags, for the native pipeline: cloning them into a
    // span is a reference count each, not an allocation.
    native_static: crate::native::StaticTags,
    // Room for every attribute a span can get, so its list never grows; no more, as a list
    // within glibc's per-thread cache (1 KiB) allocates far faster than a larger one.
    capacity: usize,
    /// False when the integration is switched off, in code or by
    /// `DD_TRACE_<INTEGRATION>_ENABLED=false`: every request passes through untraced.
    enabled: bool,
}

impl RequestTracer {
    /// A tracer for `integration` with `config`.
    pub fn new(integration: Integration, config: Config) -> Self {
        let mut static_attrs = vec![
            KeyValue::new("datadog.name", integration.operation_name()),
            KeyValue::new("datadog.type", integration.span_type()),
            KeyValue::new("component", integration.component()),
            KeyValue::new("_dd.measured", 1_i64),
        ];
        // Shared strings: cloning them into each span's attributes is a reference count, not
        // an allocation.
        let shared = |s: &str| StringValue::from(Arc::<str>::from(s));
        if let Some(service) = &config.service {
            static_attrs.push(KeyValue::new("datadog.service", shared(service)));
        }
        for (k, v) in &config.tags {
            static_attrs.push(KeyValue::new(
                Key::from(Arc::<str>::from(k.as_str())),
                shared(v),
            ));
        }
        // At start: method, url, user agent, request header tags, two client IPs. Later:
        // `_dd.p.tid`, route, resource, status, at most three error attributes plus
        // `datadog.error`, response header tags (each configured header at most once).
        let capacity = static_attrs.len() + 3 + 2 + 4 + 4 + 2 * config.header_tags.len();
        let native_static = crate::native::StaticTags::from_attributes(&static_attrs);
        let enabled = config.enabled
            && integration_enabled(integration.component(), |name| std::env::var(name).ok());
        RequestTracer {
            shared: Arc::new(Shared {
                integration,
                config,
                static_attrs,
                native_static,
                capacity,
                enabled,
            }),
        }
    }

    /// The configuration this tracer applies.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The integration this tracer names.
    pub fn integration(&self) -> Integration {
        self.shared.integration
    }

    /// Starts the server span of a request, as a child of the context its headers carry (when
    /// distributed tracing is on).
    ///
    /// Run the handler inside [`RequestSpan::context`] so spans it opens become children.
    pub fn start<H: HeaderSource + ?Sized>(&self, req: RequestInfo<'_, H>) -> RequestSpan {
        let hooks = &self.shared.config.hooks;
        if !self.shared.enabled
            || hooks
                .ignore
                .as_ref()
                .is_some_and(|ignore| ignored(&**ignore, &req))
        {
            return RequestSpan::untraced(self.shared.clone());
        }
        let mut span = self.start_traced(&req);
        if hooks.sees_request() {
            span.run_request_hooks(&req);
        }
        span
    }

    fn start_traced<H: HeaderSource + ?Sized>(&self, req: &RequestInfo<'_, H>) -> RequestSpan {
        let method = method_str(req.method);
        if let Some(settings) = crate::native::installed() {
            return self.start_native(&settings, req, method);
        }
        let shared = &self.shared;
        let config = &shared.config;
        let mut attrs = Vec::with_capacity(shared.capacity);
        attrs.extend_from_slice(&shared.static_attrs);
        if shared.integration.is_grpc() {
            let tags = crate::grpc::MethodTags::of(req.path);
            attrs.push(KeyValue::new(
                "datadog.resource",
                tags.path.as_str().to_string(),
            ));
            attrs.extend(crate::grpc::span::start_attributes(&tags));
            config.header_tags.push_request(req.headers, &mut attrs);
            return self.start_otel(attrs, req, method);
        }
        attrs.push(KeyValue::new("http.method", method.clone()));
        attrs.push(KeyValue::new("http.url", http_url(req, config)));
        if let Some(ua) = user_agent(req.headers) {
            let ua = match ua {
                Ok(ua) => crate::recent::user_agent(ua),
                Err(lossy) => StringValue::from(lossy),
            };
            attrs.push(KeyValue::new("http.useragent", ua));
        }
        config.header_tags.push_request(req.headers, &mut attrs);
        if let Some((client_ip, peer)) = client_ips(req, config) {
            if let Some(ip) = client_ip {
                attrs.push(KeyValue::new("http.client_ip", ip.to_string()));
            }
            if let Some(peer) = peer {
                attrs.push(KeyValue::new("network.client.ip", peer.to_string()));
            }
        }
        self.start_otel(attrs, req, method)
    }

    /// Starts the span on the OpenTelemetry pipeline with its attributes.
    fn start_otel<H: HeaderSource + ?Sized>(
        &self,
        attrs: Vec<KeyValue>,
        req: &RequestInfo<'_, H>,
        method: Cow<'static, str>,
    ) -> RequestSpan {
        let shared = &self.shared;
        let config = &shared.config;
        let parent = if config.distributed_tracing {
            crate::propagation::extract(req.headers)
        } else {
            Context::new()
        };
        let local_root = {
            let parent_span = parent.span();
            let sc = parent_span.span_context();
            !sc.is_valid() || sc.is_remote()
        };
        let cx = pipeline::start_span(
            shared.integration.operation_name(),
            SpanKind::Server,
            attrs,
            &parent,
        );

        if local_root {
            // The pipeline exports v0.4 payloads, whose `trace_id` holds only the low 64 bits:
            // Datadog's tracers carry the high bits as `_dd.p.tid` on the chunk root.
            let id = cx.span().span_context().trace_id().to_bytes();
            let mut high = [0u8; 8];
            high.copy_from_slice(&id[..8]);
            let high = u64::from_be_bytes(high);
            if high != 0 {
                cx.span()
                    .set_attribute(KeyValue::new("_dd.p.tid", tid_tag(high)));
            }
        }
        RequestSpan::new(Some(cx), None, self.shared.clone(), method)
    }
}

/// The request as the hooks see it.
fn with_head<H: HeaderSource + ?Sized, T>(
    req: &RequestInfo<'_, H>,
    f: impl FnOnce(&crate::RequestHead<'_>) -> T,
) -> T {
    let headers = crate::request_head::Headers(req.headers);
    f(&crate::RequestHead {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: &headers,
    })
}

/// Whether the `ignore` hook leaves this request untraced.
fn ignored<H: HeaderSource + ?Sized>(
    ignore: &crate::request_head::IgnoreFn,
    req: &RequestInfo<'_, H>,
) -> bool {
    with_head(req, |head| ignore(head))
}

/// The request's user agent: as sent when it is UTF-8 and within the length limit, otherwise
/// a lossy, truncated copy.
fn user_agent<H: HeaderSource + ?Sized>(headers: &H) -> Option<Result<&str, String>> {
    let ua = headers.values_of("user-agent").find(|v| !v.is_empty())?;
    Some(match std::str::from_utf8(ua) {
        Ok(ua) if ua.len() <= MAX_HEADER_VALUE_LEN => Ok(ua),
        _ => {
            let mut ua = String::from_utf8_lossy(ua).into_owned();
            truncate(&mut ua, MAX_HEADER_VALUE_LEN);
            Err(ua)
        }
    })
}

/// `http.client_ip` and `network.client.ip`, when client IP tagging is on.
fn client_ips<H: HeaderSource + ?Sized>(
    req: &RequestInfo<'_, H>,
    config: &Config,
) -> Option<(Option<IpAddr>, Option<IpAddr>)> {
    if !config.client_ip_enabled {
        return None;
    }
    let resolved = resolve_client_ip(
        req.headers,
        req.peer_ip,
        config.client_ip_header.as_ref().map(|h| h.as_str()),
    );
    Some((resolved, req.peer_ip))
}

/// A request's server span, from the request's arrival to the end of its response body.
///
/// It ends exactly once: on [`RequestSpan::finish`], or when dropped (the client went away,
/// or the integration's future or body was dropped).
#[derive(Debug)]
pub struct RequestSpan {
    /// The span's OpenTelemetry context: the span itself on the OpenTelemetry pipeline; on the
    /// native one, made only if asked for (`context`), as integrations enter the span natively.
    cx: OnceLock<Context>,
    /// The span, on the Datadog-native pipeline (on the OpenTelemetry one it is in `cx`).
    native: Option<crate::trace::ActiveSpan>,
    shared: Arc<Shared>,
    method: Cow<'static, str>,
    /// The route and the resource made from it, both shared (see `recent`).
    route: Option<Route>,
    /// The request as it arrived, for the `resource_name` hook (only when it is set).
    resource_head: Option<Box<crate::request_head::OwnedHead>>,
    /// The response's headers, for the `on_response` hook (only when it is set).
    response_headers: Option<Box<crate::request_head::OwnedHeaders>>,
    status: Option<u16>,
    /// The call's gRPC status, on a gRPC server's span.
    grpc_status: Option<crate::grpc::GrpcStatus>,
    /// Boxed: a request span moves from frame to frame, and errors are rare.
    error: Option<Box<ErrorInfo>>,
    finished: bool,
}

/// A span's route and the resource made from it, as its pipeline holds text.
#[derive(Debug)]
enum Route {
    Native(BytesString, BytesString),
    OpenTelemetry(StringValue, StringValue),
}

impl Route {
    fn template(&self) -> &str {
        match self {
            Route::Native(route, _) => route.as_str(),
            Route::OpenTelemetry(route, _) => route.as_str(),
        }
    }
}

impl RequestSpan {
    fn new(
        cx: Option<Context>,
        native: Option<crate::trace::ActiveSpan>,
        shared: Arc<Shared>,
        method: Cow<'static, str>,
    ) -> RequestSpan {
        RequestSpan {
            cx: cx.map_or_else(OnceLock::new, OnceLock::from),
            native,
            shared,
            method,
            route: None,
            resource_head: None,
            response_headers: None,
            status: None,
            grpc_status: None,
            error: None,
            finished: false,
        }
    }

    /// A span that records nothing: the request is ignored, or the integration switched off.
    fn untraced(shared: Arc<Shared>) -> RequestSpan {
        RequestSpan {
            cx: OnceLock::new(),
            native: None,
            shared,
            method: Cow::Borrowed(""),
            route: None,
            resource_head: None,
            response_headers: None,
            status: None,
            grpc_status: None,
            error: None,
            finished: true,
        }
    }

    /// Runs the `on_request` hook on a span that just started, and keeps the request for the
    /// `resource_name` hook, which runs once the route is known.
    fn run_request_hooks<H: HeaderSource + ?Sized>(&mut self, req: &RequestInfo<'_, H>) {
        let shared = self.shared.clone();
        let hooks = &shared.config.hooks;
        if hooks.resource_name.is_some() {
            self.resource_head = Some(Box::new(crate::request_head::OwnedHead::of(
                req.path,
                req.query,
                req.headers,
            )));
        }
        if let Some(hook) = &hooks.on_request {
            with_head(req, |head| self.with_tags(|tags| hook(head, tags)));
        }
    }

    /// Runs `f` on the span's tags, on whichever pipeline it is.
    fn with_tags(&mut self, f: impl FnOnce(&mut SpanTags<'_>)) {
        match self.native.as_mut().and_then(|s| s.data()) {
            Some(data) => f(&mut SpanTags::native(data)),
            None => {
                if let Some(cx) = self.cx.get() {
                    f(&mut SpanTags::opentelemetry(cx.span()));
                }
            }
        }
    }

    /// Whether `status` makes the span an error: the `error_status` hook, else the ranges.
    fn is_error_status(&self, status: u16) -> bool {
        match &self.shared.config.hooks.error_status {
            Some(is_error) => is_error(status),
            None => self.shared.config.server_error_statuses.contains(status),
        }
    }

    /// Whether this span records the request: false for a request the `ignore` hook or the
    /// integration's switch left untraced, and once the span has ended.
    pub fn is_recording(&self) -> bool {
        !self.finished
    }

    /// The span as an OpenTelemetry context, for code that works with OpenTelemetry's API;
    /// attaching it makes the span current, as [`RequestSpan::enter`] does.
    ///
    /// Integrations use [`RequestSpan::enter`] and [`RequestSpan::handle`], which cost less on
    /// the Datadog-native pipeline.
    pub fn context(&self) -> &Context {
        self.cx.get_or_init(|| match self.current() {
            Some(current) => Context::new().with_value(current),
            None => Context::new(),
        })
    }

    /// Makes this span current on this thread until the guard drops: run the handler's
    /// synchronous work (a service's `call`, each poll of its future) inside it.
    pub fn enter(&self) -> SpanGuard {
        self.handle().enter()
    }

    /// A handle on this span for code that runs in it from elsewhere (see [`SpanHandle`]).
    pub fn handle(&self) -> SpanHandle {
        if self.finished {
            return SpanHandle::default();
        }
        match self.current() {
            Some(current) => SpanHandle::native(current),
            None => SpanHandle::opentelemetry(self.context().clone()),
        }
    }

    /// The native span as the current span, on the native pipeline.
    fn current(&self) -> Option<crate::native::Current> {
        self.native.as_ref().map(|span| crate::native::Current {
            trace: span.trace().clone(),
            span_id: span.span_id(),
        })
    }

    /// The route template that matched (`/users/{id}`), in the framework's own syntax.
    ///
    /// Takes a `&str`, a `String` or an `Arc<str>`. A route seen before on the same thread is
    /// not copied again: the route and its resource are shared between spans.
    pub fn set_route(&mut self, route: impl AsRef<str>) {
        if self.finished {
            return;
        }
        let route = route.as_ref();
        if self.native.is_some() {
            let (route, resource) = native::route(&self.method, route);
            self.route = Some(Route::Native(route, resource));
            return;
        }
        let resource = match &self.method {
            Cow::Borrowed(method) => crate::recent::resource(method, route),
            Cow::Owned(method) => StringValue::from(format!("{method} {route}")),
        };
        self.route = Some(Route::OpenTelemetry(crate::recent::route(route), resource));
    }

    /// The response status and headers (for response header tags).
    pub fn record_status<H: HeaderSource + ?Sized>(&mut self, status: u16, headers: &H) {
        if self.finished {
            return;
        }
        self.status = Some(status);
        if self.shared.config.hooks.on_response.is_some() {
            self.response_headers = Some(Box::new(crate::request_head::OwnedHeaders::of(headers)));
        }
        let tags = &self.shared.config.header_tags;
        if !tags.is_empty() {
            match &mut self.native {
                Some(span) => native::response_header_tags(span, tags, headers),
                None => self
                    .context()
                    .span()
                    .set_attributes(tags.response_attributes(headers)),
            }
        }
    }

    /// The gRPC status of the call, on a gRPC server's span ([`Integration::grpc_server`]):
    /// read from the trailers or a trailers-only answer ([`crate::grpc::GrpcBody`] does it),
    /// it tags `grpc.status.code` and makes the span an error when the code is in
    /// `DD_GRPC_SERVER_ERROR_STATUSES`. The last one recorded is kept.
    pub fn record_grpc_status(&mut self, status: crate::grpc::GrpcStatus) {
        if !self.finished {
            self.grpc_status = Some(status);
        }
    }

    /// An error value the handler produced; the first one recorded is kept.
    pub fn record_error(&mut self, error: ErrorInfo) {
        self.error.get_or_insert_with(|| Box::new(error));
    }

    fn take_error(&mut self) -> Option<ErrorInfo> {
        self.error.take().map(|e| *e)
    }

    /// A panic caught while the handler ran; it is recorded as an error with status 500.
    pub fn record_panic(&mut self, payload: &(dyn Any + Send)) {
        self.error = Some(Box::new(ErrorInfo::from_panic(payload)));
        if self.status.is_none() {
            self.status = Some(500);
        }
    }

    /// Ends the span now.
    pub fn finish(mut self) {
        self.end();
    }

    fn end(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        if let Some(span) = self.native.take() {
            self.end_native(span);
            return;
        }
        if self.shared.integration.is_grpc() {
            self.end_grpc_otel();
            return;
        }
        let mut attrs: Vec<KeyValue> = Vec::with_capacity(6);
        let hooked = self.shared.config.hooks.resource(
            self.resource_head.take(),
            &self.method,
            self.route.as_ref().map(Route::template),
        );
        let method = &self.method;
        let route = match self.route.take() {
            Some(Route::OpenTelemetry(route, resource)) => Some((route, resource)),
            _ => None,
        };
        let resource: StringValue = match (route, self.status) {
            (Some((route, resource)), _) => {
                attrs.push(KeyValue::new("http.route", route));
                resource
            }
            (None, Some(status)) => {
                let mut digits = [0u8; 20];
                crate::recent::resource(method, status_digits(status, &mut digits))
            }
            (None, None) => match method {
                Cow::Borrowed(method) => StringValue::from(*method),
                Cow::Owned(method) => StringValue::from(method.clone()),
            },
        };
        let resource = hooked.map_or(resource, StringValue::from);
        attrs.push(KeyValue::new("datadog.resource", resource));
        let mut is_error = false;
        if let Some(status) = self.status {
            attrs.push(KeyValue::new(
                "datadog.http_status_code",
                status_value(status),
            ));
            is_error = self.is_error_status(status);
        }
        let mut error_status = None;
        if let Some(err) = self.take_error() {
            error_status = Some(err.message.clone());
            attrs.extend(error_attributes(err));
        } else if is_error {
            attrs.push(KeyValue::new("datadog.error", 1_i64));
            error_status = Some(String::new());
        }
        self.finish_otel(attrs, error_status);
    }

    /// Sets the last attributes and the status of a span on the OpenTelemetry pipeline, runs
    /// the `on_response` hook, and ends it.
    fn finish_otel(&mut self, attrs: Vec<KeyValue>, error: Option<String>) {
        let response_headers = self.response_headers.take();
        let span = self.context().span();
        span.set_attributes(attrs);
        if let Some(description) = error {
            span.set_status(Status::error(description));
        }
        self.shared.config.hooks.response(
            self.status,
            response_headers,
            &mut SpanTags::opentelemetry(self.context().span()),
        );
        span.end();
    }
}

impl RequestSpan {
    /// Ends a gRPC server span on the OpenTelemetry pipeline.
    fn end_grpc_otel(&mut self) {
        let status = self.grpc_status.take();
        let error = crate::grpc::span::end_error(
            status.as_ref(),
            None,
            self.take_error(),
            &self.shared.config.grpc_server_error_statuses,
        );
        let (mut attrs, error) = crate::grpc::span::end_attributes(status.as_ref(), error);
        let hooks = &self.shared.config.hooks;
        if let Some(resource) = hooks.grpc_resource(self.resource_head.take()) {
            attrs.push(KeyValue::new("datadog.resource", resource));
        }
        self.finish_otel(attrs, error);
    }
}

impl Drop for RequestSpan {
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderTags;

    #[test]
    fn sensitive_headers_are_tagged_only_when_asked_for() {
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", "Bearer xyz".parse().unwrap());
        headers.insert("cookie", "session=abc".parse().unwrap());
        let config = Config::default();
        let mut attrs = Vec::new();
        config.header_tags.push_request(&headers, &mut attrs);
        assert!(attrs.is_empty(), "nothing is tagged by default");

        let (asked, _) = HeaderTags::parse_lenient("authorization");
        let tagged: Vec<(&str, String)> = asked.request_tags(&headers).collect();
        assert_eq!(
            tagged,
            [(
                "http.request.headers.authorization",
                "Bearer xyz".to_string()
            )]
        );
    }

    #[test]
    fn ignored_requests_and_switched_off_integrations_are_not_traced() {
        let config = Config::builder()
            .ignore(|req| req.path() == "/healthz" || req.header("user-agent") == Some("probe"))
            .build()
            .unwrap();
        let tracer = RequestTracer::new(Integration::new("foo", "foo.request"), config);
        let req = |path: &str, ua: &str| {
            http::Request::get(path)
                .header("user-agent", ua)
                .body(())
                .unwrap()
        };
        let mut health = tracer.start(RequestInfo::from_request(&req("/healthz", "curl")));
        assert!(!health.is_recording());
        // Every call on an untraced span does nothing.
        health.set_route("/healthz");
        health.record_status(200, &http::HeaderMap::new());
        drop(health.enter());
        health.finish();
        assert!(!tracer
            .start(RequestInfo::from_request(&req("/users/1", "probe")))
            .is_recording());
        assert!(tracer
            .start(RequestInfo::from_request(&req("/users/1", "curl")))
            .is_recording());
        let off = Config::builder().enabled(false).build().unwrap();
        let off = RequestTracer::new(Integration::new("foo", "foo.request"), off);
        assert!(!off
            .start(RequestInfo::from_request(&req("/users/1", "curl")))
            .is_recording());
    }

    #[test]
    fn client_ip_is_off_by_default() {
        assert!(!Config::default().client_ip_enabled());
    }
}
