//! One warning when traces stop reaching the agent, one line when they reach it again.
//!
//! The pipeline reports each failed send through `tracing` from `libdd-data-pipeline`: an
//! error per payload, so once a second while the agent is down. Printed as is that floods the
//! application's log; filtered out, as [`crate::init`]'s subscriber did before this existed,
//! nobody learns that traces are being dropped. This layer watches only those events (and the
//! debug event of a successful send) and turns each outage into one `ddtrace` warning and one
//! recovery line.
//!
//! Events are recognised by their metadata, never by formatting a message: the target is the
//! exporter's module and each kind has a field of its own. `core/tests/outage.rs` runs the real
//! pipeline against a closed port and a live agent, so an upgrade that renames them fails there.

use std::sync::{Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};
use tracing::dispatcher::WeakDispatch;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter, Layer};

/// Where the pipeline's trace exporter sends its events from.
const EXPORTER_TARGET: &str = "libdd_data_pipeline::trace_exporter";

/// After this long without a failed send, a failure starts a new outage even if no success was
/// seen in between. A subscriber that filters out debug events (an `EnvFilter` at `info`, or
/// tracing's `max_level_*` features) hides the success event; without this an application
/// would hear about its first outage only.
const REARM_AFTER: Duration = Duration::from_secs(300);

/// The longest reason quoted from the pipeline's error.
const MAX_REASON: usize = 300;

/// The agent URL the pipeline was configured with, for the messages.
static AGENT_URL: RwLock<Option<String>> = RwLock::new(None);

/// The state every watcher shares: there is one pipeline per process, so two subscribers (or a
/// layer added twice) still announce an outage once.
static STATE: Mutex<Watch> = Mutex::new(Watch::new());

pub(crate) fn set_agent_url(url: &str) {
    *AGENT_URL.write().unwrap_or_else(|p| p.into_inner()) = Some(url.to_string());
}

/// What one exporter event says about the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// A payload could not be delivered (after the pipeline's retries).
    Failed,
    /// A payload was accepted.
    Delivered,
}

fn classify(meta: &Metadata<'_>) -> Option<Outcome> {
    if !meta.is_event() || meta.target() != EXPORTER_TARGET {
        return None;
    }
    let has = |name: &str| meta.fields().field(name).is_some();
    match *meta.level() {
        // `error!(?err, "Error sending traces")`: refused, timed out, unreadable answer, 5xx
        Level::ERROR if has("err") => Some(Outcome::Failed),
        // `warn!(status, "Agent returned non-success status for trace send")`
        Level::WARN if has("status") => Some(Outcome::Failed),
        // `debug!(chunks, "Trace chunks sent successfully to agent")`
        Level::DEBUG if has("chunks") => Some(Outcome::Delivered),
        _ => None,
    }
}

/// What to tell the user after an event.
#[derive(Debug, PartialEq, Eq)]
enum Announcement {
    OutageBegan,
    OutageEnded { failed_sends: u64, lasted: Duration },
}

/// The outage state machine, kept free of clocks and I/O so it is tested directly.
#[derive(Debug)]
struct Watch {
    /// When the current outage began, if there is one.
    since: Option<Instant>,
    last_failure: Option<Instant>,
    failed_sends: u64,
}

impl Watch {
    const fn new() -> Self {
        Watch {
            since: None,
            last_failure: None,
            failed_sends: 0,
        }
    }

    fn observe(&mut self, outcome: Outcome, now: Instant) -> Option<Announcement> {
        match outcome {
            Outcome::Failed => {
                let stale = self
                    .last_failure
                    .is_some_and(|t| now.saturating_duration_since(t) >= REARM_AFTER);
                self.last_failure = Some(now);
                if self.since.is_some() && !stale {
                    self.failed_sends += 1;
                    return None;
                }
                self.since = Some(now);
                self.failed_sends = 1;
                Some(Announcement::OutageBegan)
            }
            Outcome::Delivered => {
                let since = self.since.take()?;
                Some(Announcement::OutageEnded {
                    failed_sends: std::mem::take(&mut self.failed_sends),
                    lasted: now.saturating_duration_since(since),
                })
            }
        }
    }
}

/// The per-layer filter: only the exporter's send outcomes reach the watcher, so every other
/// event in the application costs it nothing (the decision is cached per callsite).
struct ExportOutcomes;

impl<S> Filter<S> for ExportOutcomes {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        classify(meta).is_some()
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if classify(meta).is_some() {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::DEBUG)
    }
}

/// Turns the exporter's per-payload events into one line per outage.
#[derive(Default)]
struct OutageWatch {
    /// The subscriber this layer is part of, to send its own lines to.
    dispatch: OnceLock<WeakDispatch>,
}

impl<S: Subscriber> Layer<S> for OutageWatch {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let Some(outcome) = classify(event.metadata()) else {
            return;
        };
        let Some(announcement) = STATE
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .observe(outcome, Instant::now())
        else {
            return;
        };
        let line = announce(announcement, || {
            let mut reason = Reason::default();
            event.record(&mut reason);
            reason.text().to_string()
        });
        self.emit(line);
    }
}

enum Line {
    Warn(String),
    Info(String),
}

/// The line for an announcement; `reason` says why sends fail, in plain words.
fn announce(announcement: Announcement, reason: impl FnOnce() -> String) -> Line {
    let url = AGENT_URL.read().unwrap_or_else(|p| p.into_inner()).clone();
    let url = url.as_deref().unwrap_or("(not configured)");
    match announcement {
        Announcement::OutageBegan => Line::Warn(format!(
            "traces are not reaching the Datadog Agent at {url} ({}); they are dropped until it is reachable again (logged once per outage)",
            reason()
        )),
        Announcement::OutageEnded {
            failed_sends,
            lasted,
        } => Line::Info(format!(
            "traces reach the Datadog Agent at {url} again, after {failed_sends} failed sends over {} s",
            lasted.as_secs()
        )),
    }
}

impl OutageWatch {
    /// Sends the line from a short-lived thread, never from inside `on_event`: an event
    /// dispatched while another is being dispatched corrupts the subscriber's per-layer filter
    /// state, and the outer event (the pipeline's error) would then be printed by a layer
    /// that filters it out. This runs once per outage, so a thread is cheap.
    fn emit(&self, line: Line) {
        let dispatch = self.dispatch.get().and_then(WeakDispatch::upgrade);
        let spawned = std::thread::Builder::new()
            .name("ddtrace-outage".into())
            .spawn(move || {
                let send = || match &line {
                    Line::Warn(m) => tracing::warn!(target: "ddtrace", "{m}"),
                    Line::Info(m) => tracing::info!(target: "ddtrace", "{m}"),
                };
                match dispatch {
                    Some(d) => tracing::dispatcher::with_default(&d, send),
                    None => send(),
                }
            });
        // Without a thread the line is lost; the outage itself changes nothing for the app.
        drop(spawned);
    }
}

/// The native pipeline's exporter reports each send's outcome here directly (no event to
/// watch): the same one warning per outage and one line when traces reach the agent again.
pub(crate) fn report(outcome: &crate::export::Outcome) {
    use crate::export::Outcome as Sent;
    let (observed, reason) = match outcome {
        Sent::Failed(reason) => (Outcome::Failed, reason.as_str()),
        Sent::Delivered | Sent::Rates(_) => (Outcome::Delivered, ""),
    };
    let Some(announcement) = STATE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .observe(observed, Instant::now())
    else {
        return;
    };
    let line = announce(announcement, || reason.chars().take(MAX_REASON).collect());
    OutageWatch::default().emit(line);
}

/// The watcher with its filter, for [`crate::init`]'s subscriber and [`crate::tracing_layer`].
pub(crate) fn layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    OutageWatch::default().with_filter(ExportOutcomes)
}

/// The failure's own words, bounded: the `err` field's `Debug` or the agent's `status`.
#[derive(Default)]
struct Reason(String);

impl Reason {
    fn text(&self) -> &str {
        if self.0.is_empty() {
            "no reason given"
        } else {
            &self.0
        }
    }

    /// `SendWithRetryError` is recorded with its `Debug` only (see [`debug_text`]): said here
    /// in a reader's words where its variant allows, quoted otherwise.
    fn push_error(&mut self, debug: &str) {
        let after = |needle: &str| debug.split_once(needle).map(|(_, rest)| rest);
        let variant = debug.split('(').next().unwrap_or("");
        match variant {
            "Http" => match after("status: ")
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            {
                Some(code) if !code.is_empty() => self.push(&format!("the agent answered {code}")),
                _ => self.push("the agent answered with an error"),
            },
            "Timeout" => self.push("no answer before the timeout"),
            "ResponseBody" => self.push("the agent's answer could not be read"),
            "Network" => match after("message: \"").and_then(|rest| rest.split('"').next()) {
                Some(message) => self.push(&format!("network error: {message}")),
                None => self.push(debug),
            },
            _ => self.push(debug),
        }
    }

    fn push(&mut self, value: &str) {
        let end = (0..=MAX_REASON.min(value.len()))
            .rev()
            .find(|&i| value.is_char_boundary(i))
            .unwrap_or(0);
        self.0.push_str(&value[..end]);
    }
}

impl Visit for Reason {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "status" {
            self.push(&format!("the agent answered {value}"));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "status" {
            self.push(&format!("the agent answered {value}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "err" {
            self.push_error(&debug_text(value));
        }
    }
}

/// An error's `Debug`, in its alternate form and bounded.
///
/// The alternate form matters: the pipeline's network errors are `anyhow` errors, which
/// capture a backtrace when `RUST_BACKTRACE` is set, and their plain `Debug` resolves and
/// prints it: hundreds of milliseconds of CPU and tens of MiB of debug information kept for
/// the life of the process (measured under load: p99 up by half, RSS up by 40 MiB). Their
/// alternate `Debug` is the underlying error's, without the backtrace.
fn debug_text(value: &dyn std::fmt::Debug) -> String {
    struct Bounded(String);
    impl std::fmt::Write for Bounded {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.push_str(s);
            if self.0.len() > 8 * MAX_REASON {
                return Err(std::fmt::Error);
            }
            Ok(())
        }
    }
    let mut out = Bounded(String::new());
    // An error here only means the text was long enough.
    let _ = std::fmt::write(&mut out, format_args!("{value:#?}"));
    out.0.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, secs: u64) -> Instant {
        start + Duration::from_secs(secs)
    }

    #[test]
    fn one_announcement_per_outage_and_one_when_it_ends() {
        let t0 = Instant::now();
        let mut w = Watch::new();
        assert_eq!(w.observe(Outcome::Delivered, t0), None);
        assert_eq!(
            w.observe(Outcome::Failed, at(t0, 1)),
            Some(Announcement::OutageBegan)
        );
        for s in 2..60 {
            assert_eq!(w.observe(Outcome::Failed, at(t0, s)), None);
        }
        assert_eq!(
            w.observe(Outcome::Delivered, at(t0, 61)),
            Some(Announcement::OutageEnded {
                failed_sends: 59,
                lasted: Duration::from_secs(60)
            })
        );
        assert_eq!(w.observe(Outcome::Delivered, at(t0, 62)), None);
        assert_eq!(
            w.observe(Outcome::Failed, at(t0, 63)),
            Some(Announcement::OutageBegan),
            "a second outage is announced again"
        );
    }

    #[test]
    fn a_failure_after_long_quiet_is_a_new_outage_even_without_a_seen_success() {
        let t0 = Instant::now();
        let mut w = Watch::new();
        assert!(w.observe(Outcome::Failed, t0).is_some());
        assert_eq!(w.observe(Outcome::Failed, at(t0, 299)), None);
        assert_eq!(w.observe(Outcome::Failed, at(t0, 598)), None);
        assert_eq!(
            w.observe(Outcome::Failed, at(t0, 898)),
            Some(Announcement::OutageBegan)
        );
    }

    #[test]
    fn only_the_exporters_send_outcomes_are_watched() {
        use tracing::callsite::Identifier;
        use tracing::field::FieldSet;
        use tracing::metadata::Kind;

        struct Site;
        impl tracing::Callsite for Site {
            fn set_interest(&self, _: Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unreachable!("not registered")
            }
        }
        static SITE: Site = Site;
        let meta = |target: &'static str, level: Level, fields: &'static [&'static str]| {
            Metadata::new(
                "event",
                target,
                level,
                None,
                None,
                None,
                FieldSet::new(fields, Identifier(&SITE)),
                Kind::EVENT,
            )
        };
        let exporter = EXPORTER_TARGET;
        assert_eq!(
            classify(&meta(exporter, Level::ERROR, &["message", "err"])),
            Some(Outcome::Failed)
        );
        assert_eq!(
            classify(&meta(exporter, Level::WARN, &["message", "status"])),
            Some(Outcome::Failed)
        );
        assert_eq!(
            classify(&meta(exporter, Level::DEBUG, &["message", "chunks"])),
            Some(Outcome::Delivered)
        );
        // the same shapes elsewhere, or other events of the exporter, are not outcomes
        assert_eq!(
            classify(&meta("my_app", Level::ERROR, &["message", "err"])),
            None
        );
        assert_eq!(classify(&meta(exporter, Level::ERROR, &["message"])), None);
        assert_eq!(
            classify(&meta(exporter, Level::DEBUG, &["message", "trace_count"])),
            None
        );
    }

    #[test]
    fn a_quoted_reason_is_bounded_on_a_character_boundary() {
        let mut r = Reason::default();
        r.push(&"é".repeat(1_000));
        assert!(r.0.len() <= MAX_REASON);
        assert!(r.0.chars().all(|c| c == 'é'));
        assert_eq!(Reason::default().text(), "no reason given");
    }

    #[test]
    fn http_errors_and_timeouts_are_said_plainly() {
        let reason_of = |debug: &str| {
            let mut r = Reason::default();
            r.push_error(debug);
            r.0
        };
        assert_eq!(
            reason_of("Http(Response { status: 500, version: HTTP/1.1, headers: {} }, 6)"),
            "the agent answered 500"
        );
        assert_eq!(reason_of("Timeout(6)"), "no answer before the timeout");
        assert_eq!(reason_of("Build(1)"), "Build(1)");
    }

    #[test]
    fn an_errors_plain_debug_with_its_backtrace_is_never_used() {
        /// Behaves like `anyhow::Error`: the plain `Debug` resolves a backtrace.
        struct LikeAnyhow;
        impl std::fmt::Debug for LikeAnyhow {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                assert!(f.alternate(), "the plain Debug resolves the backtrace");
                f.debug_struct("Os")
                    .field("code", &111)
                    .field("message", &"Connection refused")
                    .finish()
            }
        }
        #[derive(Debug)]
        #[allow(dead_code)] // read through Debug only
        enum SendWithRetryError {
            Network(LikeAnyhow, u32),
        }
        let text = debug_text(&SendWithRetryError::Network(LikeAnyhow, 6));
        assert!(!text.contains('\n'), "{text}");
        let mut r = Reason::default();
        r.push_error(&text);
        assert_eq!(r.text(), "network error: Connection refused");
    }

    #[test]
    fn a_long_debug_is_cut_while_formatting() {
        struct Endless;
        impl std::fmt::Debug for Endless {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                loop {
                    f.write_str("Network(")?;
                }
            }
        }
        let text = debug_text(&Endless);
        assert!(text.len() <= 8 * MAX_REASON + 8);
        let mut r = Reason::default();
        r.push_error(&text);
        assert!(r.text().len() <= MAX_REASON);
    }
}
