//! The agent watcher against the real pipeline: an agent that is down, comes back and goes down
//! again gives two warnings and one recovery line, however many payloads failed.
//!
//! Its own test binary because it installs the process's global `tracing` subscriber: the
//! pipeline reports sends from its own worker threads, which see only the global one.

use ddtrace_core::datadog_opentelemetry::configuration::Config;
use ddtrace_core::opentelemetry::trace::{Span, Tracer, TracerProvider};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Every event the subscriber sees: (target, level, message).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<(String, tracing::Level, String)>>>);

impl Captured {
    fn count(&self, target: &str, level: tracing::Level, contains: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, l, m)| t.starts_with(target) && *l == level && m.contains(contains))
            .count()
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                if f.name() == "message" {
                    self.0 = format!("{v:?}");
                }
            }
        }
        let mut m = Message(String::new());
        event.record(&mut m);
        let meta = event.metadata();
        self.0
            .lock()
            .unwrap()
            .push((meta.target().to_string(), *meta.level(), m.0));
    }
}

/// A healthy agent on `port` until `stop` is set. Every answer closes its connection, so the
/// exporter cannot keep using a pooled connection once the agent is gone.
fn agent_on(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("agent port taken meanwhile");
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => answer(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })
}

fn answer(stream: TcpStream) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut reader = BufReader::new(&stream);
    let mut length = 0u64;
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    let _ = std::io::copy(&mut reader.take(length), &mut std::io::sink());
    let body = b"{\"rate_by_service\":{}}";
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = &stream;
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// Makes spans every 100 ms until `done` says so or `limit` passes; true if `done` did.
fn spans_until(
    tracer: &impl Tracer<Span = impl Span>,
    limit: Duration,
    done: impl Fn() -> bool,
) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        tracer.start("outage.test").end();
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn two_outages_give_two_warnings_and_one_recovery_line() {
    use tracing::Level;
    const WARNING: &str = "traces are not reaching the Datadog Agent";
    const BACK: &str = "again, after";

    let captured = Captured::default();
    // The application's own subscriber, with this project's layer added to it.
    tracing_subscriber::registry()
        .with(ddtrace_core::tracing_layer())
        .with(captured.clone())
        .init();

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut config = Config::builder();
    config
        .set_trace_agent_url(url.clone())
        .set_service("outage-test".to_string())
        .set_telemetry_enabled(false)
        .set_remote_config_enabled(false);
    let guard =
        ddtrace_core::init_with(config.build()).with_shutdown_timeout(Duration::from_secs(1));
    let tracer = guard.provider().expect("installed").tracer("outage-test");
    let failed_payloads = || captured.count("libdd_data_pipeline", Level::ERROR, "");
    let warnings = || captured.count("ddtrace", Level::WARN, WARNING);
    let recoveries = || captured.count("ddtrace", Level::INFO, BACK);

    // Outage 1: nothing listens. Keep sending until the pipeline has failed three payloads.
    assert!(
        spans_until(&tracer, Duration::from_secs(30), || failed_payloads() >= 3),
        "the pipeline reported {} failed payloads in 30 s",
        failed_payloads()
    );
    assert_eq!(
        warnings(),
        1,
        "one warning for {} failed payloads",
        failed_payloads()
    );
    let all = captured.0.lock().unwrap().clone();
    let warning = all.iter().find(|(_, _, m)| m.contains(WARNING)).unwrap();
    assert!(
        warning.2.contains(&url),
        "the warning names the agent: {}",
        warning.2
    );
    assert_eq!(recoveries(), 0);

    // The agent comes back: one line says so.
    let stop = Arc::new(AtomicBool::new(false));
    let agent = agent_on(port, Arc::clone(&stop));
    assert!(
        spans_until(&tracer, Duration::from_secs(20), || recoveries() == 1),
        "no recovery line within 20 s of the agent's return"
    );
    assert_eq!(warnings(), 1);

    // Outage 2: the agent goes away again, and the user hears of it again.
    stop.store(true, Ordering::Relaxed);
    agent.join().unwrap();
    let failed_before = failed_payloads();
    assert!(
        spans_until(&tracer, Duration::from_secs(30), || {
            failed_payloads() >= failed_before + 2
        }),
        "the second outage was not seen by the pipeline"
    );
    assert_eq!(warnings(), 2, "one more warning for the second outage");
    assert_eq!(recoveries(), 1);
    guard.shutdown();
}
