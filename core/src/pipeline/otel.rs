//! The OpenTelemetry pipeline (`datadog-opentelemetry`), behind the `opentelemetry` feature:
//! for applications whose own code creates spans with the OpenTelemetry API.

use super::{TracerGuard, SCOPE};
use opentelemetry::trace::{SpanBuilder, Tracer, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::Duration;

/// The tracer of the installed pipeline. Kept here rather than fetched from the global
/// provider per request: that would box every span and clone the provider each time.
static TRACER: RwLock<Option<SdkTracer>> = RwLock::new(None);

/// Whether [`init_with`] installed the pipeline: read on every request, so an atomic rather
/// than a second look through the lock.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// True once [`init_with`] installed the OpenTelemetry pipeline (and so its propagator).
pub(crate) fn is_installed() -> bool {
    INSTALLED.load(Ordering::Acquire)
}

/// Starts `builder` on the installed pipeline's tracer, or gives it back when there is none.
pub(super) fn start(
    builder: SpanBuilder,
    parent: &Context,
) -> Result<opentelemetry_sdk::trace::Span, SpanBuilder> {
    let guard = TRACER.read().unwrap_or_else(|p| p.into_inner());
    match guard.as_ref() {
        Some(tracer) => Ok(tracer.build_with_context(builder, parent)),
        None => Err(builder),
    }
}

/// Uninstalls the pipeline and shuts its provider down, flushing what it holds.
pub(super) fn shutdown(provider: SdkTracerProvider, timeout: Duration) {
    let mut slot = TRACER.write().unwrap_or_else(|p| p.into_inner());
    *slot = None;
    INSTALLED.store(false, Ordering::Release);
    drop(slot);
    if let Err(e) = provider.shutdown_with_timeout(timeout) {
        tracing::warn!(target: "ddtrace", "shutting the Datadog pipeline down: {e}");
    }
}

/// Installs the OpenTelemetry pipeline (`datadog-opentelemetry`) with a configuration built
/// in code, as the global OpenTelemetry tracer provider and propagator: for applications whose
/// own code uses the OpenTelemetry API. Needs the `opentelemetry` feature.
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
    super::install_subscriber(
        Some(Box::new(
            tracing_opentelemetry::layer().with_tracer(provider.tracer("tracing")),
        )),
        pipeline_diagnostics,
    );
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

/// tracing-opentelemetry bound to the pipeline installed now, if any (for `tracing_layer`).
#[cfg(feature = "tracing-bridge")]
pub(super) fn tracing_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    is_installed().then(|| {
        tracing_opentelemetry::layer().with_tracer(opentelemetry::global::tracer("tracing"))
    })
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
