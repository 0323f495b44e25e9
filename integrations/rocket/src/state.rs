use ddtrace_core::{RequestSpan, SpanHandle};
use rocket::Request;
use std::sync::Mutex;

/// What the fairing keeps in the request's local cache between its callbacks.
pub(crate) struct SpanState {
    pub(crate) span: Mutex<Option<RequestSpan>>,
    pub(crate) handle: SpanHandle,
}

impl SpanState {
    fn empty() -> Self {
        SpanState {
            span: Mutex::new(None),
            handle: SpanHandle::default(),
        }
    }

    /// This request's state, or an empty one when the fairing is not attached.
    pub(crate) fn of<'r>(req: &'r Request<'_>) -> &'r SpanState {
        req.local_cache(SpanState::empty)
    }

    pub(crate) fn take(&self) -> Option<RequestSpan> {
        self.span.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    pub(crate) fn with_span(&self, f: impl FnOnce(&mut RequestSpan)) {
        if let Some(span) = self.span.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            f(span);
        }
    }
}
