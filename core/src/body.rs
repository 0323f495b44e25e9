//! A response body that carries the request span to its end.

use crate::{observe_body_poll, RequestSpan};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// An `http_body::Body` that ends the request span when its last frame has been sent, when
    /// it fails, or when it is dropped (the client went away). Data, size hints and end of
    /// stream are the inner body's, so responses are unchanged (content-length included).
    ///
    /// For frameworks whose bodies are `http_body` bodies (axum, poem, hyper).
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        span: Option<RequestSpan>,
    }
}

impl<B> TracedBody<B> {
    /// Wraps `inner`; `span` ends with it.
    pub fn new(inner: B, span: RequestSpan) -> Self {
        TracedBody {
            inner,
            span: Some(span),
        }
    }

    /// Wraps `inner` with no span (a response that is not traced).
    pub fn untraced(inner: B) -> Self {
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

/// Completes an `http` response for the request span: records its status and response header
/// tags, and an [`ErrorInfo`](crate::ErrorInfo) the application put in its extensions, then moves
/// the span into the body, which ends it. An `Err` from the service is recorded and ends the
/// span at once. What every integration over `http` responses does once its inner future
/// is ready.
///
/// ```
/// use ddtrace_core::{complete_http_response, Config, Integration, RequestInfo, RequestTracer};
///
/// let tracer = RequestTracer::new(Integration::new("foo", "foo.request"), Config::default());
/// let req = http::Request::get("/").body(()).unwrap();
/// let span = tracer.start(RequestInfo::from_request(&req));
/// let result: Result<_, std::io::Error> = Ok(http::Response::new("body"));
/// let response = complete_http_response(span, result).unwrap();
/// assert_eq!(response.status(), 200);
/// ```
pub fn complete_http_response<B, E: std::fmt::Display>(
    mut span: RequestSpan,
    result: Result<http::Response<B>, E>,
) -> Result<http::Response<TracedBody<B>>, E> {
    match result {
        Ok(response) => {
            span.record_status(response.status().as_u16(), response.headers());
            if let Some(error) = response.extensions().get::<crate::ErrorInfo>() {
                span.record_error(error.clone());
            }
            Ok(response.map(|body| TracedBody::new(body, span)))
        }
        Err(error) => {
            span.record_error(crate::ErrorInfo::display(&error));
            span.finish();
            Err(error)
        }
    }
}
