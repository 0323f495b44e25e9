//! The groups of checks every conformance app runs.

use crate::app::{self, App, AppSpec, Stopped};
use crate::assertions;
use crate::capture::CaptureServer;
use crate::http1::{self, Response};
use crate::spans::{meta, u64_field, Spans};
use crate::{Report, TestAgent};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The header tag every suite request carries, so each server span can be found.
const REQUEST_ID_TAG: &str = "conformance.request_id";
const REQUEST_ID_HEADER_TAGS: &str = "x-request-id:conformance.request_id";
const USER_AGENT: &str = "conformance-suite/1.0";

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn unique_service(spec: &AppSpec, group: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "conformance-{}-{group}-{}-{}",
        spec.framework,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `drive` against a fresh app, stops it with SIGTERM, and returns its spans.
fn run_app<T>(
    spec: &AppSpec,
    agent: &TestAgent,
    group: &str,
    environment: &[(String, String)],
    drive: impl FnOnce(&App) -> T,
) -> (T, Stopped, Spans, String) {
    let binary = app::build_for(spec, environment);
    let service = unique_service(spec, group);
    let mut app = App::start(&binary, &agent.url(), &service, environment);
    let out = drive(&app);
    let stopped = app.stop(Duration::from_secs(6));
    // The app flushed on SIGTERM before exiting; the agent has stored what it acknowledged.
    let spans = Spans::of_service(agent.traces(), &service);
    (out, stopped, spans, service)
}

fn get(app: &App, target: &str, id: &str, extra: &[(&str, &str)]) -> Result<Response, String> {
    let mut headers = vec![("x-request-id", id), ("user-agent", USER_AGENT)];
    headers.extend_from_slice(extra);
    http1::request(app.port, "GET", target, &headers, b"").map_err(|e| format!("GET {target}: {e}"))
}

fn check_stop(report: &mut Report, stopped: &Stopped) {
    report.check(
        stopped.status.is_some_and(|s| s.success()) && stopped.elapsed < Duration::from_secs(5),
        || format!("SIGTERM: expected exit 0 within 5 s, got {stopped:?}"),
    );
}

fn meta_eq(report: &mut Report, span: &Value, id: &str, tag: &str, expected: &str) {
    report.check(meta(span, tag) == Some(expected), || {
        format!(
            "{id}: meta {tag} = {:?}, expected {expected:?}",
            meta(span, tag)
        )
    });
}

fn meta_absent(report: &mut Report, span: &Value, id: &str, tag: &str) {
    report.check(meta(span, tag).is_none(), || {
        format!(
            "{id}: meta {tag} should be absent, is {:?}",
            meta(span, tag)
        )
    });
}

/// Checks what every server span of `spec` carries.
fn common(report: &mut Report, spec: &AppSpec, span: &Value, id: &str, service: &str) {
    let op = format!("{}.request", spec.framework);
    report.check(span["name"] == op.as_str(), || {
        format!("{id}: name {} != {op}", span["name"])
    });
    report.check(span["type"] == "web", || {
        format!("{id}: type {}", span["type"])
    });
    report.check(span["service"] == service, || {
        format!("{id}: service {}", span["service"])
    });
    meta_eq(report, span, id, "component", spec.framework);
    meta_eq(report, span, id, "span.kind", "server");
    // Datadog's tracers send no OpenTelemetry instrumentation scope.
    meta_absent(report, span, id, "otel.scope.name");
    report.check(span["metrics"]["_sampling_priority_v1"].is_number(), || {
        format!("{id}: no _sampling_priority_v1 on the local root")
    });
}

fn error_flag(span: &Value) -> u64 {
    span["error"].as_u64().unwrap_or(0)
}

fn load_vectors(file: &str) -> Value {
    let path = crate::workspace_root().join("tests/vectors").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

mod client;
mod config;
mod defaults;
mod hooks;
mod http_vectors;
mod logs;
mod propagation;
mod routes;
mod switch;
/// The names listed in `tests/vectors/OPENTELEMETRY_GAPS.md` (lines starting with ``- `name` ``).
/// Returns (listed gaps, those marked `(nondeterministic)`, which may pass or fail).
fn known_gaps() -> (HashSet<String>, HashSet<String>) {
    let path = crate::workspace_root().join("tests/vectors/OPENTELEMETRY_GAPS.md");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut gaps = HashSet::new();
    let mut either = HashSet::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("- `") else {
            continue;
        };
        let Some((name, after)) = rest.split_once('`') else {
            continue;
        };
        gaps.insert(name.to_string());
        if after.trim_start().starts_with("(nondeterministic)") {
            either.insert(name.to_string());
        }
    }
    (gaps, either)
}

/// Compares vector outcomes with the known-gaps list, both ways: a new failure fails the run,
/// and so does a listed gap that now passes (the list must stay true).
fn settle_gaps(
    report: &mut Report,
    framework: &str,
    outcomes: &BTreeMap<String, Result<(), String>>,
) {
    let (gaps, either) = known_gaps();
    let mut failed = 0;
    let mut unlisted = 0;
    for (name, outcome) in outcomes {
        if either.contains(name) {
            failed += usize::from(outcome.is_err());
            continue;
        }
        match (outcome, gaps.contains(name)) {
            (Err(e), false) => {
                failed += 1;
                unlisted += 1;
                report.check(false, || format!("vector {name}: {e}"));
            }
            (Ok(()), true) => report.check(false, || {
                format!(
                    "vector {name} passes now: remove it from tests/vectors/OPENTELEMETRY_GAPS.md"
                )
            }),
            (Err(_), true) => failed += 1,
            (Ok(()), false) => report.check(true, String::new),
        }
    }
    println!(
        "{framework}: {} of {} vectors pass; {failed} fail, {unlisted} of them not in OPENTELEMETRY_GAPS.md",
        outcomes.len() - failed,
        outcomes.len(),
    );
}

/// Percent-encodes a query component (everything but unreserved characters).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

mod agent_failures;
mod concurrency;

pub use agent_failures::agent_failures;
pub use client::client_spans;
pub use concurrency::concurrency_and_disconnects;
pub use config::config_variants;
pub use defaults::defaults_and_privacy;
pub use hooks::hooks;
pub use http_vectors::http_vectors;
pub use logs::log_correlation;
pub use propagation::{propagation_vectors, propagation_vectors_opentelemetry};
pub use routes::routes;
pub use switch::switched_off;
