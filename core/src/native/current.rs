//! The native span current in a context: kept in the OpenTelemetry `Context` that integrations
//! attach while a handler runs, so integrations drive either pipeline the same way.

use crate::trace::Trace;
use std::sync::Arc;

/// The span a context is in, and its trace.
#[derive(Clone, Debug)]
pub(crate) struct Current {
    pub trace: Arc<Trace>,
    pub span_id: u64,
}

impl Current {
    /// The native span current on this thread, if any.
    pub(crate) fn get() -> Option<Current> {
        opentelemetry::Context::map_current(|cx| cx.get::<Current>().cloned())
    }
}
