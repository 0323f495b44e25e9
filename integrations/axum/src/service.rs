use crate::extensions;
use crate::future::ResponseFuture;
use ddtrace_core::{RequestInfo, RequestTracer};
use http::Request;
use std::task::{Context, Poll};
use tower_service::Service;

/// The service [`DatadogLayer`](crate::DatadogLayer) wraps each route in.
#[derive(Clone, Debug)]
pub struct DatadogService<S> {
    inner: S,
    tracer: RequestTracer,
}

impl<S> DatadogService<S> {
    pub(crate) fn new(inner: S, tracer: RequestTracer) -> Self {
        DatadogService { inner, tracer }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for DatadogService<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Error: std::fmt::Display,
{
    type Response = http::Response<ddtrace_core::TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let peer = extensions::peer_ip(req.extensions());
        let mut span = self
            .tracer
            .start(RequestInfo::from_request(&req).peer_ip(peer));
        if let Some(path) = extensions::matched_path(req.extensions()) {
            span.set_route(path);
        }
        // The inner service may start work synchronously in `call`: run it in the span's context.
        let future = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        ResponseFuture::new(future, span)
    }
}
