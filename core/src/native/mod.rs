//! The Datadog-native pipeline: request spans built by the core as Datadog spans, propagated by
//! the core's engine, sampled by libdatadog's sampler and exported by libdatadog's exporter,
//! with no OpenTelemetry SDK in between.
//!
//! [`crate::init`] installs it unless `DDTRACE_RS_PIPELINE=opentelemetry` asks for the
//! OpenTelemetry pipeline (built with the `opentelemetry` feature). Request spans, their
//! propagation, outgoing requests made through [`crate::ClientSpan`] and `tracing` spans inside
//! a request are native.

mod attributes;
mod current;
mod inline_text;
mod kept_text;
#[cfg(feature = "tracing-bridge")]
mod layer;
mod settings;

#[cfg(all(feature = "opentelemetry", feature = "tracing-bridge"))]
pub(crate) use settings::DEFAULT_SERVICE;

pub(crate) use attributes::{apply, key_text, text, value_text, StaticTags};
pub(crate) use current::{Current, Entered};
pub(crate) use inline_text::{short_text, PushStr, TextBuf};
pub(crate) use kept_text::{kept_str, kept_text};
#[cfg(feature = "tracing-bridge")]
pub(crate) use layer::NativeLayer;

use crate::export::{Exporter, Outcome};
use crate::trace::TraceSettings;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The installed native pipeline's settings.
static NATIVE: RwLock<Option<Arc<TraceSettings>>> = RwLock::new(None);
/// Read on every request before the lock: most processes never install the native pipeline.
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Changes at every install and uninstall; a thread's copy of the settings serves while it
/// holds the current value.
static GENERATION: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's own copy of the installed settings. A request reads the lock and clones
    /// the shared `Arc` otherwise: both write a word every request thread shares, which then
    /// moves from core to core on every request of a multi-threaded server. A copy of its own
    /// (its texts are static; the same sampler and exporter) is counted on this thread alone.
    static LOCAL: RefCell<Option<(u64, Arc<TraceSettings>)>> = const { RefCell::new(None) };
}

/// The environment variable that selects the pipeline `init` installs.
pub(crate) const PIPELINE_VAR: &str = "DDTRACE_RS_PIPELINE";

/// Whether `init` installs the native pipeline: unless `DDTRACE_RS_PIPELINE` names the
/// OpenTelemetry one (`opentelemetry` or `otel`) and this build has it. Anything else is
/// reported once and the native pipeline is used.
pub(crate) fn requested() -> bool {
    let value = std::env::var(PIPELINE_VAR).ok();
    let (native, complaint) = choose(value.as_deref(), cfg!(feature = "opentelemetry"));
    if let Some(complaint) = complaint {
        crate::config::warn_env(PIPELINE_VAR, value.as_deref().unwrap_or(""), complaint);
    }
    native
}

/// (native?, what to report) for `DDTRACE_RS_PIPELINE`'s value, in a build with or without
/// the OpenTelemetry pipeline (the `opentelemetry` feature).
fn choose(value: Option<&str>, opentelemetry_built: bool) -> (bool, Option<&'static str>) {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "native") => (true, None),
        Some("opentelemetry" | "otel") if opentelemetry_built => (false, None),
        Some("opentelemetry" | "otel") => (
            true,
            Some("this build has no OpenTelemetry pipeline (ddtrace-core's `opentelemetry` feature); using the native pipeline"),
        ),
        Some(_) => (
            true,
            Some("expected native or opentelemetry; using the native pipeline"),
        ),
    }
}

/// The native pipeline, when it is installed.
pub(crate) fn installed() -> Option<Arc<TraceSettings>> {
    if !INSTALLED.load(Ordering::Acquire) {
        return None;
    }
    let generation = GENERATION.load(Ordering::Acquire);
    LOCAL
        .try_with(|local| {
            let mut local = local.try_borrow_mut().ok()?;
            if let Some((seen, settings)) = local.as_ref() {
                if *seen == generation {
                    return Some(Some(settings.clone()));
                }
            }
            let own = shared().map(|settings| Arc::new(TraceSettings::clone(&settings)));
            *local = own.clone().map(|own| (generation, own));
            Some(own)
        })
        .ok()
        .flatten()
        // A thread being torn down, or a reentrant call: the shared settings.
        .unwrap_or_else(shared)
}

fn shared() -> Option<Arc<TraceSettings>> {
    NATIVE.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Installs the native pipeline configured from the environment; the exporter is returned for
/// the guard to flush at shutdown.
pub(crate) fn install() -> Result<Arc<Exporter>, String> {
    let lookup = |name: &str| std::env::var(name).ok();
    let env = settings::Env::read(lookup);
    #[cfg(feature = "tracing-bridge")]
    crate::outage::set_agent_url(env.url());
    let sampler = Arc::new(crate::sampling::Sampler::from_lookup(lookup));
    let rates = sampler.clone();
    let on_outcome = Box::new(move |outcome: Outcome| {
        if let Outcome::Rates(body) = &outcome {
            rates.agent_rates(body);
        }
        #[cfg(feature = "tracing-bridge")]
        crate::outage::report(&outcome);
    });
    let exporter = Arc::new(Exporter::start(env.exporter_config(), on_outcome)?);
    let settings = Arc::new(env.trace_settings(sampler, exporter.clone()));
    *NATIVE.write().unwrap_or_else(|p| p.into_inner()) = Some(settings);
    GENERATION.fetch_add(1, Ordering::AcqRel);
    INSTALLED.store(true, Ordering::Release);
    Ok(exporter)
}

/// Uninstalls the native pipeline (the guard then flushes the exporter).
pub(crate) fn uninstall() {
    INSTALLED.store(false, Ordering::Release);
    *NATIVE.write().unwrap_or_else(|p| p.into_inner()) = None;
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// The error recorded with `record_error` from inside the handler of `span`, if any.
pub(crate) fn take_recorded_error(span: &crate::trace::ActiveSpan) -> Option<crate::ErrorInfo> {
    span.trace().take_error(span.span_id())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pipeline_variable() {
        use super::choose;
        assert_eq!(choose(None, true), (true, None));
        assert_eq!(choose(Some(" Native "), true), (true, None));
        assert_eq!(choose(Some("OpenTelemetry"), true), (false, None));
        assert_eq!(choose(Some("otel"), true), (false, None));
        assert!(matches!(choose(Some("jaeger"), true), (true, Some(_))));
        // A build without the feature has only the native pipeline, and says so.
        assert!(
            matches!(choose(Some("opentelemetry"), false), (true, Some(c)) if c.contains("feature"))
        );
        assert_eq!(choose(None, false), (true, None));
    }
}
