//! The real Datadog test agent (`ddapm-test-agent` from PyPI), started per test group.

use serde_json::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running test agent; killed when dropped.
pub struct TestAgent {
    child: Child,
    port: u16,
    log: PathBuf,
}

/// A free loopback port (the listener is closed before the port is handed out).
pub fn free_port() -> u16 {
    let [port] = free_ports();
    port
}

/// `N` distinct free loopback ports: the listeners are held together until all are bound, so
/// the kernel cannot hand the same port out twice.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("no free loopback port"))
        .collect();
    std::array::from_fn(|i| {
        listeners[i]
            .local_addr()
            .map(|a| a.port())
            .expect("bound listener has an address")
    })
}

/// Where the agent executable is: `$DDAPM_TEST_AGENT`, the workspace's `.venv`, or `PATH`.
fn agent_binary() -> PathBuf {
    if let Ok(p) = std::env::var("DDAPM_TEST_AGENT") {
        return PathBuf::from(p);
    }
    let venv = crate::workspace_root().join(".venv/bin/ddapm-test-agent");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("ddapm-test-agent")
}

/// Whether the agent's log says it could not bind one of its ports.
fn lost_a_port(log: &std::path::Path) -> bool {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.contains("Failed to bind") || text.contains("address already in use")
}

impl TestAgent {
    /// Starts an agent on free ports and waits until it answers. Another process can take a
    /// port between its choice and the agent's bind (tests run in parallel): then the agent
    /// is started again on new ports, up to three times.
    pub fn start() -> TestAgent {
        for attempt in 1..=3 {
            match TestAgent::try_start() {
                Ok(agent) => return agent,
                Err(log) if attempt < 3 && lost_a_port(&log) => continue,
                Err(log) => panic!("the test agent exited; see {}", log.display()),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// One start; `Err(log)` when the agent exited before answering.
    fn try_start() -> Result<TestAgent, PathBuf> {
        let [port, otlp_http, otlp_grpc] = free_ports();
        let log = std::env::temp_dir().join(format!("ddapm-test-agent-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("agent log file");
        let binary = agent_binary();
        let child = Command::new(&binary)
            .args(["--port", &port.to_string()])
            .args(["--otlp-http-port", &otlp_http.to_string()])
            .args(["--otlp-grpc-port", &otlp_grpc.to_string()])
            .env("ENABLED_CHECKS", "trace_count_header,meta_tracer_version_header,trace_content_length")
            .env("DD_POOL_TRACE_CHECK_FAILURES", "true")
            .env("LOG_LEVEL", "WARNING")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file.try_clone().expect("log")))
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}. Install it with scripts/install-test-agent.sh (or set DDAPM_TEST_AGENT)",
                    binary.display()
                )
            });
        let mut agent = TestAgent { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if agent.get("/info").is_ok() {
                return Ok(agent);
            }
            if let Ok(Some(_)) = agent.child.try_wait() {
                return Err(agent.log.clone());
            }
            assert!(
                Instant::now() < deadline,
                "the test agent did not answer within 60 s; see {}",
                agent.log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The URL tracers send to (`DD_TRACE_AGENT_URL`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn get(&self, path: &str) -> Result<(u16, String), String> {
        crate::http1::blocking_get(self.port, path)
    }

    /// Every trace received so far, as the agent decoded it from the tracer's msgpack.
    pub fn traces(&self) -> Vec<Vec<Value>> {
        let (status, body) = self.get("/test/session/traces").expect("agent traces");
        assert_eq!(status, 200, "agent /test/session/traces: {body}");
        serde_json::from_str(&body).expect("agent traces JSON")
    }

    /// Every span received, once at least `n` have arrived (or after 20 s), and a moment
    /// more so that a span too many would show.
    pub fn spans_once(&self, n: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let spans = || self.traces().into_iter().flatten().collect::<Vec<Value>>();
        while spans().len() < n && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        spans()
    }

    /// This process's native pipeline, exporting to this agent as service `service` (for test
    /// binaries of their own: the pipeline is the process's).
    pub fn install_pipeline(&self, service: &str) -> ddtrace_core::TracerGuard {
        std::env::set_var("DD_TRACE_AGENT_URL", self.url());
        std::env::set_var("DD_SERVICE", service);
        ddtrace_core::init()
    }

    /// The agent's own payload checks (headers, counts, lengths): `Err` lists the failures.
    pub fn check_failures(&self) -> Result<(), String> {
        match self.get("/test/trace_check/failures?return_all=true") {
            Ok((200, _)) => Ok(()),
            Ok((_, body)) => Err(body),
            Err(e) => Err(e),
        }
    }
}

impl Drop for TestAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
