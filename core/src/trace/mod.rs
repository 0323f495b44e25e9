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
