//! Correlated lines, written through `tracing-subscriber` into a buffer.

use super::*;
use crate::native::{Current, NativeLayer};
use crate::trace::tests_support;
use std::sync::{Arc, Mutex};
use tracing_subscriber::layer::SubscriberExt;

/// The lines a subscriber with `format` writes while `f` runs.
fn lines<F>(format: F, f: impl FnOnce()) -> Vec<String>
where
    F: tracing_subscriber::fmt::FormatEvent<
            tracing_subscriber::Registry,
            tracing_subscriber::fmt::format::DefaultFields,
        > + Send
        + Sync
        + 'static,
{
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let out = buffer.clone();
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(move || out.clone())
        .event_format(format);
    // The native layer makes `tracing` spans inside a trace Datadog spans of it.
    let subscriber = tracing_subscriber::registry().with(layer).with(NativeLayer);
    tracing::subscriber::with_default(subscriber, f);
    let bytes = buffer.0.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn settings(pairs: &'static [(&'static str, &'static str)]) -> LogCorrelation {
    LogCorrelation::from_lookup(crate::config::lookup_in(pairs))
}

/// A trace whose id is `trace_id`, current on this thread while `f` runs, with span `span_id`.
fn in_trace(f: impl FnOnce()) -> (u128, u64) {
    let trace = tests_support::trace();
    let current = Current {
        trace: trace.clone(),
        span_id: 42,
    };
    let _entered = current.enter();
    f();
    (trace.trace_id(), 42)
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

#[test]
fn a_json_line_in_a_trace_has_the_ids_at_its_root() {
    let mut ids = (0, 0);
    let out = lines(settings(&[]).json(), || {
        ids = in_trace(|| tracing::info!(user = 7, "charged"));
    });
    let line = json(&out[0]);
    let (trace_id, span_id) = ids;
    assert!(trace_id >> 64 != 0, "generated ids are 128-bit");
    assert_eq!(line["dd.trace_id"], format!("{trace_id:032x}"));
    assert_eq!(line["dd.span_id"], span_id.to_string());
    assert_eq!(line["dd.service"], "shop");
    assert_eq!(line["dd.env"], "");
    assert_eq!(line["message"], "charged");
    assert_eq!(line["user"], 7);
}

#[test]
fn sixty_four_bit_logging_writes_the_low_half_in_decimal() {
    let mut ids = (0, 0);
    let format = settings(&[("DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED", "false")]).json();
    let out = lines(format, || {
        ids = in_trace(|| tracing::info!("charged"));
    });
    assert_eq!(json(&out[0])["dd.trace_id"], (ids.0 as u64).to_string());
}

#[test]
fn outside_a_trace_or_switched_off_the_line_is_the_formats_own() {
    let out = lines(settings(&[]).json(), || tracing::info!("idle"));
    let line = json(&out[0]);
    assert!(line.get("dd.trace_id").is_none() && line.get("dd.span_id").is_none());
    let out = lines(settings(&[("DD_LOGS_INJECTION", "false")]).json(), || {
        in_trace(|| tracing::info!("charged"));
    });
    assert!(json(&out[0]).get("dd.trace_id").is_none());
}

#[test]
fn a_text_line_ends_with_the_pairs() {
    let out = lines(
        settings(&[]).format(tracing_subscriber::fmt::format().without_time()),
        || {
            in_trace(|| tracing::info!("charged"));
            tracing::info!("idle");
        },
    );
    assert!(out[0].contains("charged dd.trace_id="), "{}", out[0]);
    assert!(
        out[0].ends_with("dd.service=shop dd.env=\"\" dd.version=\"\""),
        "{}",
        out[0]
    );
    assert!(!out[1].contains("dd."), "{}", out[1]);
}

#[test]
fn a_tracing_span_of_the_trace_is_the_lines_span() {
    let out = lines(settings(&[]).json(), || {
        in_trace(|| {
            let child = tracing::info_span!("child.work");
            {
                let _entered = child.enter();
                tracing::info!("in the child");
            }
            tracing::info!("back in the request");
        });
    });
    let child = json(&out[0]);
    let request = json(&out[1]);
    assert_eq!(request["dd.span_id"], "42");
    assert_ne!(
        child["dd.span_id"], "42",
        "the child span is a span of its own"
    );
    assert_eq!(child["dd.trace_id"], request["dd.trace_id"]);
}

#[test]
fn service_names_are_escaped_in_json() {
    let mut buf = String::new();
    let mut writer = tracing_subscriber::fmt::format::Writer::new(&mut buf);
    format::json_string_for_tests(&mut writer, "a\"b\\c\nd\u{1}").unwrap();
    assert_eq!(
        serde_json::from_str::<String>(&buf).unwrap(),
        "a\"b\\c\nd\u{1}"
    );
}

#[test]
fn log_crate_records_routed_through_tracing_log_are_correlated() {
    // Global, as an application would set it; harmless to other tests (records only).
    let _ = tracing_log::LogTracer::init();
    let out = lines(settings(&[]).json(), || {
        in_trace(|| log::info!(target: "legacy", "from the log crate"));
    });
    let line = out
        .iter()
        .map(|l| json(l))
        .find(|l| l["message"] == "from the log crate")
        .expect("the log record was written");
    assert_eq!(line["dd.span_id"], "42");
}
