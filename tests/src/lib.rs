//! # The conformance suite
//!
//! One black-box suite for every integration: it starts the real Datadog test agent, runs a
//! framework's conformance app (docs/conformance.md) with a given environment, drives it over HTTP,
//! stops it with SIGTERM (which must flush every span), and checks what the agent received.
//!
//! A framework takes part by describing its app with an [`AppSpec`] and calling the suite's
//! groups from its own `#[test]`s (see `tests/conformance.rs`).

pub mod agent;
pub mod app;
pub mod assertions;
pub mod capture;
pub mod fault;
pub mod http1;
pub mod inproc;
pub mod measure;
pub mod sink;
pub mod spans;
pub mod suite;

pub use agent::TestAgent;
pub use app::{App, AppSpec};

use std::path::PathBuf;

/// The workspace root (where `Cargo.toml` with `[workspace]` is).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// Collects check results so one run reports every failure, not only the first.
#[derive(Debug, Default)]
pub struct Report {
    passed: usize,
    failures: Vec<String>,
}

impl Report {
    /// Records one check.
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(what());
        }
    }

    /// Records a check that produced its own error text.
    pub fn result(&mut self, context: &str, r: Result<(), String>) {
        match r {
            Ok(()) => self.passed += 1,
            Err(e) => self.failures.push(format!("{context}: {e}")),
        }
    }

    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.passed
    }

    /// The failures so far.
    pub fn failures(&self) -> &[String] {
        &self.failures
    }

    /// Panics with every failure listed, or prints the count of passed checks.
    pub fn finish(self, name: &str) {
        if self.failures.is_empty() {
            println!("{name}: {} checks passed", self.passed);
            return;
        }
        let mut msg = format!(
            "{name}: {} of {} checks failed:\n",
            self.failures.len(),
            self.failures.len() + self.passed
        );
        for f in &self.failures {
            msg.push_str("  - ");
            msg.push_str(f);
            msg.push('\n');
        }
        panic!("{msg}");
    }
}
