use ddtrace_core::{observe_body_poll, RequestSpan};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// A response body that ends the request span when its last frame has been sent, when it
    /// fails, or when it is dropped (the client went away).
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        span: Option<RequestSpan>,
    }
}

impl<B> TracedBody<B> {
    pub(crate) fn new(inner: B, span: RequestSpan) -> Self {
        TracedBody {
            inner,
            span: Some(span),
        }
    }

    pub(crate) fn untraced(inner: B) -> Self {
        TracedBody { inner, span: None }
    }
}

impl<B> Body for TracedBody<B>
where
    B: Body,
    B::Error: std::fmt::Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        observe_body_poll(this.span, &polled);
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
