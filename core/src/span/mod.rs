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
use std::future::Future;
use std::net::IpAddr;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::Poll;

mod guard;
pub(crate) mod native;
mod tags;

pub use guard::{InSpan, SpanGuard, SpanHandle};
pub use tags::SpanTags;

/// Names what an integration instruments: the `component` tag and the span's operation name.
///
/// ```
/// use ddtrace_core::Integration;
///
/// const AXUM: Integration = Integration::new("axum", "axum.request");
/// assert_eq!(AXUM.component(), "axum");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Integration {
    component: &'static str,
    operation_name: &'static str,
    grpc: bool,
}

impl Integration {
    /// `component` is the framework's name; `operation_name` is `<component>.request`.
    pub const fn new(component: &'static str, operation_name: &'static str) -> Self {
        Integration {
            component,
            operation_name,
            grpc: false,
        }
    }

    /// A gRPC server (`component` the library, `tonic`): its spans are named `grpc.server`,
    /// typed `grpc`, and named after the call's full method, with the gRPC tags and statuses
    /// of [`crate::grpc`] in place of the HTTP ones.
    ///
    /// ```
    /// use ddtrace_core::Integration;
    ///
    /// const TONIC: Integration = Integration::grpc_server("tonic");
    /// assert_eq!(TONIC.operation_name(), "grpc.server");
    /// assert!(TONIC.is_grpc());
    /// ```
    pub const fn grpc_server(component: &'static str) -> Self {
        Integration {
            component,
            operation_name: "grpc.server",
            grpc: true,
        }
    }

    /// Whether this integration serves gRPC ([`Integration::grpc_server`]).
    pub const fn is_grpc(&self) -> bool {
        self.grpc
    }

    /// The span type: `grpc` for a gRPC server, `web` otherwise.
    pub(crate) const fn span_type(&self) -> &'static str {
        if self.grpc {
            "grpc"
        } else {
            "web"
        }
    }

    /// The `component` tag.
    pub const fn component(&self) -> &'static str {
        self.component
    }

    /// The span's operation name.
    pub const fn operation_name(&self) -> &'static str {
        self.operation_name
    }
}

/// What an integration knows about a request when it starts the span, in plain strings so
/// that any framework (whatever `http` version it uses) can describe its request.
///
/// ```
/// use ddtrace_core::RequestInfo;
///
/// let req = http::Request::get("/users/7?q=1").body(()).unwrap();
/// let info = RequestInfo::from_request(&req).peer_ip(Some("10.0.0.1".parse().unwrap()));
/// assert_eq!((info.path, info.query), ("/users/7", Some("q=1")));
///
/// // A framework with its own types fills the fields itself:
/// let headers = http::HeaderMap::new();
/// let info = RequestInfo::new("GET", "/users/7", None, &headers).scheme("https");
/// # let _ = info;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct RequestInfo<'a, H: ?Sized = http::HeaderMap> {
    /// The request method, as the request line carries it.
    pub method: &'a str,
    /// `http` or `https` (default `http`).
    pub scheme: &'a str,
    /// The authority when the request target had one (HTTP/2, absolute form); otherwise the
    /// `Host` header is used.
    pub authority: Option<&'a str>,
    /// The path, still percent-encoded.
    pub path: &'a str,
    /// The raw query, without `?`.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a H,
    /// The socket peer's address, when the framework knows it.
    pub peer_ip: Option<IpAddr>,
}

impl<'a> RequestInfo<'a, http::HeaderMap> {
    /// Takes method, URI and headers from an `http` 1 request.
    pub fn from_request<B>(req: &'a http::Request<B>) -> Self {
        let uri = req.uri();
        RequestInfo {
            method: req.method().as_str(),
            scheme: uri.scheme_str().unwrap_or("http"),
            authority: uri.authority().map(|a| a.as_str()),
            path: uri.path(),
            query: uri.query(),
            headers: req.headers(),
            peer_ip: None,
        }
    }
}

impl<'a, H: HeaderSource + ?Sized> RequestInfo<'a, H> {
    /// Builds from parts, for frameworks with their own request types.
    pub fn new(method: &'a str, path: &'a str, query: Option<&'a str>, headers: &'a H) -> Self {
        RequestInfo {
            method,
            scheme: "http",
            authority: None,
            path,
            query,
            headers,
            peer_ip: None,
        }
    }

    /// Sets the scheme (`https` behind TLS).
    pub fn scheme(mut self, scheme: &'a str) -> Self {
        self.scheme = scheme;
        self
    }

    /// Sets the authority of an absolute request target.
    pub fn authority(mut self, authority: Option<&'a str>) -> Self {
        self.authority = authority;
        self
    }

    /// Sets the socket peer's address (used for client IP resolution).
    pub fn peer_ip(mut self, ip: Option<IpAddr>) -> Self {
        self.peer_ip = ip;
        self
    }
}

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
            KeyValue::new("datadog.name", integration.operation_name),
            KeyValue::new("datadog.type", integration.span_type()),
            KeyValue::new("component", integration.component),
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
            && integration_enabled(integration.component, |name| std::env::var(name).ok());
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
        if shared.integration.grpc {
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
            shared.integration.operation_name,
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

/// `DD_TRACE_<INTEGRATION>_ENABLED` (and Java's `DD_INTEGRATION_<INTEGRATION>_ENABLED`), the
/// name upper-cased with `-` and `.` as `_` (`DD_TRACE_ACTIX_WEB_ENABLED`) or dropped
/// (`DD_TRACE_ACTIXWEB_ENABLED`). Only `false` (or `0`) switches off; anything unreadable is
/// reported and ignored.
fn integration_enabled(component: &str, lookup: impl Fn(&str) -> Option<String>) -> bool {
    let underscored: String = component
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    let joined: String = underscored.chars().filter(|c| *c != '_').collect();
    let names = [
        format!("DD_TRACE_{underscored}_ENABLED"),
        format!("DD_INTEGRATION_{underscored}_ENABLED"),
        format!("DD_TRACE_{joined}_ENABLED"),
    ];
    // The first spelling that is set decides; unreadable, it keeps tracing on.
    names
        .iter()
        .find(|name| lookup(name).is_some())
        .is_none_or(|name| crate::config::lookup_flag(&lookup, name, true))
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
        if self.shared.integration.grpc {
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

/// The span's status code as the pipeline needs it: its exporter writes `http.status_code` as
/// a string, and formats a number into one on every span (twice), so the code goes in as a
/// static string. A status outside 100-999 (no `http` type can hold one) stays a number.
fn status_value(status: u16) -> opentelemetry::Value {
    match status_str(status) {
        Some(digits) => StringValue::from(digits).into(),
        None => i64::from(status).into(),
    }
}

/// Every three-digit status, in order from 100: `STATUS_DIGITS[3 * (s - 100)..][..3]` is `s`.
static STATUS_DIGITS: [u8; 2700] = {
    let mut digits = [0u8; 2700];
    let mut i = 0;
    while i < 900 {
        let s = i + 100;
        digits[3 * i] = b'0' + (s / 100) as u8;
        digits[3 * i + 1] = b'0' + (s / 10 % 10) as u8;
        digits[3 * i + 2] = b'0' + (s % 10) as u8;
        i += 1;
    }
    digits
};

/// `status` in decimal as a static string, for 100 to 999.
pub(crate) fn status_str(status: u16) -> Option<&'static str> {
    let start = 3 * usize::from(status).checked_sub(100)?;
    std::str::from_utf8(STATUS_DIGITS.get(start..start + 3)?).ok()
}

/// `status` in decimal, written into `buf` (no allocation).
fn status_digits(status: u16, buf: &mut [u8; 20]) -> &str {
    crate::decimal::write_u64(u64::from(status), buf)
}

/// `_dd.p.tid` as 16 lower-hex digits. Generated ids carry the second they were made in their
/// high bits, so one formatted value serves every trace started in the same second.
fn tid_tag(high: u64) -> StringValue {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(u64, StringValue)>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match last.as_ref() {
            Some((h, v)) if *h == high => v.clone(),
            _ => {
                let v = StringValue::from(Arc::<str>::from(format!("{high:016x}")));
                *last = Some((high, v.clone()));
                v
            }
        }
    })
}

pub(crate) fn method_str(method: &str) -> Cow<'static, str> {
    // Standard methods are static strings: no allocation for the common case.
    Cow::Borrowed(match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        other => return Cow::Owned(other.chars().take(32).collect()),
    })
}

/// At most this many bytes of the path and of the query go into `http.url`.
pub(crate) const MAX_URL_PART_LEN: usize = 4096;

/// `scheme://host/path?query` with the query obfuscated; credentials never appear.
pub(crate) fn http_url<H: HeaderSource + ?Sized>(
    req: &RequestInfo<'_, H>,
    config: &Config,
) -> String {
    let mut url = String::with_capacity(req.scheme.len() + 3 + req.path.len() + 32);
    write_http_url(req, config, &mut url);
    url
}

/// [`http_url`] as span text: one allocation for a URL that fits inline (`TextBuf`).
pub(crate) fn http_url_text<H: HeaderSource + ?Sized>(
    req: &RequestInfo<'_, H>,
    config: &Config,
) -> libdd_tinybytes::BytesString {
    let mut url = crate::native::TextBuf::new();
    write_http_url(req, config, &mut url);
    url.into_text()
}

fn write_http_url<H: HeaderSource + ?Sized>(
    req: &RequestInfo<'_, H>,
    config: &Config,
    url: &mut impl crate::native::PushStr,
) {
    let host = req
        .authority
        .or_else(|| req.headers.first_str("host"))
        .unwrap_or("");
    // Userinfo is never kept (`user:pass@host`).
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let (scheme, path) = (req.scheme, req.path);
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(&host[..floor_boundary(host, MAX_URL_PART_LEN)]);
    url.push_str(&path[..floor_boundary(path, MAX_URL_PART_LEN)]);
    if let Some(query) = req.query.filter(|q| !q.is_empty()) {
        let query = &query[..floor_boundary(query, MAX_URL_PART_LEN)];
        if let Some(q) = config.query.apply(query) {
            url.push_str("?");
            url.push_str(&q);
        }
    }
}

pub(crate) fn floor_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Polls an integration's inner future inside the request span's context, so the handler's
/// spans become children of the request span.
///
/// A panic while polling is recorded on the span (`error.type` `panic`, status 500), the span
/// ends, and the panic resumes: the application sees exactly what it would without tracing.
/// Once the span has been taken (`None`), the future is polled as is.
pub fn poll_in_span<F: Future>(
    span: &mut Option<RequestSpan>,
    future: Pin<&mut F>,
    cx: &mut std::task::Context<'_>,
) -> Poll<F::Output> {
    let polled = {
        let _entered = span.as_ref().map(RequestSpan::enter);
        catch_unwind(AssertUnwindSafe(|| future.poll(cx)))
    };
    match polled {
        Ok(poll) => poll,
        Err(payload) => {
            if let Some(mut s) = span.take() {
                s.record_panic(&*payload);
                s.finish();
            }
            resume_unwind(payload)
        }
    }
}

/// Ends the span when a response body reports its end (`None`) or an error; integrations call
/// it with each result of their body's poll.
pub fn observe_body_poll<T, E: std::fmt::Display>(
    span: &mut Option<RequestSpan>,
    polled: &Poll<Option<Result<T, E>>>,
) {
    observe_body_poll_with(span, polled, |e| ErrorInfo::display(e))
}

/// Like [`observe_body_poll`], for body error types that do not implement `Display`.
pub fn observe_body_poll_with<T, E>(
    span: &mut Option<RequestSpan>,
    polled: &Poll<Option<Result<T, E>>>,
    describe: impl FnOnce(&E) -> ErrorInfo,
) {
    match polled {
        Poll::Ready(None) => {
            if let Some(s) = span.take() {
                s.finish();
            }
        }
        Poll::Ready(Some(Err(error))) => {
            if let Some(mut s) = span.take() {
                s.record_error(describe(error));
                s.finish();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderTags;

    #[test]
    fn static_status_strings_are_the_decimal_status() {
        for status in 100u16..=999 {
            assert_eq!(status_str(status), Some(status.to_string().as_str()));
            assert_eq!(
                status_value(status),
                opentelemetry::Value::from(status.to_string())
            );
        }
        for status in [0u16, 99, 1000, 65535] {
            assert_eq!(status_str(status), None);
            assert_eq!(
                status_value(status),
                opentelemetry::Value::I64(status.into())
            );
        }
    }

    #[test]
    fn status_digits_are_the_decimal_status() {
        for status in [0u16, 7, 42, 404, 503, 65535] {
            let mut buf = [0u8; 20];
            assert_eq!(status_digits(status, &mut buf), status.to_string());
        }
    }

    #[test]
    fn the_span_text_url_is_the_url() {
        let headers = http::HeaderMap::new();
        let long = format!("/{}", "é".repeat(300));
        for (authority, path, query) in [
            ("shop", "/users/7", None),
            ("shop:8080", "/users/7", Some("token=abc&q=1")),
            ("user:pw@shop", long.as_str(), Some("q=1")),
            ("", "/", Some("")),
            (
                "a-rather-long-host-name.internal.example.com:8443",
                "/api/v2/inventory/items/1234567890/variants",
                Some("color=blue&size=xl"),
            ),
        ] {
            let info = RequestInfo::new("GET", path, query, &headers).authority(Some(authority));
            let config = Config::default();
            assert_eq!(
                http_url_text(&info, &config).as_str(),
                http_url(&info, &config)
            );
        }
    }

    #[test]
    fn credentials_never_reach_http_url() {
        let headers = http::HeaderMap::new();
        let info = RequestInfo::new("GET", "/p", Some("token=abc&q=1"), &headers)
            .authority(Some("user:secret@example.com:8080"));
        let url = http_url(&info, &Config::default());
        assert_eq!(url, "http://example.com:8080/p?<redacted>&q=1");
    }

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
    fn the_integration_switch_reads_datadogs_spellings() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(integration_enabled("actix-web", env(&[])));
        assert!(!integration_enabled(
            "actix-web",
            env(&[("DD_TRACE_ACTIX_WEB_ENABLED", "false")])
        ));
        assert!(!integration_enabled(
            "actix-web",
            env(&[("DD_TRACE_ACTIXWEB_ENABLED", "0")])
        ));
        assert!(!integration_enabled(
            "axum",
            env(&[("DD_INTEGRATION_AXUM_ENABLED", "false")])
        ));
        assert!(integration_enabled(
            "axum",
            env(&[("DD_TRACE_AXUM_ENABLED", "nope")])
        ));
        assert!(integration_enabled(
            "axum",
            env(&[("DD_TRACE_AXUM_ENABLED", "true")])
        ));
    }

    #[test]
    fn client_ip_is_off_by_default() {
        assert!(!Config::default().client_ip_enabled());
    }
}
