//! Driving an integration's future and body inside the request span: the handler's context,
//! panics recorded and resumed, and the span's end with the body.

use super::RequestSpan;
use crate::error::ErrorInfo;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::Poll;

/// Polls an integration's inner future inside the request span's context, so the handler's
/// spans become children of the request span.
///
/// A panic while polling is recorded on the span (`error.type` `panic`, status 500), the span
/// ends, and the panic resumes: the application sees exactly what it would without tracing.
/// Once the span has been taken (`None`), the future is polled as is.
pub fn poll_in_span<F: Future>(
    span: &mut Option<RequestSpan>,
    future: Pin<&mut F>,
    cx: &mut std::task::Context<'_>,
) -> Poll<F::Output> {
    let polled = {
        let _entered = span.as_ref().map(RequestSpan::enter);
        catch_unwind(AssertUnwindSafe(|| future.poll(cx)))
    };
    match polled {
        Ok(poll) => poll,
        Err(payload) => {
            if let Some(mut s) = span.take() {
                s.record_panic(&*payload);
                s.finish();
            }
            resume_unwind(payload)
        }
    }
}

/// Ends the span when a response body reports its end (`None`) or an error; integrations call
/// it with each result of their body's poll.
pub fn observe_body_poll<T, E: std::fmt::Display>(
    span: &mut Option<RequestSpan>,
    polled: &Poll<Option<Result<T, E>>>,
) {
    observe_body_poll_with(span, polled, |e| ErrorInfo::display(e))
}

/// Like [`observe_body_poll`], for body error types that do not implement `Display`.
pub fn observe_body_poll_with<T, E>(
    span: &mut Option<RequestSpan>,
    polled: &Poll<Option<Result<T, E>>>,
    describe: impl FnOnce(&E) -> ErrorInfo,
) {
    match polled {
        Poll::Ready(None) => {
            if let Some(s) = span.take() {
                s.finish();
            }
        }
        Poll::Ready(Some(Err(error))) => {
            if let Some(mut s) = span.take() {
                s.record_error(describe(error));
                s.finish();
            }
        }
        _ => {}
    }
}
