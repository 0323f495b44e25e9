//! A gRPC response body that reads the call's status from its trailers and ends the span.

use super::{GrpcStatus, CANCELLED};
use crate::{ClientSpan, ErrorInfo, RequestSpan};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The span a [`GrpcBody`] ends: a server's or a client's.
// Inline, as `TracedBody` holds the request span: boxing the larger variant would add an
// allocation to every call.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Span {
    Server(RequestSpan),
    Client(ClientSpan),
}

impl Span {
    fn record_status(&mut self, status: GrpcStatus) {
        match self {
            Span::Server(span) => span.record_grpc_status(status),
            Span::Client(span) => span.record_grpc_status(status),
        }
    }

    fn record_error(&mut self, error: ErrorInfo) {
        match self {
            Span::Server(span) => span.record_error(error),
            Span::Client(span) => span.record_error(error),
        }
    }

    fn finish(self) {
        match self {
            Span::Server(span) => span.finish(),
            Span::Client(span) => span.finish(),
        }
    }
}

pin_project! {
    /// A gRPC response body that carries the call's span to its end: the status comes from
    /// the trailers (`grpc-status`, `grpc-message`), and the span ends with them, with a
    /// failed body, or when the body is dropped. A server's call dropped before its status
    /// was sent is `CANCELLED`: the client went away. Frames, size hints and end of stream are
    /// the inner body's, so the answer is unchanged.
    pub struct GrpcBody<B> {
        #[pin]
        inner: B,
        span: Option<Span>,
        // Whether the status has been seen (in a trailers-only answer's headers or the
        // trailers).
        status_seen: bool,
    }

    impl<B> PinnedDrop for GrpcBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(mut span) = this.span.take() {
                if !*this.status_seen && matches!(span, Span::Server(_)) {
                    span.record_status(GrpcStatus::code(CANCELLED));
                }
                span.finish();
            }
        }
    }
}

impl<B> GrpcBody<B> {
    fn new(inner: B, span: Span, status_seen: bool) -> Self {
        GrpcBody {
            inner,
            span: Some(span),
            status_seen,
        }
    }

    /// Wraps `inner` with no span (a call that is not traced).
    pub fn untraced(inner: B) -> Self {
        GrpcBody {
            inner,
            span: None,
            status_seen: true,
        }
    }
}

impl<B> Body for GrpcBody<B>
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
        if this.span.is_none() {
            return polled;
        }
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(status) = frame.trailers_ref().and_then(GrpcStatus::from_headers) {
                    *this.status_seen = true;
                    if let Some(mut span) = this.span.take() {
                        span.record_status(status);
                        span.finish();
                    }
                }
            }
            Poll::Ready(Some(Err(error))) => {
                if let Some(mut span) = this.span.take() {
                    span.record_error(ErrorInfo::display(error));
                    span.finish();
                }
            }
            Poll::Ready(None) => {
                // The body ended: with a trailers-only answer, its status was in the headers.
                *this.status_seen = true;
                if let Some(span) = this.span.take() {
                    span.finish();
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> std::fmt::Debug for GrpcBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcBody")
            .field("traced", &self.span.is_some())
            .finish()
    }
}

/// Completes a gRPC server's response for its span: the response's status and header tags
/// (its HTTP/2 headers are the call's initial metadata), the gRPC status of a trailers-only
/// answer (an error returned before any message), then the span travels with the body,
/// which reads the status from the trailers and ends the span. An `Err` from the service is
/// recorded and ends the span at once.
///
/// ```
/// use ddtrace_core::{grpc::complete_grpc_response, Config, Integration, RequestInfo, RequestTracer};
///
/// let tracer = RequestTracer::new(Integration::grpc_server("tonic"), Config::default());
/// let req = http::Request::post("/shop.Inventory/Get").body(()).unwrap();
/// let span = tracer.start(RequestInfo::from_request(&req));
/// let answer = http::Response::builder().header("grpc-status", "5").body("").unwrap();
/// let response = complete_grpc_response(span, Ok::<_, std::io::Error>(answer)).unwrap();
/// assert_eq!(response.headers()["grpc-status"], "5");
/// ```
pub fn complete_grpc_response<B, E: std::fmt::Display>(
    mut span: RequestSpan,
    result: Result<http::Response<B>, E>,
) -> Result<http::Response<GrpcBody<B>>, E> {
    match result {
        Ok(response) => {
            span.record_status(response.status().as_u16(), response.headers());
            let status = GrpcStatus::from_headers(response.headers());
            let seen = status.is_some();
            if let Some(status) = status {
                span.record_grpc_status(status);
            }
            if let Some(error) = response.extensions().get::<ErrorInfo>() {
                span.record_error(error.clone());
            }
            Ok(response.map(|body| GrpcBody::new(body, Span::Server(span), seen)))
        }
        Err(error) => {
            span.record_error(ErrorInfo::display(&error));
            span.finish();
            Err(error)
        }
    }
}

/// Completes a gRPC client's response for its span, as [`complete_grpc_response`] does for
/// a server's: the status of a trailers-only answer (or of an answer that is not gRPC's, as
/// [`GrpcStatus::from_http`] maps it), then the body reads the trailers and ends the span. An `Err` (the call never got an answer: connection refused, timeout) is
/// recorded and ends the span at once.
///
/// ```
/// use ddtrace_core::{grpc::complete_grpc_client_response, ClientConfig, ClientSpan};
///
/// let span = ClientSpan::start_grpc(&ClientConfig::default(), "tonic", "/shop.Inventory/Get", None);
/// let answer = http::Response::new("");
/// let response = complete_grpc_client_response(span, Ok::<_, std::io::Error>(answer)).unwrap();
/// # let _ = response;
/// ```
pub fn complete_grpc_client_response<B, E: std::fmt::Display>(
    mut span: ClientSpan,
    result: Result<http::Response<B>, E>,
) -> Result<http::Response<GrpcBody<B>>, E> {
    match result {
        Ok(response) => {
            // Not a gRPC answer (a proxy's 503): the client makes its status from the HTTP one.
            let status = GrpcStatus::from_headers(response.headers()).or_else(|| {
                let http = response.status().as_u16();
                (http != 200).then(|| GrpcStatus::from_http(http))
            });
            let seen = status.is_some();
            if let Some(status) = status {
                span.record_grpc_status(status);
            }
            Ok(response.map(|body| GrpcBody::new(body, Span::Client(span), seen)))
        }
        Err(error) => {
            span.record_error(ErrorInfo::display(&error));
            span.finish();
            Err(error)
        }
    }
}
