//! Log correlation: every log line written while a span of a trace is current carries
//! `dd.trace_id`, `dd.span_id`, `dd.service`, `dd.env` and `dd.version`, the attributes
//! Datadog joins logs to traces by.
//!
//! [`crate::init`] sets it up: the application's `tracing` events (and `log` records, through
//! `tracing-log`) go to standard output as JSON lines. An application with its own subscriber
//! wraps its formatter in [`LogCorrelation::format`], or takes [`json`]:
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//! use tracing_subscriber::util::SubscriberInitExt;
//!
//! tracing_subscriber::registry()
//!     .with(ddtrace_core::tracing_layer())
//!     .with(tracing_subscriber::fmt::layer().event_format(ddtrace_core::logs::json()))
//!     .try_init()
//!     .ok();
//! let _guard = ddtrace_core::init();
//! ```
//!
//! The formats follow Datadog's tracers:
//! - `dd.span_id`: the span id in decimal;
//! - `dd.trace_id`: 32 lower-case hex digits for a 128-bit trace id, unless
//!   `DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED=false`; the low 64 bits in decimal otherwise
//!   (and always for a 64-bit id). Datadog documents `true` as the default for all its SDKs
//!   (dd-trace-go's log integrations read it the same way).
//! - `DD_LOGS_INJECTION` turns it off with `false`. On by default, as in dd-trace-py since
//!   3.11 and dd-trace-rb: the lines this project writes are structured, and Datadog's tracers
//!   that inject into structured logs by default do so without being asked.
//!
//! Outside any trace the attributes are absent.

mod format;

pub use format::CorrelatedFormat;

use crate::config::lookup_flag;
use tracing_subscriber::fmt::format::{Format, Json};

/// What log lines are correlated with, read from the environment or set in code.
///
/// ```
/// use ddtrace_core::logs::LogCorrelation;
///
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let format = LogCorrelation::from_env().trace_id_128_bit(false).json();
/// let subscriber =
///     tracing_subscriber::registry().with(tracing_subscriber::fmt::layer().event_format(format));
/// # let _ = subscriber;
/// ```
#[derive(Clone, Debug)]
pub struct LogCorrelation {
    enabled: bool,
    trace_id_128_bit: bool,
    /// Used on the OpenTelemetry pipeline; the native one has them in each trace.
    #[cfg(feature = "opentelemetry")]
    service: std::sync::Arc<str>,
    #[cfg(feature = "opentelemetry")]
    env: std::sync::Arc<str>,
    #[cfg(feature = "opentelemetry")]
    version: std::sync::Arc<str>,
}

impl LogCorrelation {
    /// `DD_LOGS_INJECTION`, `DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED`, and `DD_SERVICE`,
    /// `DD_ENV` and `DD_VERSION` for the OpenTelemetry pipeline. A malformed flag is reported
    /// once and its default used.
    pub fn from_env() -> LogCorrelation {
        LogCorrelation::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> LogCorrelation {
        let flag = |name: &str, default: bool| lookup_flag(&lookup, name, default);
        #[cfg(feature = "opentelemetry")]
        let text = |name: &str| -> std::sync::Arc<str> {
            std::sync::Arc::from(
                lookup(name)
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default(),
            )
        };
        LogCorrelation {
            enabled: flag("DD_LOGS_INJECTION", true),
            trace_id_128_bit: flag("DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED", true),
            #[cfg(feature = "opentelemetry")]
            service: match text("DD_SERVICE") {
                service if service.is_empty() => crate::native::DEFAULT_SERVICE.into(),
                service => service,
            },
            #[cfg(feature = "opentelemetry")]
            env: text("DD_ENV"),
            #[cfg(feature = "opentelemetry")]
            version: text("DD_VERSION"),
        }
    }

    /// Turns the attributes on or off (`DD_LOGS_INJECTION`).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Writes a 128-bit trace id in full, as 32 hex digits (`DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED`).
    pub fn trace_id_128_bit(mut self, full: bool) -> Self {
        self.trace_id_128_bit = full;
        self
    }

    /// Wraps any `tracing-subscriber` event format: JSON lines get the attributes at their
    /// root, text lines get `dd.trace_id=… dd.span_id=…` pairs at their end.
    pub fn format<F>(self, inner: F) -> CorrelatedFormat<F> {
        CorrelatedFormat::new(self, inner)
    }

    /// `tracing-subscriber`'s JSON lines with the event's fields at the root (where Datadog
    /// looks for attributes), and the correlation attributes beside them.
    pub fn json(self) -> CorrelatedFormat<Format<Json>> {
        self.format(
            tracing_subscriber::fmt::format()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false),
        )
    }

    /// Whether lines get the attributes.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
}

/// [`LogCorrelation::from_env`]'s JSON lines.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let layer = tracing_subscriber::fmt::layer().event_format(ddtrace_core::logs::json());
/// let subscriber = tracing_subscriber::registry().with(layer);
/// # let _ = subscriber;
/// ```
pub fn json() -> CorrelatedFormat<Format<Json>> {
    LogCorrelation::from_env().json()
}

/// [`LogCorrelation::from_env`] around `tracing-subscriber`'s default text format.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let layer = tracing_subscriber::fmt::layer().event_format(ddtrace_core::logs::text());
/// let subscriber = tracing_subscriber::registry().with(layer);
/// # let _ = subscriber;
/// ```
pub fn text() -> CorrelatedFormat<Format> {
    LogCorrelation::from_env().format(tracing_subscriber::fmt::format())
}

/// The span current on this thread, for a log line.
pub(crate) enum Ids {
    /// A native span: its trace has the service, env and version.
    Native(crate::native::Current),
    /// An OpenTelemetry span: the settings have them.
    #[cfg(feature = "opentelemetry")]
    OpenTelemetry { trace_id: u128, span_id: u64 },
}

impl Ids {
    /// The span current on this thread, if any: the cheap look first (the native pipeline's
    /// current span), the OpenTelemetry pipeline's only when it is installed.
    pub(crate) fn current() -> Option<Ids> {
        if let Some(current) = crate::native::Current::get() {
            return Some(Ids::Native(current));
        }
        Self::opentelemetry()
    }

    /// The OpenTelemetry pipeline's current span, when that pipeline is installed.
    #[cfg(not(feature = "opentelemetry"))]
    fn opentelemetry() -> Option<Ids> {
        None
    }

    /// The OpenTelemetry pipeline's current span, when that pipeline is installed.
    #[cfg(feature = "opentelemetry")]
    fn opentelemetry() -> Option<Ids> {
        if !crate::pipeline::is_installed() {
            return None;
        }
        use opentelemetry::trace::TraceContextExt;
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        let from = |cx: &opentelemetry::Context| {
            let span = cx.span();
            let sc = span.span_context();
            sc.is_valid().then(|| Ids::OpenTelemetry {
                trace_id: u128::from_be_bytes(sc.trace_id().to_bytes()),
                span_id: u64::from_be_bytes(sc.span_id().to_bytes()),
            })
        };
        from(&tracing::Span::current().context())
            .or_else(|| opentelemetry::Context::map_current(from))
    }

    pub(crate) fn trace_id(&self) -> u128 {
        match self {
            Ids::Native(current) => current.trace.trace_id(),
            #[cfg(feature = "opentelemetry")]
            Ids::OpenTelemetry { trace_id, .. } => *trace_id,
        }
    }

    pub(crate) fn span_id(&self) -> u64 {
        match self {
            Ids::Native(current) => current.span_id,
            #[cfg(feature = "opentelemetry")]
            Ids::OpenTelemetry { span_id, .. } => *span_id,
        }
    }

    /// Service, env and version (from `settings` on the OpenTelemetry pipeline).
    #[cfg_attr(not(feature = "opentelemetry"), allow(unused_variables))]
    pub(crate) fn unified<'a>(&'a self, settings: &'a LogCorrelation) -> [&'a str; 3] {
        match self {
            Ids::Native(current) => {
                let s = current.trace.settings();
                let text = |t: &'a Option<libdd_tinybytes::BytesString>| {
                    t.as_ref().map_or("", |t| t.as_str())
                };
                [s.service.as_str(), text(&s.env), text(&s.version)]
            }
            #[cfg(feature = "opentelemetry")]
            Ids::OpenTelemetry { .. } => [&settings.service, &settings.env, &settings.version],
        }
    }
}

#[cfg(test)]
mod tests;
