//! A span being recorded: a typed v0.4 span filled in place, so finishing it hands the exporter
//! what it encodes, with no second representation.

use super::chunk::Trace;
use crate::clock::{self, Now};
use crate::propagation::Injector;
use libdd_tinybytes::BytesString;
use libdd_trace_utils::span::v04::SpanBytes;
use std::sync::Arc;
use std::time::Instant;

/// A started span of a local trace; it ends on [`ActiveSpan::finish`] or when dropped.
#[derive(Debug)]
pub(crate) struct ActiveSpan {
    trace: Arc<Trace>,
    /// The span (one, or none once it ended), on the heap: a request span moves from frame to
    /// frame and into the response body, and a Datadog span (about 400 bytes) inline made
    /// every move a copy of it. A vector of one, because it then becomes the chunk sent to the
    /// exporter as it is when the span is its trace's only one (most requests): the
    /// allocation the chunk needed anyway, made earlier.
    span: Vec<SpanBytes>,
    started: Instant,
}

impl ActiveSpan {
    /// A span of `trace` starting at `now`.
    pub(super) fn new(trace: Arc<Trace>, mut span: SpanBytes, now: Now) -> Self {
        span.start = now.unix_ns;
        ActiveSpan {
            trace,
            // Exactly one span's room.
            span: vec![span],
            started: now.instant,
        }
    }

    /// A new span of `trace`, child of its span `parent_id` (which may be held elsewhere).
    pub(crate) fn child_of(trace: Arc<Trace>, parent_id: u64, name: BytesString) -> ActiveSpan {
        let span = SpanBytes {
            service: trace.settings().service.clone(),
            resource: name.clone(),
            name,
            trace_id: trace.trace_id(),
            span_id: crate::ids::new_span_id(),
            parent_id,
            ..Default::default()
        };
        trace.span_opened();
        ActiveSpan::new(trace, span, clock::now())
    }

    /// A child of this span, in the same trace.
    #[cfg(test)]
    pub(crate) fn child(&self, name: BytesString) -> ActiveSpan {
        let parent = self.span.first();
        let span = SpanBytes {
            service: parent.map_or_else(
                || self.trace.settings().service.clone(),
                |p| p.service.clone(),
            ),
            resource: name.clone(),
            name,
            trace_id: parent.map_or(0, |p| p.trace_id),
            span_id: crate::ids::new_span_id(),
            parent_id: parent.map_or(0, |p| p.span_id),
            ..Default::default()
        };
        self.trace.span_opened();
        ActiveSpan::new(self.trace.clone(), span, clock::now())
    }

    pub(crate) fn span_id(&self) -> u64 {
        self.span.first().map_or(0, |s| s.span_id)
    }

    pub(crate) fn trace(&self) -> &Arc<Trace> {
        &self.trace
    }

    /// The span being recorded, to set its resource, type, tags and error.
    pub(crate) fn data(&mut self) -> Option<&mut SpanBytes> {
        self.span.first_mut()
    }

    /// Sets a string tag.
    #[cfg(test)]
    pub(crate) fn set_meta(&mut self, key: BytesString, value: BytesString) {
        if let Some(span) = self.span.first_mut() {
            span.meta.insert(key, value);
        }
    }

    /// Writes the propagation headers of an outgoing request made from this span.
    pub(crate) fn inject(&self, injector: &mut impl Injector) {
        self.trace.inject(self.span_id(), injector);
    }

    /// Ends the span now.
    pub(crate) fn finish(mut self) {
        self.end();
    }

    fn end(&mut self) {
        let mut span = std::mem::take(&mut self.span);
        let Some(data) = span.first_mut() else {
            return;
        };
        data.duration = clock::elapsed_ns(self.started);
        self.trace.span_finished(span);
    }
}

impl Drop for ActiveSpan {
    fn drop(&mut self) {
        self.end();
    }
}
