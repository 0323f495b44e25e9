use ddtrace_core::grpc::{complete_grpc_response, GrpcBody};
use ddtrace_core::{poll_in_span, RequestSpan};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// Polls the call's handler inside its span, then hands the span to the response body,
    /// which reads the status from the trailers.
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
            span: Some(span).filter(RequestSpan::is_recording),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    E: std::fmt::Display,
{
    type Output = Result<http::Response<GrpcBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // A panic in the handler is recorded on the span, which ends, and then resumes as it
        // would without tracing.
        let result = match poll_in_span(this.span, this.inner, cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        Poll::Ready(match this.span.take() {
            Some(span) => complete_grpc_response(span, result),
            None => result.map(|res| res.map(GrpcBody::untraced)),
        })
    }
}
