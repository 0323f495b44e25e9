//! Datadog spans built by the core, and the assembly of a local trace into chunks.
//!
//! A local trace is every span of one trace in this process: the local root (a request span,
//! or a span started without a parent) and its descendants. Its spans go out as one chunk
//! when the local root ends; a descendant that ends after the root (a spawned task) goes out
//! in a later chunk of its own. Before the first chunk or the first outgoing request, a trace
//! without an upstream sampling decision is sampled.

mod chunk;
mod span;

pub(crate) use chunk::{ChunkSink, Trace, TraceSettings};
pub(crate) use span::ActiveSpan;

#[cfg(test)]
mod tests;

/// A local trace for unit tests elsewhere in the core, whose chunks go nowhere.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::{ChunkSink, Trace, TraceSettings};
    use crate::propagation::{PropagationConfig, TraceContext};
    use crate::sampling::Sampler;
    use libdd_tinybytes::BytesString;
    use libdd_trace_utils::span::v04::SpanBytes;
    use std::sync::Arc;

    struct Discard;

    impl ChunkSink for Discard {
        fn send(&self, _: Vec<SpanBytes>) {}
    }

    /// Settings for a trace whose chunks go to `sink`, with no sampling rule.
    pub(crate) fn settings(sink: Arc<dyn ChunkSink>) -> Arc<TraceSettings> {
        Arc::new(TraceSettings {
            service: BytesString::from_static("shop"),
            env: None,
            version: None,
            tags: Vec::new(),
            runtime_id: BytesString::from_static("r"),
            propagation: PropagationConfig::default(),
            sampler: Arc::new(Sampler::from_lookup(|_| None)),
            sink,
        })
    }

    /// A trace whose root span has ended.
    pub(crate) fn trace() -> Arc<Trace> {
        let settings = settings(Arc::new(Discard));
        let root = Trace::start_root(
            &settings,
            TraceContext::new_root(&settings.propagation),
            BytesString::from_static("test.request"),
            BytesString::from_static("GET /"),
            BytesString::from_static("web"),
        );
        root.trace().clone()
    }
}
