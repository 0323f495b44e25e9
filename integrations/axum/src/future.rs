use ddtrace_core::{complete_http_response, poll_in_span, RequestSpan, TracedBody};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// The response future of [`DatadogService`](crate::DatadogService): polls the handler
    /// inside the request span's context, and hands the span to the response body.
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
        let result = match poll_in_span(this.span, this.inner, cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        match this.span.take() {
            Some(span) => Poll::Ready(complete_http_response(span, result)),
            // Polled again after completion: behave as the inner future does.
            None => Poll::Ready(result.map(|res| res.map(TracedBody::untraced))),
        }
    }
}
