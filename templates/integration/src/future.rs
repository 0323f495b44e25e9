use crate::MatchedRoute;
use ddtrace_core::{complete_http_response, poll_in_span, RequestSpan, TracedBody};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// Polls the application inside the request span's context, then hands the span to the
    /// response body.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Option<RequestSpan>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, span: RequestSpan) -> Self {
        ResponseFuture {
            inner,
            span: Some(span),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    E: std::fmt::Display,
{
    type Output = Result<http::Response<TracedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // DDTRACE (4): panics are caught here: `poll_in_span` records a panic on the span
        // (error.type `panic`, status 500), ends it, and resumes the panic unchanged. The
        // handler runs inside the span's context, so its own spans become children.
        let result = match poll_in_span(this.span, this.inner, cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        let Some(mut span) = this.span.take() else {
            return Poll::Ready(result.map(|res| res.map(TracedBody::untraced)));
        };
        // DDTRACE (2): the route template. foo's router says which route matched; a
        // framework integration asks the framework instead (axum's `MatchedPath`, actix's
        // `match_pattern`, rocket's `Route::uri`, poem's `PathPattern`).
        if let Ok(response) = &result {
            if let Some(MatchedRoute(template)) = response.extensions().get::<MatchedRoute>() {
                span.set_route(*template);
            }
        }
        // DDTRACE (3) and (4): the status, response header tags and error values are recorded
        // here; the span then travels with the body (`TracedBody`) and ends with its last
        // byte. An application error reaches the span through `ddtrace_core::record_error`.
        // A protocol whose outcome comes in trailers (gRPC) uses
        // `ddtrace_core::grpc::complete_grpc_response` here instead (CONTRIBUTING.md, "How to
        // write an RPC integration").
        Poll::Ready(complete_http_response(span, result))
    }
}
