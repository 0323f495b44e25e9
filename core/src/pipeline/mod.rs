//! Installing the Datadog pipeline, and the tracer request spans are started with.
//!
//! The Datadog-native pipeline is always here; the OpenTelemetry one (`datadog-opentelemetry`)
//! only with the `opentelemetry` cargo feature (`otel.rs`).

#[cfg(feature = "opentelemetry")]
mod otel;

#[cfg(feature = "opentelemetry")]
pub use otel::{init_for_benches, init_with};

use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{global, Context, KeyValue};
#[cfg(feature = "tracing-bridge")]
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The instrumentation scope of request spans: none. The pipeline's exporter turns a scope
/// name into an `otel.scope.name` tag on every span, which Datadog's tracers never send; an
/// empty name keeps the request span's tags theirs and spares the exporter that tag's work.
const SCOPE: &str = "";

/// True once [`init_with`] installed the OpenTelemetry pipeline (and so its propagator).
#[cfg(feature = "opentelemetry")]
pub(crate) use otel::is_installed;

/// Without the `opentelemetry` feature there is no OpenTelemetry pipeline to install.
#[cfg(not(feature = "opentelemetry"))]
pub(crate) fn is_installed() -> bool {
    false
}

/// An OpenTelemetry span, for a request when the native pipeline is not installed: on the
/// OpenTelemetry pipeline's tracer, or on whatever provider the application installed (none:
/// OpenTelemetry's no-op).
pub(crate) fn start_span(
    name: &'static str,
    kind: SpanKind,
    attrs: Vec<KeyValue>,
    parent: &Context,
) -> Context {
    let builder = SpanBuilder::from_name(name)
        .with_kind(kind)
        .with_attributes(attrs);
    let cx = handler_context(parent);
    #[cfg(feature = "opentelemetry")]
    let builder = match otel::start(builder, parent) {
        Ok(span) => return cx.with_span(span),
        Err(builder) => builder,
    };
    cx.with_span(global::tracer(SCOPE).build_with_context(builder, parent))
}

/// The context a request's handler runs in: the extracted parent's baggage, and nothing else
/// from it.
///
/// The rest of what extraction put there (the remote span context, the pipeline's extraction
/// data with its tags and links) served the span's creation and sampling and is not read
/// again: the sampler and the span processor consult it only for a span whose parent is
/// remote, which the request span is and its children are not.
///
/// Dropping it here, on the request thread, gives about forty small allocations back to
/// glibc's per-thread cache before the handler runs, instead of holding them until the body
/// ends. With Datadog + W3C headers the axum bench's total CPU was lower this way (against
/// keeping them, alternating runs: lower than the closest peer in 11, 13 and 11 of 15 rounds
/// against 7, 5 and 8). Instruction counts do not settle it: which allocations then miss the
/// cache depends on everything else the thread allocates (`docs/performance.md`).
fn handler_context(parent: &Context) -> Context {
    use opentelemetry::baggage::{Baggage, BaggageExt};
    let baggage = parent.baggage();
    if baggage.is_empty() {
        return Context::new();
    }
    let copy: Baggage = baggage
        .iter()
        .map(|(k, (v, meta))| (k.clone(), (v.clone(), meta.clone())))
        .collect();
    Context::new().with_baggage(copy)
}

/// Flushes and shuts the pipeline down when dropped, so every finished span reaches the agent.
///
/// Keep it alive for the whole life of the application (bind it in `main`).
#[must_use = "the pipeline shuts down when the guard is dropped"]
#[derive(Debug)]
pub struct TracerGuard {
    #[cfg(feature = "opentelemetry")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    /// The Datadog-native pipeline's exporter, when that pipeline is installed.
    native: Option<std::sync::Arc<crate::export::Exporter>>,
    timeout: Duration,
}

impl TracerGuard {
    /// How long shutdown may wait for the agent (default 5 s).
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The installed OpenTelemetry tracer provider (the `opentelemetry` feature's pipeline),
    /// for code that wants its own tracers.
    #[cfg(feature = "opentelemetry")]
    pub fn provider(&self) -> Option<&opentelemetry_sdk::trace::SdkTracerProvider> {
        self.provider.as_ref()
    }

    /// Sends every finished span to the agent now, waiting at most the shutdown timeout; the
    /// pipeline keeps running.
    pub fn flush(&self) {
        if let Some(exporter) = &self.native {
            exporter.flush(self.timeout);
        }
        #[cfg(feature = "opentelemetry")]
        if let Some(provider) = &self.provider {
            let _ = provider.force_flush();
        }
    }

    /// Flushes every finished span and stops the exporter, waiting at most the shutdown timeout.
    pub fn shutdown(mut self) {
        self.shutdown_inner();
    }

    fn shutdown_inner(&mut self) {
        if let Some(exporter) = self.native.take() {
            crate::native::uninstall();
            exporter.shutdown(self.timeout);
            let dropped = exporter.dropped_spans();
            if dropped > 0 {
                tracing::warn!(
                    target: "ddtrace",
                    "{dropped} spans were dropped because the Datadog Agent could not take them in time"
                );
            }
        }
        #[cfg(feature = "opentelemetry")]
        if let Some(provider) = self.provider.take() {
            otel::shutdown(provider, self.timeout);
        }
    }
}

impl Drop for TracerGuard {
    fn drop(&mut self) {
        self.shutdown_inner();
    }
}

/// Installs the Datadog pipeline configured from the environment (`DD_SERVICE`, `DD_ENV`,
/// `DD_VERSION`, `DD_TAGS`, `DD_TRACE_AGENT_URL`, sampling and propagation settings, …).
///
/// By default this is the Datadog-native pipeline: request spans are built by this crate as
/// Datadog spans, continued and passed on by its propagation engine, sampled by libdatadog's
/// sampler and exported by libdatadog's exporter. With the `opentelemetry` feature,
/// `DDTRACE_RS_PIPELINE=opentelemetry` installs the OpenTelemetry pipeline
/// (`datadog-opentelemetry`) instead, for applications whose own code uses the OpenTelemetry
/// API (see `init_with`, which that feature adds).
///
/// With the default `tracing-bridge` feature it also installs a `tracing` subscriber, so
/// `#[instrument]` spans nest under request spans, and prints to stderr this project's
/// configuration warnings, one warning when traces stop reaching the agent and one line when
/// they reach it again (never a line per request or per payload). If the application already
/// installed a subscriber, add [`tracing_layer`] to it instead.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() {
///     let _guard = ddtrace_core::init();
///     // build and serve the app; the guard flushes every span when main returns
/// }
/// ```
pub fn init() -> TracerGuard {
    #[cfg(feature = "opentelemetry")]
    if !crate::native::requested() {
        return init_with(datadog_opentelemetry::configuration::Config::builder().build());
    }
    #[cfg(not(feature = "opentelemetry"))]
    crate::native::requested();
    match crate::native::install() {
        Ok(exporter) => {
            #[cfg(feature = "tracing-bridge")]
            install_subscriber(None, false);
            TracerGuard {
                #[cfg(feature = "opentelemetry")]
                provider: None,
                native: Some(exporter),
                timeout: Duration::from_secs(5),
            }
        }
        #[cfg(feature = "opentelemetry")]
        Err(e) => {
            tracing::warn!(
                target: "ddtrace",
                "the native pipeline could not start ({e}); using the OpenTelemetry pipeline"
            );
            init_with(datadog_opentelemetry::configuration::Config::builder().build())
        }
        #[cfg(not(feature = "opentelemetry"))]
        Err(e) => {
            tracing::warn!(
                target: "ddtrace",
                "the Datadog pipeline could not start ({e}); no trace will be sent"
            );
            TracerGuard {
                native: None,
                timeout: Duration::from_secs(5),
            }
        }
    }
}

/// The `tracing` layer for applications that build their own subscriber.
///
/// On the Datadog-native pipeline (the default) it may be built before or after [`init`].
/// On the OpenTelemetry pipeline (the `opentelemetry` feature) it binds to the pipeline
/// installed when it is built: build it after `init_with` there.
///
/// It is two layers in one:
/// - the one that makes `#[instrument]` spans children of request spans (on the OpenTelemetry
///   pipeline, tracing-opentelemetry bound to it);
/// - the agent watcher: one `ddtrace` warning when traces stop reaching the Datadog Agent and one
///   `ddtrace` info line when they reach it again, where the pipeline itself reports every
///   failed payload (target `libdd_data_pipeline`, about once a second during an outage: filter
///   it out, for example with `libdd_data_pipeline=off` in an `EnvFilter`). The watcher learns
///   that the agent is back from the pipeline's debug event of a successful send; a subscriber
///   that disables debug events everywhere still gets the warning, and a failure after five
///   quiet minutes counts as a new outage.
///
/// With log lines correlated to the trace ([`crate::logs`]):
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// tracing_subscriber::registry()
///     .with(ddtrace_core::tracing_layer())
///     .with(tracing_subscriber::fmt::layer().event_format(ddtrace_core::logs::json()))
///     .init();
/// // Finds the subscriber installed and keeps it.
/// let _guard = ddtrace_core::init();
/// ```
#[cfg(feature = "tracing-bridge")]
pub fn tracing_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    use tracing_subscriber::Layer;
    LAYER_GIVEN.store(true, Ordering::Relaxed);
    // The native layer works whenever the native pipeline runs, installed before or after
    // this call (outside a trace it records nothing). The OpenTelemetry layer binds to the
    // pipeline installed now.
    #[cfg(feature = "opentelemetry")]
    let native = Layer::and_then(otel::tracing_layer(), crate::native::NativeLayer);
    #[cfg(not(feature = "opentelemetry"))]
    let native = crate::native::NativeLayer;
    Layer::and_then(native, crate::outage::layer())
}

/// The layer that turns `tracing` spans into the OpenTelemetry pipeline's spans, when that
/// pipeline is the one installed.
#[cfg(feature = "tracing-bridge")]
type OtelLayer = Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;

/// Installs `init`'s subscriber: `otel` on the OpenTelemetry pipeline, the native layer
/// otherwise; `pipeline_diagnostics` lets that pipeline's own lines through.
#[cfg(feature = "tracing-bridge")]
fn install_subscriber(otel: Option<OtelLayer>, pipeline_diagnostics: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    let native = otel.is_none().then(crate::native::NativeLayer::default);
    // This project's lines (configuration warnings, the agent watcher's), and the pipeline's
    // own diagnostics only when asked for (`DD_LOG_LEVEL` selects which). The exporter's
    // per-payload events (`libdd_data_pipeline`) stay out: the watcher says the same once per
    // outage.
    // `ddtrace` exactly: a `Targets` directive would also take `ddtrace_examples` and every
    // other crate whose name starts the same, the application's own.
    let targets = tracing_subscriber::filter::filter_fn(move |meta| {
        let target = meta.target();
        (target == "ddtrace" && *meta.level() <= tracing::Level::INFO)
            || (pipeline_diagnostics && target.starts_with("datadog_opentelemetry"))
    });
    // Colour only on a terminal: escape codes in a log file or a collector are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_filter(targets);
    // The application's own events: JSON lines on standard output, correlated with the trace
    // current when they are written (`DD_LOGS_INJECTION`).
    let app_lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .event_format(crate::logs::LogCorrelation::from_env().json())
        .with_filter(app_log_targets(std::env::var("RUST_LOG").ok().as_deref()))
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            !is_tracer_target(meta.target())
        }));
    if tracing_subscriber::registry()
        .with(otel)
        .with(native)
        .with(crate::outage::layer())
        .with(lines)
        .with(app_lines)
        .try_init()
        .is_err()
        && !LAYER_GIVEN.load(Ordering::Relaxed)
    {
        tracing::info!(
            target: "ddtrace",
            "a tracing subscriber is already installed: add ddtrace_core::tracing_layer() to it so #[instrument] spans nest under request spans"
        );
    }
}

/// Which of the application's events `init` writes: `RUST_LOG`'s directives
/// (`info,my_app=debug`) when it is set and valid, else INFO and above.
#[cfg(feature = "tracing-bridge")]
fn app_log_targets(rust_log: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let asked = rust_log.filter(|v| !v.trim().is_empty()).and_then(|v| {
        v.parse::<Targets>()
            .map_err(|e| {
                crate::config::warn_env("RUST_LOG", v, &format!("{e}; writing INFO and above"))
            })
            .ok()
    });
    asked.unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

/// This project's own lines and the pipeline's: never among the application's (they have
/// their own, on standard error, or none).
#[cfg(feature = "tracing-bridge")]
fn is_tracer_target(target: &str) -> bool {
    target == "ddtrace"
        || target.starts_with("libdd_")
        || target.starts_with("datadog_opentelemetry")
}

/// Set once an application took [`tracing_layer`] for a subscriber of its own: `init` then
/// has nothing to say when it finds that subscriber installed.
#[cfg(feature = "tracing-bridge")]
static LAYER_GIVEN: AtomicBool = AtomicBool::new(false);

#[cfg(all(test, feature = "tracing-bridge"))]
mod tests {
    use super::{app_log_targets, is_tracer_target};
    use tracing::Level;

    #[test]
    fn the_apps_lines_follow_rust_log_and_never_include_the_tracers() {
        let default = app_log_targets(None);
        assert!(default.would_enable("my_app", &Level::INFO));
        assert!(!default.would_enable("my_app", &Level::DEBUG));
        let asked = app_log_targets(Some("warn,my_app=debug"));
        assert!(asked.would_enable("my_app", &Level::DEBUG));
        assert!(!asked.would_enable("hyper", &Level::INFO));
        assert!(is_tracer_target("ddtrace") && is_tracer_target("libdd_data_pipeline"));
        assert!(!is_tracer_target("ddtrace_examples") && !is_tracer_target("my_app"));
        // Not directives: the default, with a warning.
        let malformed = app_log_targets(Some("my_app=loud"));
        assert!(malformed.would_enable("my_app", &Level::INFO));
        assert!(!malformed.would_enable("my_app", &Level::DEBUG));
    }
}
