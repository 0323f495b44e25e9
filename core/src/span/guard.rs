//! Running code inside a request span: a guard for synchronous code, a handle and a future
//! wrapper for code that runs elsewhere.

use crate::native::{Current, Entered};
use opentelemetry::{Context, ContextGuard};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// While alive, a request span is the current span on this thread: `tracing` spans, outgoing
/// requests ([`crate::ClientSpan`]) and [`crate::record_error`] started meanwhile belong to it.
///
/// Returned by [`crate::RequestSpan::enter`] and [`SpanHandle::enter`]; keep it on the stack
/// (it is not `Send`) and drop it when the synchronous work is done.
///
/// ```
/// use ddtrace_core::{Config, Integration, RequestInfo, RequestTracer};
///
/// let tracer = RequestTracer::new(Integration::new("foo", "foo.request"), Config::default());
/// let req = http::Request::get("/").body(()).unwrap();
/// let span = tracer.start(RequestInfo::from_request(&req));
/// {
///     let _entered = span.enter();
///     // Work started here is part of the request span.
/// }
/// span.finish();
/// ```
#[must_use = "the span is current only while the guard is alive"]
#[derive(Debug)]
pub struct SpanGuard {
    _inner: GuardInner,
}

#[derive(Debug)]
enum GuardInner {
    Native(#[allow(dead_code)] Entered),
    OpenTelemetry(#[allow(dead_code)] ContextGuard),
    None,
}

/// A cheap, cloneable handle on a request span, for code that runs in it from somewhere else:
/// another callback of the framework, or a future polled later ([`SpanHandle::wrap`]).
///
/// ```
/// use ddtrace_core::{Config, Integration, RequestInfo, RequestTracer};
///
/// let tracer = RequestTracer::new(Integration::new("foo", "foo.request"), Config::default());
/// let req = http::Request::get("/").body(()).unwrap();
/// let span = tracer.start(RequestInfo::from_request(&req));
/// let handle = span.handle();
/// // Each poll of the handler's future runs inside the request span.
/// let handler = handle.wrap(async { "hello" });
/// # let _ = handler;
/// span.finish();
/// ```
#[derive(Clone, Debug, Default)]
pub struct SpanHandle {
    inner: HandleInner,
}

#[derive(Clone, Debug, Default)]
enum HandleInner {
    Native(Current),
    OpenTelemetry(Context),
    #[default]
    None,
}

impl SpanHandle {
    pub(super) fn native(current: Current) -> SpanHandle {
        SpanHandle {
            inner: HandleInner::Native(current),
        }
    }

    pub(super) fn opentelemetry(cx: Context) -> SpanHandle {
        SpanHandle {
            inner: HandleInner::OpenTelemetry(cx),
        }
    }

    /// Makes the span current on this thread until the guard drops. A default handle (no
    /// span) enters nothing.
    pub fn enter(&self) -> SpanGuard {
        let inner = match &self.inner {
            HandleInner::Native(current) => GuardInner::Native(current.clone().enter()),
            HandleInner::OpenTelemetry(cx) => GuardInner::OpenTelemetry(cx.clone().attach()),
            HandleInner::None => GuardInner::None,
        };
        SpanGuard { _inner: inner }
    }

    /// Wraps `future` so that each of its polls runs inside the span.
    pub fn wrap<F: Future>(&self, future: F) -> InSpan<F> {
        InSpan {
            inner: future,
            handle: self.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A future whose polls run inside a request span; made by [`SpanHandle::wrap`].
    #[derive(Debug)]
    pub struct InSpan<F> {
        #[pin]
        inner: F,
        handle: SpanHandle,
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.handle.enter();
        this.inner.poll(cx)
    }
}
