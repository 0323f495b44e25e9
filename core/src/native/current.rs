//! The native span current on a thread: a small per-thread stack that integrations push the
//! request span on while its handler runs, and the `tracing` layer its spans while entered.
//! Entering and leaving is a reference count and a push, with no allocation (the stack keeps
//! its room), where an OpenTelemetry `Context` allocates a map for each value.

use crate::trace::Trace;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

/// The span a context is in, and its trace.
#[derive(Clone, Debug)]
pub(crate) struct Current {
    pub trace: Arc<Trace>,
    pub span_id: u64,
}

thread_local! {
    /// The entered spans, innermost last, each with the token its guard removes it by.
    static STACK: RefCell<Vec<(u64, Current)>> = const { RefCell::new(Vec::new()) };
    static NEXT_TOKEN: Cell<u64> = const { Cell::new(0) };
}

impl Current {
    /// The native span current on this thread, if any: the innermost entered one, else one
    /// an application attached in an OpenTelemetry context (`RequestSpan::context`).
    pub(crate) fn get() -> Option<Current> {
        let entered = STACK
            .try_with(|stack| {
                stack
                    .try_borrow()
                    .ok()
                    .and_then(|s| s.last().map(|(_, c)| c.clone()))
            })
            .ok()
            .flatten();
        entered.or_else(|| opentelemetry::Context::map_current(|cx| cx.get::<Current>().cloned()))
    }

    /// Makes this the current span on this thread until the returned guard drops.
    pub(crate) fn enter(self) -> Entered {
        let token = NEXT_TOKEN
            .try_with(|next| {
                let token = next.get();
                next.set(token.wrapping_add(1));
                token
            })
            .ok();
        let pushed = token.and_then(|token| {
            STACK
                .try_with(|stack| {
                    stack
                        .try_borrow_mut()
                        .map(|mut s| s.push((token, self)))
                        .ok()
                })
                .ok()
                .flatten()
                .map(|()| token)
        });
        Entered { token: pushed }
    }
}

/// Leaves the span [`Current::enter`] entered, wherever it is in the stack (guards may drop
/// out of order, as `tracing` spans may exit out of order).
#[derive(Debug)]
pub(crate) struct Entered {
    token: Option<u64>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let Some(token) = self.token else { return };
        // The span's reference is dropped after the stack is released: dropping the last one
        // ends its trace, which may look at the current span again.
        let left = STACK
            .try_with(|stack| {
                let mut stack = stack.try_borrow_mut().ok()?;
                let i = stack.iter().rposition(|(t, _)| *t == token)?;
                Some(stack.remove(i))
            })
            .ok()
            .flatten();
        drop(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::tests_support::trace;

    #[test]
    fn the_innermost_entered_span_is_current_and_guards_may_drop_out_of_order() {
        let t = trace();
        let current = |id| Current {
            trace: t.clone(),
            span_id: id,
        };
        assert!(Current::get().is_none());
        let outer = current(1).enter();
        let inner = current(2).enter();
        assert_eq!(Current::get().map(|c| c.span_id), Some(2));
        drop(outer);
        assert_eq!(Current::get().map(|c| c.span_id), Some(2));
        drop(inner);
        assert!(Current::get().is_none());
    }
}
