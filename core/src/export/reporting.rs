//! libdatadog's export operation, reporting the outcome of each send that carried spans.
//!
//! The trace buffer's own response handler also hears of forced flushes of an empty buffer
//! (`flush`, shutdown), which libdatadog answers `Ok` without any request: the outage watcher
//! would take that for the agent being back while it is still away.

use super::outcome::Outcome;
use super::OnOutcome;
use libdd_data_pipeline::trace_buffer::{Export, TraceChunk};
use libdd_data_pipeline::trace_exporter::agent_response::AgentResponse;
use libdd_data_pipeline::trace_exporter::error::TraceExporterError;
use libdd_trace_utils::span::v04::SpanBytes;
use std::future::Future;
use std::pin::Pin;

/// `inner`, with `on_outcome` called after every export that had spans to send.
pub(super) struct Reporting<E> {
    pub(super) inner: E,
    pub(super) on_outcome: OnOutcome,
}

impl<E: std::fmt::Debug> std::fmt::Debug for Reporting<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporting")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<E: Export<SpanBytes>> Export<SpanBytes> for Reporting<E> {
    fn export_trace_chunks(
        &mut self,
        trace_chunks: Vec<TraceChunk<SpanBytes>>,
        force_flush: bool,
    ) -> Pin<Box<dyn Future<Output = Result<AgentResponse, TraceExporterError>> + Send + '_>> {
        let sends = !trace_chunks.is_empty();
        Box::pin(async move {
            let result = self
                .inner
                .export_trace_chunks(trace_chunks, force_flush)
                .await;
            if sends {
                (self.on_outcome)(Outcome::from_result(&result));
            }
            result
        })
    }
}
