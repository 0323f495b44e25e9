//! The request span on the Datadog-native pipeline: the request's tags written straight into
//! the Datadog span as shared or static text, with no attribute list in between.

use super::{
    client_ips, http_url_text, status_digits, status_str, user_agent, RequestInfo, RequestSpan,
    RequestTracer,
};
use crate::header_tags::HeaderTags;
use crate::native::text;
use crate::propagation::{Propagator, TraceContext};
use crate::trace::{ActiveSpan, Trace, TraceSettings};
use crate::{ErrorInfo, HeaderSource};
use libdd_tinybytes::BytesString;
use libdd_trace_utils::span::v04::SpanBytes;
use std::borrow::Cow;
use std::sync::Arc;

const fn fixed(s: &'static str) -> BytesString {
    BytesString::from_static(s)
}

impl RequestTracer {
    /// The request span as a Datadog span of a local trace of its own, continuing what the
    /// core's propagation engine extracts from the headers.
    pub(super) fn start_native<H: HeaderSource + ?Sized>(
        &self,
        settings: &Arc<TraceSettings>,
        req: &RequestInfo<'_, H>,
        method: Cow<'static, str>,
    ) -> RequestSpan {
        let shared = &self.shared;
        let config = &shared.config;
        let propagation_config = &settings.propagation;
        // One clock read for the new trace id's second and the span's start.
        let now = crate::clock::now();
        let trace = if config.distributed_tracing {
            let extracted = Propagator::extract_with(propagation_config, req.headers);
            TraceContext::start_at(extracted, propagation_config, &now)
        } else {
            TraceContext::new_root_at(propagation_config, &now)
        };
        if shared.integration.is_grpc() {
            let tags = crate::grpc::MethodTags::of(req.path);
            let mut span = Trace::start_root_at(
                settings,
                trace,
                fixed(shared.integration.operation_name()),
                tags.path.clone(),
                fixed("grpc"),
                now,
            );
            shared.native_static.apply(&mut span);
            if let Some(data) = span.data() {
                crate::grpc::span::start_tags(data, "server", &tags);
                for (key, value) in config.header_tags.texts(req.headers, true) {
                    data.meta.insert(key, value);
                }
            }
            return RequestSpan::new(None, Some(span), shared.clone(), method);
        }
        let mut span = Trace::start_root_at(
            settings,
            trace,
            fixed(shared.integration.operation_name()),
            text(method.clone()),
            fixed("web"),
            now,
        );
        shared.native_static.apply(&mut span);
        if let Some(data) = span.data() {
            let meta = &mut data.meta;
            meta.insert(fixed("span.kind"), fixed("server"));
            meta.insert(fixed("http.method"), text(method.clone()));
            meta.insert(fixed("http.url"), http_url_text(req, config));
            if let Some(ua) = user_agent(req.headers) {
                let ua = match ua {
                    Ok(ua) => crate::recent::user_agent_text(ua),
                    Err(lossy) => BytesString::from_string(lossy),
                };
                meta.insert(fixed("http.useragent"), ua);
            }
            for (key, value) in config.header_tags.texts(req.headers, true) {
                meta.insert(key, value);
            }
            if let Some((client_ip, peer)) = client_ips(req, config) {
                if let Some(ip) = client_ip {
                    meta.insert(
                        fixed("http.client_ip"),
                        BytesString::from_string(ip.to_string()),
                    );
                }
                if let Some(peer) = peer {
                    meta.insert(
                        fixed("network.client.ip"),
                        BytesString::from_string(peer.to_string()),
                    );
                }
            }
        }
        RequestSpan::new(None, Some(span), shared.clone(), method)
    }
}

/// The route and the resource made from it, as shared span text.
// The variant matters (a standard method is cached with the route), so a `&str` would not do.
#[allow(clippy::ptr_arg)]
pub(super) fn route(method: &Cow<'static, str>, route: &str) -> (BytesString, BytesString) {
    let resource = match method {
        Cow::Borrowed(method) => crate::recent::resource_text(method, route),
        // An unusual method is not cached: it could crowd out the routes.
        Cow::Owned(method) => BytesString::from_string(format!("{method} {route}")),
    };
    (crate::recent::route_text(route), resource)
}

/// The response header tags.
pub(super) fn response_header_tags<H: HeaderSource + ?Sized>(
    span: &mut ActiveSpan,
    tags: &HeaderTags,
    headers: &H,
) {
    if let Some(data) = span.data() {
        for (key, value) in tags.texts(headers, false) {
            data.meta.insert(key, value);
        }
    }
}

/// Marks the span an error with the error's type and message.
pub(crate) fn set_error(data: &mut SpanBytes, error: ErrorInfo) {
    data.error = 1;
    data.meta
        .insert(fixed("error.type"), BytesString::from_cow(error.error_type));
    data.meta.insert(
        fixed("error.message"),
        BytesString::from_string(error.message),
    );
}

impl RequestSpan {
    /// Names the span from its route (or status), tags its status and error, and ends it.
    pub(super) fn end_native(&mut self, mut span: ActiveSpan) {
        if self.shared.integration.is_grpc() {
            self.end_grpc_native(span);
            return;
        }
        // An error recorded from inside the handler (`record_error`) counts when the status is
        // an error status, as on the OpenTelemetry pipeline; it wins over the integration's.
        let recorded = crate::native::take_recorded_error(&span);
        let status = self.status;
        let is_error = status.is_some_and(|s| self.is_error_status(s));
        let error = recorded
            .filter(|_| is_error || status.is_none())
            .or_else(|| self.take_error());
        let hooked = self.shared.config.hooks.resource(
            self.resource_head.take(),
            &self.method,
            self.route.as_ref().map(super::Route::template),
        );
        let method = &self.method;
        let route = match self.route.take() {
            Some(super::Route::Native(route, resource)) => Some((route, resource)),
            _ => None,
        };
        if let Some(data) = span.data() {
            match (route, status) {
                (Some((route, resource)), _) => {
                    data.meta.insert(fixed("http.route"), route);
                    data.resource = resource;
                }
                (None, Some(status)) => {
                    let mut digits = [0u8; 20];
                    data.resource =
                        crate::recent::resource_text(method, status_digits(status, &mut digits));
                }
                (None, None) => data.resource = text(method.clone()),
            }
            if let Some(status) = status {
                let code = match status_str(status) {
                    Some(code) => fixed(code),
                    None => BytesString::from_string(status.to_string()),
                };
                data.meta.insert(fixed("http.status_code"), code);
            }
            match error {
                Some(error) => set_error(data, error),
                None if is_error => data.error = 1,
                None => {}
            }
            if let Some(resource) = hooked {
                data.resource = BytesString::from_string(resource);
            }
            self.shared.config.hooks.response(
                status,
                self.response_headers.take(),
                &mut super::SpanTags::native(data),
            );
        }
        span.finish();
    }
}

impl RequestSpan {
    /// Tags a gRPC server span's status and error, and ends it. Its resource, the full
    /// method, was set at the start.
    fn end_grpc_native(&mut self, mut span: ActiveSpan) {
        let recorded = crate::native::take_recorded_error(&span);
        let status = self.grpc_status.take();
        let error = crate::grpc::span::end_error(
            status.as_ref(),
            recorded,
            self.take_error(),
            &self.shared.config.grpc_server_error_statuses,
        );
        let hooked = self
            .shared
            .config
            .hooks
            .grpc_resource(self.resource_head.take());
        if let Some(data) = span.data() {
            crate::grpc::span::end_native(data, status.as_ref(), error);
            if let Some(resource) = hooked {
                data.resource = BytesString::from_string(resource);
            }
            self.shared.config.hooks.response(
                self.status,
                self.response_headers.take(),
                &mut super::SpanTags::native(data),
            );
        }
        span.finish();
    }
}
