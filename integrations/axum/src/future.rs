use crate::body::TracedBody;
use ddtrace_core::{ErrorInfo, RequestSpan};
use pin_project_lite::pin_project;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
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
        let inner = this.inner;
        let polled = {
            let _attached = this.span.as_ref().map(|s| s.context().clone().attach());
            // A panicking handler is recorded on the span, then unwinds exactly as without us.
            catch_unwind(AssertUnwindSafe(|| inner.poll(cx)))
        };
        let result = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(result)) => result,
            Err(payload) => {
                if let Some(mut span) = this.span.take() {
                    span.record_panic(&*payload);
                    span.finish();
                }
                resume_unwind(payload)
            }
        };
        let Some(mut span) = this.span.take() else {
            // Polled again after completion: behave as the inner future does.
            return Poll::Ready(result.map(|res| res.map(TracedBody::untraced)));
        };
        match result {
            Ok(response) => {
                span.record_status(response.status(), response.headers());
                if let Some(error) = response.extensions().get::<ErrorInfo>() {
                    span.record_error(error.clone());
                }
                Poll::Ready(Ok(response.map(|body| TracedBody::new(body, span))))
            }
            Err(error) => {
                span.record_error(ErrorInfo::new(
                    std::any::type_name::<E>(),
                    error.to_string(),
                ));
                span.finish();
                Poll::Ready(Err(error))
            }
        }
    }
}
