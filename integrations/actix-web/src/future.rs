use crate::body::TracedBody;
use crate::headers::ActixHeaders;
use actix_web::dev::ServiceResponse;
use ddtrace_core::{poll_in_span, ErrorInfo, RequestSpan};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// The response future of [`DatadogTracingMiddleware`](crate::DatadogTracingMiddleware):
    /// polls the application inside the request span's context, then hands the span to the
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

/// actix's errors are trait objects; their `Debug` output starts with the concrete type's
/// name, which is the closest thing to `error.type` available.
fn error_info(error: &actix_web::Error) -> ErrorInfo {
    let debug = format!("{:?}", error.as_response_error());
    let name: String = debug
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let name = if name.is_empty() {
        "actix_web::Error".to_string()
    } else {
        name
    };
    ErrorInfo::new(name, error.to_string())
}

impl<F, B> Future for ResponseFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = Result<ServiceResponse<TracedBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match poll_in_span(this.span, this.inner, cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        let Some(mut span) = this.span.take() else {
            return Poll::Ready(result.map(|res| res.map_body(|_, b| TracedBody::untraced(b))));
        };
        match result {
            Ok(res) => {
                span.record_status(res.status().as_u16(), &ActixHeaders(res.headers()));
                if let Some(error) = res.response().error() {
                    span.record_error(error_info(error));
                }
                Poll::Ready(Ok(res.map_body(|_, body| TracedBody::new(body, span))))
            }
            Err(error) => {
                // actix turns this error into the response after the middleware chain.
                span.record_status(
                    error.as_response_error().status_code().as_u16(),
                    &ActixHeaders(&Default::default()),
                );
                span.record_error(error_info(&error));
                span.finish();
                Poll::Ready(Err(error))
            }
        }
    }
}
