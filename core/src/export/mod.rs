//! The Datadog-native exporter: trace chunks of typed v0.4 spans, batched by libdatadog's
//! trace buffer and sent by its `TraceExporter` (the exporter Datadog's Python, Ruby and Node
//! tracers build on), on a runtime of its own.
//!
//! - Chunks are queued without blocking the request; the buffer flushes when it holds
//!   `flush_threshold_bytes` or after `flush_interval`.
//! - The buffer is bounded (`max_buffered_bytes`): while the agent is away, chunks that do not
//!   fit are dropped and counted, never queued without limit.
//! - Shutting down flushes what is buffered, waiting at most the given timeout.
//! - The agent's answers (its per-service sampling rates) and failures go to a callback.

mod outcome;
mod reporting;

pub(crate) use outcome::Outcome;

use libdd_capabilities_impl::NativeCapabilities;
use libdd_data_pipeline::trace_buffer::{DefaultExport, TraceBuffer, TraceBufferConfig};
use libdd_data_pipeline::trace_exporter::agent_response::AgentResponse;
use libdd_data_pipeline::trace_exporter::{
    TraceExporter, TraceExporterBuilder, TraceExporterOutputFormat,
};
use libdd_shared_runtime::{BasicRuntime, BlockingRuntime, SharedRuntime};
use libdd_trace_utils::span::v04::SpanBytes;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the exporter needs to know.
#[derive(Clone, Debug)]
pub(crate) struct ExporterConfig {
    /// The agent: `http://host:port` or `unix:///path/to/socket`.
    pub url: String,
    pub service: String,
    pub env: Option<String>,
    pub version: Option<String>,
    /// Client-side stats (`DD_TRACE_STATS_COMPUTATION_ENABLED`): P0 traces are then dropped
    /// before sending, as the agent's stats already count them.
    pub stats: bool,
    pub flush_interval: Duration,
    pub flush_threshold_bytes: usize,
    pub max_buffered_bytes: usize,
}

impl Default for ExporterConfig {
    fn default() -> Self {
        ExporterConfig {
            url: "http://localhost:8126".to_string(),
            service: String::new(),
            env: None,
            version: None,
            stats: false,
            flush_interval: Duration::from_secs(1),
            flush_threshold_bytes: 1_000_000,
            max_buffered_bytes: 4_000_000,
        }
    }
}

/// The agent's answer to a send, or why there was none.
pub(crate) type OnOutcome = Box<dyn Fn(Outcome) + Send + Sync>;

/// A running exporter; dropping it flushes with a 5 s limit.
pub(crate) struct Exporter {
    // Used by every request thread for every chunk: shared, with no lock of ours around it (a
    // lock's read is a write to one word every core then contends for). `closed` turns it away
    // once shut down; a chunk sent while it closes is flushed with the rest or refused by it.
    buffer: Arc<TraceBuffer<SpanBytes>>,
    closed: AtomicBool,
    runtime: Mutex<Option<Arc<BasicRuntime>>>,
    // A handle of our own on the runtime under `runtime`: held until every other handle is
    // gone, so that the runtime is never dropped on one of its own threads.
    tokio: Mutex<Option<Arc<tokio::runtime::Runtime>>>,
    // Set once that runtime is stopped.
    released: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

impl Exporter {
    /// Starts the exporter's runtime and background worker. Safe to call from inside or
    /// outside a tokio runtime: the exporter is built on a thread of its own, as libdatadog's
    /// builder blocks on its runtime.
    pub(crate) fn start(config: ExporterConfig, on_outcome: OnOutcome) -> Result<Exporter, String> {
        std::thread::Builder::new()
            .name("ddtrace-exporter-init".into())
            .spawn(move || Exporter::build(config, on_outcome))
            .map_err(|e| format!("starting the exporter thread: {e}"))?
            .join()
            .map_err(|_| "the exporter's setup panicked".to_string())?
    }

    fn build(config: ExporterConfig, on_outcome: OnOutcome) -> Result<Exporter, String> {
        let tokio = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("ddtrace-exporter")
                .enable_all()
                .build()
                .map_err(|e| format!("exporter runtime: {e}"))?,
        );
        let runtime = Arc::new(BasicRuntime::from_handle(tokio.clone()));
        let mut builder = TraceExporterBuilder::<BasicRuntime>::new();
        builder
            .set_shared_runtime(runtime.clone())
            .set_url(&config.url)
            .set_service(&config.service)
            .set_language("rust")
            .set_language_version(env!("CARGO_PKG_RUST_VERSION"))
            .set_language_interpreter("rustc")
            .set_tracer_version(env!("CARGO_PKG_VERSION"))
            .set_output_format(TraceExporterOutputFormat::V04)
            .enable_agent_rates_payload_version();
        if let Some(env) = &config.env {
            builder.set_env(env);
        }
        if let Some(version) = &config.version {
            builder.set_app_version(version);
        }
        if config.stats {
            builder.enable_stats(Duration::from_secs(10));
        }
        let exporter: TraceExporter<NativeCapabilities, BasicRuntime> = builder
            .build::<NativeCapabilities>()
            .map_err(|e| format!("building the trace exporter: {e}"))?;
        let buffer_config = TraceBufferConfig::new()
            .max_flush_interval(config.flush_interval)
            .flush_threshold_bytes(config.flush_threshold_bytes)
            .max_buffered_bytes(config.max_buffered_bytes);
        // Outcomes come from the export operation, which knows whether a send carried spans
        // (`reporting.rs`); the buffer's handler would also hear of empty forced flushes.
        let handler = Box::new(|_: Result<AgentResponse, _>| {});
        let export = reporting::Reporting {
            inner: DefaultExport::new(exporter, None),
            on_outcome,
        };
        let (buffer, worker) = TraceBuffer::new(buffer_config, handler, Box::new(export));
        // Stopped with the runtime, in `shutdown`.
        let _worker = runtime
            .spawn_worker(worker, false)
            .map_err(|e| format!("starting the export worker: {e}"))?;
        Ok(Exporter {
            buffer: Arc::new(buffer),
            closed: AtomicBool::new(false),
            runtime: Mutex::new(Some(runtime)),
            tokio: Mutex::new(Some(tokio)),
            released: Arc::new(AtomicBool::new(false)),
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Queues one trace chunk; never blocks. A chunk that does not fit in the buffer (the agent
    /// is away or slow) is dropped and counted.
    pub(crate) fn send(&self, chunk: Vec<SpanBytes>) {
        let spans = chunk.len() as u64;
        let sent = !self.closed.load(Ordering::Acquire) && self.buffer.send_chunk(chunk).is_ok();
        if !sent {
            self.dropped.fetch_add(spans, Ordering::Relaxed);
        }
    }

    /// Sends what is buffered now, waiting at most `timeout` for the agent.
    pub(crate) fn flush(&self, timeout: Duration) {
        if !self.closed.load(Ordering::Acquire) {
            let _ = self.buffer.flush_and_wait(Some(timeout));
        }
    }

    /// Spans dropped because the buffer was full or closed.
    pub(crate) fn dropped_spans(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether the exporter's runtime has stopped (after `shutdown`).
    #[cfg(test)]
    pub(crate) fn runtime_released(&self) -> bool {
        self.released.load(Ordering::Acquire)
    }

    /// Flushes what is buffered and stops, returning within `timeout` (and half a second)
    /// whatever the agent does: a hung or failing agent loses what it did not take in time.
    pub(crate) fn shutdown(&self, timeout: Duration) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let buffer = self.buffer.clone();
        let runtime = self
            .runtime
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let tokio = self.tokio.lock().unwrap_or_else(|p| p.into_inner()).take();
        let (Some(runtime), Some(tokio)) = (runtime, tokio) else {
            return;
        };
        let released = self.released.clone();
        let deadline = Instant::now() + timeout;
        // On a thread of its own: the runtime blocks and is dropped there, never on a tokio
        // thread (where both panic), and a send that hangs past the deadline is left behind.
        let (done, finished) = std::sync::mpsc::channel();
        let stop = move || {
            let _ = buffer.flush_and_close(Some(timeout));
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = runtime
                .block_on(async { tokio::time::timeout(left, runtime.shutdown_async()).await });
            drop(buffer);
            drop(runtime);
            let _ = done.send(());
            // A send that outlived the deadline still holds the runtime from its task; when it
            // ends there, ours must not be the handle left to drop.
            release(tokio, &released);
        };
        match std::thread::Builder::new()
            .name("ddtrace-exporter-stop".into())
            .spawn(stop)
        {
            Ok(_) => {
                let _ = finished.recv_timeout(timeout + Duration::from_millis(500));
            }
            Err(e) => tracing::warn!(target: "ddtrace", "stopping the exporter: {e}"),
        }
    }
}

/// Stops the runtime once this is its last handle, on this (non-runtime) thread. A send the
/// agent never answers keeps its handle; after a minute the runtime is left to the process.
fn release(mut tokio: Arc<tokio::runtime::Runtime>, released: &AtomicBool) {
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        match Arc::try_unwrap(tokio) {
            Ok(runtime) => {
                runtime.shutdown_background();
                released.store(true, Ordering::Release);
                return;
            }
            Err(shared) if Instant::now() >= give_up => {
                std::mem::forget(shared);
                return;
            }
            Err(shared) => {
                tokio = shared;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.shutdown(Duration::from_secs(5));
    }
}

impl crate::trace::ChunkSink for Exporter {
    fn send(&self, chunk: Vec<SpanBytes>) {
        Exporter::send(self, chunk)
    }
}

#[cfg(test)]
mod tests;
