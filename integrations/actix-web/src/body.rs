use actix_web::body::{BodySize, MessageBody};
use bytes::Bytes;
use ddtrace_core::{observe_body_poll_with, ErrorInfo, RequestSpan};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// A response body that ends the request span when its last chunk has been sent, when it
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

impl<B: MessageBody> MessageBody for TracedBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_next(cx);
        observe_body_poll_with(this.span, &polled, |_| {
            // `MessageBody::Error` only converts into a boxed error by value.
            ErrorInfo::new(std::any::type_name::<B::Error>(), "response body error")
        });
        polled
    }
}
