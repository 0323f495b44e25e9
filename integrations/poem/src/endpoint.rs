use ddtrace_core::{poll_in_span, ErrorInfo, RequestInfo, RequestTracer, TracedBody};
use http_body_util::combinators::BoxBody;
use poem::PathPattern;
use poem::{Body, Endpoint, IntoResponse, Request, Response, Result};
use std::future::poll_fn;
use std::pin::pin;

/// The endpoint [`DatadogMiddleware`](crate::DatadogMiddleware) wraps the application in.
#[derive(Debug)]
pub struct DatadogEndpoint<E> {
    inner: E,
    tracer: RequestTracer,
}

impl<E> DatadogEndpoint<E> {
    pub(crate) fn new(inner: E, tracer: RequestTracer) -> Self {
        DatadogEndpoint { inner, tracer }
    }
}

impl<E: Endpoint> Endpoint for DatadogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
        let query = req.uri().query();
        let info = RequestInfo::new(
            req.method().as_str(),
            req.uri().path(),
            query,
            req.headers(),
        )
        .scheme(req.scheme().as_str())
        .authority(req.uri().authority().map(|a| a.as_str()))
        .peer_ip(peer);
        let mut span = Some(self.tracer.start(info));

        // The handler runs inside the span's context; a panic is recorded, then unwinds.
        let mut future = pin!(self.inner.call(req));
        let result = poll_fn(|cx| poll_in_span(&mut span, future.as_mut(), cx)).await;
        let Some(mut span) = span else {
            return result.map(IntoResponse::into_response);
        };

        match result {
            Ok(output) => {
                let response = output.into_response();
                if let Some(pattern) = response.data::<PathPattern>() {
                    span.set_route(&*pattern.0);
                }
                span.record_status(response.status().as_u16(), response.headers());
                if let Some(error) = response.data::<ErrorInfo>() {
                    span.record_error(error.clone());
                }
                let (parts, body) = response.into_parts();
                // The body keeps its size hint (and so its content-length) through the wrap.
                let body: BoxBody<_, _> = body.into();
                let traced = BoxBody::new(TracedBody::new(body, span));
                Ok(Response::from_parts(parts, Body::from(traced)))
            }
            Err(error) => {
                // poem turns the error into the response outside the middleware chain.
                if let Some(pattern) = error.data::<PathPattern>() {
                    span.set_route(&*pattern.0);
                }
                span.record_status(error.status().as_u16(), &poem::http::HeaderMap::new());
                // Errors from a matched route's handler carry its pattern; the router's own
                // "not found" does not, and is no handler error.
                if error.data::<PathPattern>().is_some() {
                    span.record_error(ErrorInfo::new("poem::Error", error.to_string()));
                }
                span.finish();
                Err(error)
            }
        }
    }
}
