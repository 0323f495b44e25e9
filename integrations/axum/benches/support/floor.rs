//! The floor of a Datadog-native request span on libdatadog's exporter: a hand-written layer
//! that builds, for each request, the root span `DatadogLayer` sends (the same service, name,
//! resource and type, and the meta and metrics keys it has before the agent's sampling rates
//! apply), as cheaply as it can be built, and hands it to a `TraceExporter` behind a
//! `TraceBuffer` configured as the core's.
//!
//! It leaves out everything a tracer needs beyond that span: no sampler (priority 1,
//! decision maker `-0`), no propagation (incoming headers are ignored), no request context for
//! child spans or logs, no error handling, and the span ends with the response head, not its
//! body. It uses the core's tricks for texts: every text it can take from a static string is
//! static (route and resource included, as a tracer with a text cache gets them), the user
//! agent and the trace id's high bits are kept per thread while they repeat, and the URL is
//! copied into one allocation. What it costs on the request thread and on the exporter is what
//! any tracer on this exporter pays at least, and it bounds what the core can reach.

use axum::extract::MatchedPath;
use http::{Request, Response};
use libdd_capabilities_impl::NativeCapabilities;
use libdd_data_pipeline::trace_buffer::{DefaultExport, TraceBuffer, TraceBufferConfig};
use libdd_data_pipeline::trace_exporter::{
    TraceExporter, TraceExporterBuilder, TraceExporterOutputFormat,
};
use libdd_shared_runtime::{BasicRuntime, SharedRuntime};
use libdd_tinybytes::BytesString;
use libdd_trace_utils::span::v04::SpanBytes;
use libdd_trace_utils::span::vec_map::VecMap;
use pin_project_lite::pin_project;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The exporter the floor's spans go to, with its runtime kept alive.
pub struct Floor {
    buffer: TraceBuffer<SpanBytes>,
    _runtime: Arc<BasicRuntime>,
    process_id: f64,
    runtime_id: BytesString,
    service: BytesString,
}

impl Floor {
    /// An exporter to the agent at `url`, for spans of `service`, built as the core builds
    /// its own.
    pub fn start(url: &str, service: &str) -> Arc<Floor> {
        let (url, service) = (url.to_string(), service.to_string());
        std::thread::spawn(move || Floor::build(&url, &service))
            .join()
            .expect("the floor's exporter")
    }

    /// Sends what is buffered, as the bench flushes the pipeline between rounds.
    pub fn flush(&self) {
        let _ = self
            .buffer
            .flush_and_wait(Some(std::time::Duration::from_secs(5)));
    }

    fn build(url: &str, service: &str) -> Arc<Floor> {
        let tokio = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("floor-exporter")
                .enable_all()
                .build()
                .expect("floor runtime"),
        );
        let runtime = Arc::new(BasicRuntime::from_handle(tokio));
        let mut builder = TraceExporterBuilder::<BasicRuntime>::new();
        builder
            .set_shared_runtime(runtime.clone())
            .set_url(url)
            .set_service(service)
            .set_language("rust")
            .set_language_version(env!("CARGO_PKG_RUST_VERSION"))
            .set_language_interpreter("rustc")
            .set_tracer_version(env!("CARGO_PKG_VERSION"))
            .set_output_format(TraceExporterOutputFormat::V04)
            .enable_agent_rates_payload_version();
        let exporter: TraceExporter<NativeCapabilities, BasicRuntime> = builder
            .build::<NativeCapabilities>()
            .expect("floor exporter");
        let config = TraceBufferConfig::new()
            .max_flush_interval(std::time::Duration::from_secs(1))
            .flush_threshold_bytes(1_000_000)
            .max_buffered_bytes(4_000_000);
        let (buffer, worker) = TraceBuffer::new(
            config,
            Box::new(|_| {}),
            Box::new(DefaultExport::new(exporter, None)),
        );
        // Stopped with the process.
        let _worker = runtime
            .spawn_worker(worker, false)
            .expect("floor export worker");
        Arc::new(Floor {
            buffer,
            _runtime: runtime,
            process_id: f64::from(std::process::id()),
            // The length of a UUID, as the core's runtime id: the payload is the same size.
            runtime_id: BytesString::from_string({
                let hex = format!("{:032x}", fastrand::u128(..));
                format!(
                    "{}-{}-{}-{}-{}",
                    &hex[..8],
                    &hex[8..12],
                    &hex[12..16],
                    &hex[16..20],
                    &hex[20..]
                )
            }),
            service: BytesString::from_string(service.to_string()),
        })
    }
}

/// The layer: one root span per request, sent to [`Floor`]'s exporter.
#[derive(Clone)]
pub struct FloorLayer(pub Arc<Floor>);

impl<S> tower::Layer<S> for FloorLayer {
    type Service = FloorService<S>;

    fn layer(&self, inner: S) -> FloorService<S> {
        FloorService {
            inner,
            floor: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct FloorService<S> {
    inner: S,
    floor: Arc<Floor>,
}

/// What the span needs from the request, taken before the handler owns it.
struct Started {
    floor: Arc<Floor>,
    span: SpanBytes,
    started: Instant,
}

impl<S, B, RB> tower::Service<Request<B>> for FloorService<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>>,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = FloorFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let started = Instant::now();
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let high = ((start / 1_000_000_000) as u64) << 32;
        let trace_id = (u128::from(high) << 64) | u128::from(fastrand::u64(..));
        let mut meta = VecMap::with_capacity(12);
        let static_pairs: [(&'static str, &'static str); 6] = [
            ("_dd.p.dm", "-0"),
            ("component", "axum"),
            ("http.method", "GET"),
            ("http.route", "/users/{id}"),
            ("language", "rust"),
            ("span.kind", "server"),
        ];
        for (k, v) in static_pairs {
            meta.insert(BytesString::from_static(k), BytesString::from_static(v));
        }
        meta.insert(BytesString::from_static("_dd.p.tid"), tid_text(high));
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        meta.insert(
            BytesString::from_static("http.url"),
            inline_text(&["http://", host, req.uri().path()]),
        );
        if let Some(ua) = req
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|h| h.to_str().ok())
        {
            meta.insert(BytesString::from_static("http.useragent"), kept_text(ua));
        }
        meta.insert(
            BytesString::from_static("runtime-id"),
            self.floor.runtime_id.clone(),
        );
        let resource = if req.extensions().get::<MatchedPath>().is_some() {
            "GET /users/{id}"
        } else {
            "GET"
        };
        let mut metrics = VecMap::with_capacity(4);
        metrics.insert(BytesString::from_static("_dd.measured"), 1.0);
        metrics.insert(BytesString::from_static("_dd.top_level"), 1.0);
        metrics.insert(BytesString::from_static("_sampling_priority_v1"), 1.0);
        metrics.insert(
            BytesString::from_static("process_id"),
            self.floor.process_id,
        );
        let span = SpanBytes {
            service: self.floor.service.clone(),
            name: BytesString::from_static("axum.request"),
            resource: BytesString::from_static(resource),
            r#type: BytesString::from_static("web"),
            trace_id,
            span_id: fastrand::u64(1..),
            start,
            meta,
            metrics,
            ..Default::default()
        };
        FloorFuture {
            inner: self.inner.call(req),
            started: Some(Started {
                floor: self.floor.clone(),
                span,
                started,
            }),
        }
    }
}

pin_project! {
    pub struct FloorFuture<F> {
        #[pin]
        inner: F,
        started: Option<Started>,
    }
}

impl<F, RB, E> Future for FloorFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Some(Started {
            floor,
            mut span,
            started,
        }) = this.started.take()
        {
            let status = match &result {
                Ok(res) if res.status() == http::StatusCode::OK => "200",
                Ok(_) => "other",
                Err(_) => "error",
            };
            span.meta.insert(
                BytesString::from_static("http.status_code"),
                BytesString::from_static(status),
            );
            span.duration = started.elapsed().as_nanos() as i64;
            // The spans are unique by construction, as the core marks its own.
            span.meta.mark_deduped();
            span.metrics.mark_deduped();
            let _ = floor.buffer.send_chunk(vec![span]);
        }
        Poll::Ready(result)
    }
}

/// Up to 128 bytes of text inline: a `BytesString` of it is one allocation.
struct Inline {
    len: usize,
    buf: [u8; 128],
}

impl AsRef<[u8]> for Inline {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl libdd_tinybytes::UnderlyingBytes for Inline {}

fn inline_text(parts: &[&str]) -> BytesString {
    let mut inline = Inline {
        len: 0,
        buf: [0; 128],
    };
    for part in parts {
        let end = inline.len + part.len();
        if end > inline.buf.len() {
            return BytesString::from_string(parts.concat());
        }
        inline.buf[inline.len..end].copy_from_slice(part.as_bytes());
        inline.len = end;
    }
    let bytes = libdd_tinybytes::Bytes::from_underlying(inline);
    BytesString::from_bytes(bytes).unwrap_or_default()
}

/// The thread's last user agent, shared while it repeats.
fn kept_text(text: &str) -> BytesString {
    thread_local! {
        static LAST: RefCell<Option<BytesString>> = const { RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| match last {
        Some(kept) if kept.as_str() == text => kept.clone(),
        _ => {
            let kept = inline_text(&[text]);
            *last = Some(kept.clone());
            kept
        }
    })
}

/// The trace id's high bits as hex, kept per thread for the second they stand for.
fn tid_text(high: u64) -> BytesString {
    thread_local! {
        static LAST: RefCell<Option<(u64, BytesString)>> = const { RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| match last {
        Some((h, kept)) if *h == high => kept.clone(),
        _ => {
            let kept = inline_text(&[&format!("{high:016x}")]);
            *last = Some((high, kept.clone()));
            kept
        }
    })
}
