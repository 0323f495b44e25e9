//! Installing the Datadog pipeline, and the tracer request spans are started with.

use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{global, Context, KeyValue};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::Duration;

/// The tracer of the installed pipeline. Kept here rather than fetched from the global
/// provider per request: that would box every span and clone the provider each time.
static TRACER: RwLock<Option<SdkTracer>> = RwLock::new(None);

/// Whether [`init`] installed the pipeline: read on every request, so an atomic rather than a
/// second look through the lock.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The instrumentation scope of request spans: none. The pipeline's exporter turns a scope
/// name into an `otel.scope.name` tag on every span, which Datadog's tracers never send; an
/// empty name keeps the request span's tags theirs and spares the exporter that tag's work.
const SCOPE: &str = "";

/// True once [`init`] installed the Datadog pipeline (and so its propagator).
pub(crate) fn is_installed() -> bool {
    INSTALLED.load(Ordering::Acquire)
}

pub(crate) fn start_span(
    name: &'static str,
    kind: SpanKind,
    attrs: Vec<KeyValue>,
    parent: &Context,
) -> Context {
    let builder = SpanBuilder::from_name(name)
        .with_kind(kind)
        .with_attributes(attrs);
    let guard = TRACER.read().unwrap_or_else(|p| p.into_inner());
    let cx = handler_context(parent);
    match guard.as_ref() {
        Some(tracer) => cx.with_span(tracer.build_with_context(builder, parent)),
        // Not installed through `init`: use whatever provider the application installed.
        None => cx.with_span(global::tracer(SCOPE).build_with_context(builder, parent)),
    }
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
    provider: Option<SdkTracerProvider>,
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

    /// The installed tracer provider, for code that wants its own tracers.
    pub fn provider(&self) -> Option<&SdkTracerProvider> {
        self.provider.as_ref()
    }

    /// Sends every finished span to the agent now, waiting at most the shutdown timeout; the
    /// pipeline keeps running.
    pub fn flush(&self) {
        if let Some(exporter) = &self.native {
            exporter.flush(self.timeout);
        }
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
        if let Some(provider) = self.provider.take() {
            let mut slot = TRACER.write().unwrap_or_else(|p| p.into_inner());
            *slot = None;
            INSTALLED.store(false, Ordering::Release);
            drop(slot);
            if let Err(e) = provider.shutdown_with_timeout(self.timeout) {
                tracing::warn!(target: "ddtrace", "shutting the Datadog pipeline down: {e}");
            }
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
/// sampler and exported by libdatadog's exporter. `DDTRACE_RS_PIPELINE=opentelemetry` installs
/// the OpenTelemetry pipeline (`datadog-opentelemetry`) instead, for applications whose own
/// code uses the OpenTelemetry API (see [`init_with`]).
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
    if crate::native::requested() {
        match crate::native::install() {
            Ok(exporter) => {
                #[cfg(feature = "tracing-bridge")]
                install_subscriber(None, false);
                return TracerGuard {
                    provider: None,
                    native: Some(exporter),
                    timeout: Duration::from_secs(5),
                };
            }
            Err(e) => tracing::warn!(
                target: "ddtrace",
                "the native pipeline could not start ({e}); using the OpenTelemetry pipeline"
            ),
        }
    }
    init_with(datadog_opentelemetry::configuration::Config::builder().build())
}

/// Installs the OpenTelemetry pipeline (`datadog-opentelemetry`) with a configuration built
/// in code, as the global OpenTelemetry tracer provider and propagator: for applications whose
/// own code uses the OpenTelemetry API.
///
/// ```no_run
/// use ddtrace_core::datadog_opentelemetry::configuration::Config;
///
/// let mut builder = Config::builder();
/// builder.set_service("shop-api".to_string()).set_env("staging".to_string());
/// let _guard = ddtrace_core::init_with(builder.build());
/// ```
pub fn init_with(config: datadog_opentelemetry::configuration::Config) -> TracerGuard {
    #[cfg(feature = "tracing-bridge")]
    crate::outage::set_agent_url(&config.trace_agent_url());
    #[cfg(feature = "tracing-bridge")]
    let pipeline_diagnostics = pipeline_diagnostics_asked(&config);
    let provider = datadog_opentelemetry::tracing().with_config(config).init();
    let tracer = provider.tracer(SCOPE);
    *TRACER.write().unwrap_or_else(|p| p.into_inner()) = Some(tracer);
    INSTALLED.store(true, Ordering::Release);
    #[cfg(feature = "tracing-bridge")]
    install_subscriber(Some(&provider), pipeline_diagnostics);
    TracerGuard {
        provider: Some(provider),
        native: None,
        timeout: Duration::from_secs(5),
    }
}

/// Both pipelines in one process, for benches that compare this project's request spans (on
/// the native pipeline, `init`'s default) with OpenTelemetry peers (on the OpenTelemetry
/// pipeline `config` installs) side by side. Not for applications: OpenTelemetry spans do not
/// nest under native request spans.
#[doc(hidden)]
pub fn init_for_benches(config: datadog_opentelemetry::configuration::Config) -> TracerGuard {
    let mut guard = init_with(config);
    match crate::native::install() {
        Ok(exporter) => guard.native = Some(exporter),
        Err(e) => tracing::warn!(target: "ddtrace", "the native pipeline could not start ({e})"),
    }
    guard
}

/// The `tracing` layer for applications that build their own subscriber.
///
/// On the Datadog-native pipeline (the default) it may be built before or after [`init`].
/// On the OpenTelemetry pipeline it binds to the pipeline installed when it is built: build
/// it after [`init_with`] there.
///
/// It is two layers in one:
/// - tracing-opentelemetry bound to the installed pipeline, so `#[instrument]` spans nest under
///   request spans;
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
    let otel = is_installed()
        .then(|| tracing_opentelemetry::layer().with_tracer(global::tracer("tracing")));
    Layer::and_then(
        Layer::and_then(otel, crate::native::NativeLayer),
        crate::outage::layer(),
    )
}

/// Whether the user asked for the pipeline's own diagnostics: `DD_LOG_LEVEL` set, or a level
/// above the default set in code.
///
/// Not by default, because even at its default level (errors) the pipeline logs one line per
/// request whose propagation headers are malformed ("propagation headers present but no
/// configured extractor could recover a real trace"): any client could flood the log.
#[cfg(feature = "tracing-bridge")]
fn pipeline_diagnostics_asked(config: &datadog_opentelemetry::configuration::Config) -> bool {
    use datadog_opentelemetry::log::LevelFilter;
    std::env::var_os("DD_LOG_LEVEL").is_some_and(|v| !v.is_empty())
        || *config.log_level_filter() > LevelFilter::Error
}

#[cfg(feature = "tracing-bridge")]
fn install_subscriber(provider: Option<&SdkTracerProvider>, pipeline_diagnostics: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    let otel = provider.map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("tracing")));
    let native = provider.is_none().then(crate::native::NativeLayer::default);
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
