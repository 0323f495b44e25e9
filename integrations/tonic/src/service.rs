use crate::future::ResponseFuture;
use ddtrace_core::{RequestInfo, RequestTracer};
use std::task::{Context, Poll};

/// The server's routes, traced: made by [`crate::DatadogGrpcLayer`].
#[derive(Clone, Debug)]
pub struct DatadogGrpcService<S> {
    inner: S,
    tracer: RequestTracer,
}

impl<S> DatadogGrpcService<S> {
    pub(crate) fn new(inner: S, tracer: RequestTracer) -> Self {
        DatadogGrpcService { inner, tracer }
    }
}

impl<S, B, ResBody> tower_service::Service<http::Request<B>> for DatadogGrpcService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<ResBody>>,
    S::Error: std::fmt::Display,
{
    type Response = http::Response<ddtrace_core::grpc::GrpcBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        // The call's full method is the request's path; its metadata is the headers, from
        // which the core continues the caller's trace.
        let span = self.tracer.start(RequestInfo::from_request(&req));
        // tonic's routes may start work synchronously: run them in the span's context.
        let future = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        ResponseFuture::new(future, span)
    }
}
