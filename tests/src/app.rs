//! A conformance app process under test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How to build and name one framework's conformance app, and its route templates.
#[derive(Clone, Copy, Debug)]
pub struct AppSpec {
    /// The framework, as in `component` and `<framework>.request`.
    pub framework: &'static str,
    /// The cargo package holding the app binary.
    pub package: &'static str,
    /// The app binary's name.
    pub binary: &'static str,
    /// True when the app is a cargo example of `package` (`--example`), not a binary.
    pub example: bool,
    /// The native template of `GET /users/{id}` as it must appear in `http.route`.
    pub users_route: &'static str,
    /// The native template of `GET /status/{code}`.
    pub status_route: &'static str,
    /// Whether the framework tells the middleware which route matched when the handler
    /// panics (poem attaches the pattern only to a finished response, so it cannot).
    pub route_known_on_panic: bool,
}

/// Builds the app binary (a no-op when it is fresh) and returns its path: as users build it
/// (the native pipeline only), or with ddtrace-core's `opentelemetry` feature when this test
/// process runs with `DDTRACE_RS_PIPELINE=opentelemetry`.
pub fn build(spec: &AppSpec) -> PathBuf {
    build_for(spec, &[])
}

/// [`build`] for an app started with `env`: with the `opentelemetry` feature when `env` (or
/// this process) asks for the OpenTelemetry pipeline with `DDTRACE_RS_PIPELINE`.
pub fn build_for(spec: &AppSpec, env: &[(String, String)]) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let opentelemetry = asks_for_opentelemetry(env);
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let kind = if spec.example { "--example" } else { "--bin" };
    let mut command = Command::new(cargo);
    command.current_dir(crate::workspace_root()).args([
        "build",
        "--quiet",
        "-p",
        spec.package,
        kind,
        spec.binary,
    ]);
    if opentelemetry {
        command.args(["--features", "ddtrace-core/opentelemetry"]);
    }
    let status = command.status().expect("cannot run cargo build");
    assert!(status.success(), "building {} failed", spec.binary);
    let built = if spec.example {
        target_dir().join("examples").join(spec.binary)
    } else {
        target_dir().join(spec.binary)
    };
    assert!(
        built.exists(),
        "{} was not built at {}",
        spec.binary,
        built.display()
    );
    // Both builds land on the same path; each test starts a link of its own build, made
    // before the other build can replace the file (a running app keeps its inode).
    let variant = if opentelemetry {
        "opentelemetry"
    } else {
        "native"
    };
    let link = built.with_file_name(format!("{}.{variant}", spec.binary));
    let _ = std::fs::remove_file(&link);
    std::fs::hard_link(&built, &link)
        .or_else(|_| std::fs::copy(&built, &link).map(drop))
        .unwrap_or_else(|e| panic!("cannot link {}: {e}", link.display()));
    link
}

/// Whether `env`, or this process's environment, selects the OpenTelemetry pipeline.
pub fn asks_for_opentelemetry(env: &[(String, String)]) -> bool {
    let otel = |v: &str| {
        let v = v.trim();
        v.eq_ignore_ascii_case("opentelemetry") || v.eq_ignore_ascii_case("otel")
    };
    env.iter()
        .rev()
        .find(|(k, _)| k == "DDTRACE_RS_PIPELINE")
        .map(|(_, v)| otel(v))
        .unwrap_or_else(|| std::env::var("DDTRACE_RS_PIPELINE").is_ok_and(|v| otel(&v)))
}

/// The profile directory the test binary itself was built into (`target/debug`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test binary>
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("target dir")
}

/// Where the app of `service` writes its stdout and stderr (kept after it stops).
pub fn log_path(service: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{service}.log"))
}

/// A running app; sent SIGTERM (and killed if it lingers) when dropped.
pub struct App {
    child: Option<Child>,
    /// The port it listens on.
    pub port: u16,
    /// Its `DD_SERVICE`, unique per process so traces can be told apart in a shared agent.
    pub service: String,
    log: PathBuf,
}

/// How a stop went.
#[derive(Debug)]
pub struct Stopped {
    /// The exit status, if it exited in time.
    pub status: Option<ExitStatus>,
    /// How long it took from SIGTERM to exit.
    pub elapsed: Duration,
}

impl App {
    /// Starts `binary` with the conformance environment plus `env`; waits until ready.
    pub fn start(binary: &Path, agent_url: &str, service: &str, env: &[(String, String)]) -> App {
        App::start_probed(binary, agent_url, service, env, |port| {
            matches!(crate::http1::blocking_get(port, "/users/0"), Ok((200, _)))
        })
    }

    /// [`App::start`] for an app that is ready once it accepts TCP connections (a gRPC
    /// server, which answers no HTTP/1 request).
    pub fn start_listening(
        binary: &Path,
        agent_url: &str,
        service: &str,
        env: &[(String, String)],
    ) -> App {
        App::start_probed(binary, agent_url, service, env, |port| {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
    }

    /// Starts `binary` and waits until `ready(port)`.
    fn start_probed(
        binary: &Path,
        agent_url: &str,
        service: &str,
        env: &[(String, String)],
        ready: impl Fn(u16) -> bool,
    ) -> App {
        let port = crate::agent::free_port();
        let log = log_path(service);
        let log_file = std::fs::File::create(&log).expect("app log");
        let mut cmd = Command::new(binary);
        // The developer's own DD_* settings must not leak into the app under test.
        for (k, _) in std::env::vars() {
            if k.starts_with("DD_") || k.starts_with("OTEL_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("PORT", port.to_string())
            // rocket::build() reads its port from ROCKET_PORT.
            .env("ROCKET_PORT", port.to_string())
            .env("DD_TRACE_AGENT_URL", agent_url)
            .env("DD_SERVICE", service)
            .env("DD_INSTRUMENTATION_TELEMETRY_ENABLED", "false")
            .env("DD_REMOTE_CONFIGURATION_ENABLED", "false")
            .env("RUST_BACKTRACE", "0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file.try_clone().expect("log")))
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut app = App {
            child: Some(child),
            port,
            service: service.to_string(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if ready(port) {
                return app;
            }
            if let Some(Ok(Some(status))) = app.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "{} exited early ({status}); see {}",
                    app.service,
                    app.log.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready within 20 s; see {}",
                app.service,
                app.log.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The app's resident memory in KiB (`VmRSS`), while it runs.
    pub fn rss_kib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The app's log file (stdout and stderr).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit.
    pub fn stop(&mut self, timeout: Duration) -> Stopped {
        let start = Instant::now();
        let Some(mut child) = self.child.take() else {
            return Stopped {
                status: None,
                elapsed: Duration::ZERO,
            };
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Stopped {
                    status: Some(status),
                    elapsed: start.elapsed(),
                };
            }
            if start.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Stopped {
                    status: None,
                    elapsed: start.elapsed(),
                };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop(Duration::from_secs(5));
        }
    }
}
