//! The exporter against the real Datadog test agent: what it receives is what the core built.

use super::*;
use crate::propagation::{PropagationConfig, TraceContext};
use crate::sampling::Sampler;
use crate::trace::{Trace, TraceSettings};
use ddtrace_conformance::TestAgent;
use libdd_tinybytes::BytesString;
use serde_json::Value;
use std::sync::Mutex;
use std::time::Instant;

fn wait_for_spans(agent: &TestAgent, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let spans: Vec<Value> = agent.traces().into_iter().flatten().collect();
        if spans.len() >= n || Instant::now() > deadline {
            return spans;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An exporter to the agent on `port` on loopback, and the outcomes it reports.
fn exporter_on(port: u16, config: ExporterConfig) -> (Exporter, Arc<Mutex<Vec<Outcome>>>) {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let seen = outcomes.clone();
    let config = ExporterConfig {
        url: format!("http://127.0.0.1:{port}"),
        ..config
    };
    let exporter = Exporter::start(config, Box::new(move |o| seen.lock().unwrap().push(o)))
        .expect("exporter starts");
    (exporter, outcomes)
}

#[test]
fn a_trace_reaches_the_agent_as_the_core_built_it() {
    let agent = TestAgent::start();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let seen = outcomes.clone();
    let config = ExporterConfig {
        url: agent.url(),
        service: "shop".into(),
        env: Some("staging".into()),
        ..ExporterConfig::default()
    };
    let exporter = Exporter::start(config, Box::new(move |o| seen.lock().unwrap().push(o)))
        .expect("exporter starts");
    let exporter = Arc::new(exporter);
    let settings = Arc::new(TraceSettings {
        service: BytesString::from_static("shop"),
        env: Some(BytesString::from_static("staging")),
        version: None,
        tags: Vec::new(),
        runtime_id: BytesString::from_static("00000000-0000-4000-8000-000000000000"),
        propagation: PropagationConfig::default(),
        sampler: Arc::new(Sampler::from_lookup(|_| None)),
        sink: exporter.clone(),
    });
    let propagation = TraceContext::new_root(&settings.propagation);
    let mut root = Trace::start_root(
        &settings,
        propagation,
        BytesString::from_static("axum.request"),
        BytesString::from_static("GET /users/{id}"),
        BytesString::from_static("web"),
    );
    root.set_meta(
        BytesString::from_static("http.status_code"),
        BytesString::from_static("200"),
    );
    let child = root.child(BytesString::from_static("child.work"));
    child.finish();
    root.finish();

    let spans = wait_for_spans(&agent, 2);
    assert_eq!(spans.len(), 2, "{spans:?}");
    let root = spans
        .iter()
        .find(|s| s["name"] == "axum.request")
        .expect("root");
    let child = spans
        .iter()
        .find(|s| s["name"] == "child.work")
        .expect("child");
    assert_eq!(root["service"], "shop");
    assert_eq!(root["resource"], "GET /users/{id}");
    assert_eq!(root["type"], "web");
    assert_eq!(root["meta"]["http.status_code"], "200");
    assert_eq!(root["meta"]["language"], "rust");
    assert_eq!(root["meta"]["env"], "staging");
    assert_eq!(root["meta"]["_dd.p.dm"], "-0");
    assert_eq!(root["metrics"]["_sampling_priority_v1"], 1.0);
    assert_eq!(child["parent_id"], root["span_id"]);
    assert_eq!(child["trace_id"], root["trace_id"]);
    agent
        .check_failures()
        .expect("the agent's payload checks pass");
    let outcomes = outcomes.lock().unwrap();
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Delivered | Outcome::Rates(_))),
        "{outcomes:?}"
    );
}

#[test]
fn shutdown_flushes_what_is_buffered() {
    let agent = TestAgent::start();
    let config = ExporterConfig {
        url: agent.url(),
        service: "shop".into(),
        // Nothing would be sent before an hour passes or the buffer fills: only the flush sends.
        flush_interval: Duration::from_secs(3600),
        ..ExporterConfig::default()
    };
    let exporter = Exporter::start(config, Box::new(|_| {})).expect("exporter starts");
    for i in 0..50u64 {
        exporter.send(vec![SpanBytes {
            service: BytesString::from_static("shop"),
            name: BytesString::from_static("job"),
            resource: BytesString::from_static("job"),
            trace_id: u128::from(i + 1),
            span_id: i + 1,
            ..Default::default()
        }]);
    }
    exporter.shutdown(Duration::from_secs(10));
    assert_eq!(wait_for_spans(&agent, 50).len(), 50);
    assert_eq!(exporter.dropped_spans(), 0);
}

#[test]
fn an_unreachable_agent_is_reported_and_never_blocks() {
    let (exporter, failures) = exporter_on(
        ddtrace_conformance::agent::free_port(),
        ExporterConfig {
            flush_interval: Duration::from_millis(100),
            ..ExporterConfig::default()
        },
    );
    // Queuing never waits for the agent: this loop ends at once, and what does not fit in the
    // buffer is dropped.
    for i in 0..1000u64 {
        exporter.send(vec![SpanBytes {
            name: BytesString::from_static("job"),
            trace_id: u128::from(i + 1),
            span_id: i + 1,
            ..Default::default()
        }]);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while failures.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let failures = failures.lock().unwrap().clone();
    assert!(
        matches!(failures.first(), Some(Outcome::Failed(_))),
        "{failures:?}"
    );
    exporter.shutdown(Duration::from_secs(1));
}

/// A forced flush of an empty buffer (`flush`, shutdown) sends nothing; libdatadog answers it
/// `Ok`. Reported as a delivery, it made the outage watcher announce the agent back at every
/// shutdown during an outage (seen in `scripts/soak.sh`: one "agent back" line too many).
#[test]
fn an_empty_flush_is_never_taken_for_a_delivery() {
    let (exporter, outcomes) = exporter_on(
        ddtrace_conformance::agent::free_port(),
        ExporterConfig::default(),
    );
    exporter.send(vec![SpanBytes {
        name: BytesString::from_static("job"),
        trace_id: 1,
        span_id: 1,
        ..Default::default()
    }]);
    exporter.flush(Duration::from_secs(10));
    // The buffer is empty now: these flushes have nothing to send.
    exporter.flush(Duration::from_secs(2));
    exporter.shutdown(Duration::from_secs(2));
    let outcomes = outcomes.lock().unwrap().clone();
    assert!(
        matches!(outcomes.first(), Some(Outcome::Failed(_))),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Failed(_))),
        "nothing reached the agent, yet: {outcomes:?}"
    );
}

/// A Datadog Agent versions the sampling rates it answers with; libdatadog hands rates on only
/// from an answer with a new version, and the sampler takes them from the outcome.
#[test]
fn an_agents_versioned_rates_reach_the_outcome() {
    let (exporter, outcomes) = exporter_on(
        ddtrace_conformance::sink::start_agent_sink("shop"),
        ExporterConfig::default(),
    );
    let span = || SpanBytes {
        name: BytesString::from_static("job"),
        service: BytesString::from_static("shop"),
        trace_id: 1,
        span_id: 1,
        ..Default::default()
    };
    exporter.send(vec![span()]);
    exporter.flush(Duration::from_secs(10));
    exporter.send(vec![span()]);
    exporter.flush(Duration::from_secs(10));
    exporter.shutdown(Duration::from_secs(2));
    let outcomes = outcomes.lock().unwrap().clone();
    let sampler = Sampler::from_lookup(|_| None);
    match outcomes.as_slice() {
        [Outcome::Rates(body), Outcome::Delivered] => {
            assert!(body.contains("service:shop,env:"), "{body}");
            sampler.agent_rates(body);
        }
        other => panic!("the first send carries the rates, the second the same version: {other:?}"),
    }
    let decision = sampler.sample(&span());
    assert_eq!(decision.mechanism, 1, "sampled by the agent's rate");
}

#[test]
fn chunks_after_shutdown_are_counted_as_dropped() {
    let port = ddtrace_conformance::agent::free_port();
    let config = ExporterConfig {
        url: format!("http://127.0.0.1:{port}"),
        ..ExporterConfig::default()
    };
    let exporter = Exporter::start(config, Box::new(|_| {})).expect("exporter starts");
    exporter.shutdown(Duration::from_secs(1));
    let span = || SpanBytes {
        name: BytesString::from_static("late"),
        trace_id: 1,
        span_id: 1,
        ..Default::default()
    };
    exporter.send(vec![span(), span()]);
    assert_eq!(exporter.dropped_spans(), 2);
}

/// An agent that accepts connections and never answers, until `release` is set.
fn hung_agent(release: Arc<std::sync::atomic::AtomicBool>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        listener.set_nonblocking(true).expect("nonblocking");
        while !release.load(Ordering::Relaxed) {
            if let Ok((stream, _)) = listener.accept() {
                held.push(stream);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    port
}

#[test]
fn a_send_still_hanging_at_shutdown_never_drops_the_runtime_on_its_own_thread() {
    // A send that outlives `shutdown` ends later on the exporter's runtime thread; the last
    // handle to that runtime must not be dropped there (tokio panics when a runtime is
    // dropped from one of its own threads).
    let panics = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = panics.clone();
    // Other tests' panics still print, through the hook this one wraps.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.to_string();
        if message.contains("drop a runtime") {
            seen.lock().unwrap_or_else(|p| p.into_inner()).push(message);
        }
        previous(info);
    }));
    let release = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let port = hung_agent(release.clone());
    let config = ExporterConfig {
        url: format!("http://127.0.0.1:{port}"),
        flush_interval: Duration::from_millis(50),
        ..ExporterConfig::default()
    };
    let exporter = Exporter::start(config, Box::new(|_| {})).expect("exporter starts");
    exporter.send(vec![SpanBytes {
        name: BytesString::from_static("job"),
        trace_id: 1,
        span_id: 1,
        ..Default::default()
    }]);
    // Let the send start and hang on the agent.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    exporter.shutdown(Duration::from_millis(200));
    assert!(started.elapsed() < Duration::from_secs(2));
    // The agent goes away: the hung send fails, after retries, and its task ends on the
    // runtime's thread.
    release.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !exporter.runtime_released() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(exporter.runtime_released(), "the runtime was never stopped");
    // Back to the default hook.
    drop(std::panic::take_hook());
    let panics = panics.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(panics.is_empty(), "{panics:?}");
}
