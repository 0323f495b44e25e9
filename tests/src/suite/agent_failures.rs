//! Broken agents: down, hung, answering 500 or garbage.

use super::*;

/// The agent fails in every way it can: the app's responses are unchanged, and a shutdown
/// still exits (with every span it could flush) within the 5 s the conformance contract allows.
///
/// The app says so once per outage, never per request or per failed payload: one warning when
/// sends start failing (the pipeline retries for about 3 s first, so a hanging agent, whose
/// every attempt waits 3 s, is not reported within this run), and for an agent that comes back,
/// one line when traces reach it again.
pub fn agent_failures(spec: &AppSpec) {
    use crate::fault::{self, Fault};
    const WARNING: &str = "traces are not reaching the Datadog Agent";
    const BACK: &str = "traces reach the Datadog Agent";
    let mut report = Report::default();
    let binary = app::build(spec);
    for mode in [Fault::Down, Fault::Hangs, Fault::Answers500, Fault::Garbage] {
        let url = fault::start(mode);
        let service = unique_service(spec, "faults");
        let mut app = App::start(&binary, &url, &service, &[]);
        let mut requests = 0usize;
        let mut request = |report: &mut Report| {
            let i = requests;
            requests += 1;
            let target = format!("/users/{i}");
            let res = get(&app, &target, &format!("f{i}"), &[]);
            report.check(
                res.as_ref()
                    .is_ok_and(|r| r.status == 200 && r.text() == format!("user {i}")),
                || format!("agent {mode:?}: GET {target} answered {res:?}"),
            );
        };
        // Requests every 100 ms until `until` holds or `limit` passes; whether it held.
        let mut keep_requesting =
            |report: &mut Report, limit: Duration, until: &dyn Fn() -> bool| {
                let deadline = std::time::Instant::now() + limit;
                while std::time::Instant::now() < deadline {
                    request(report);
                    if until() {
                        return true;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                false
            };
        let log = app.log().to_path_buf();
        let lines = |needle: &str| {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(needle))
                .count()
        };
        keep_requesting(&mut report, Duration::from_secs(1), &|| false);
        let streamed = get(&app, "/stream", "fstream", &[]);
        report.check(
            streamed
                .as_ref()
                .is_ok_and(|r| r.text().ends_with("chunk 4\n")),
            || format!("agent {mode:?}: /stream answered {streamed:?}"),
        );
        if !matches!(mode, Fault::Hangs) {
            let warned =
                keep_requesting(&mut report, Duration::from_secs(15), &|| lines(WARNING) > 0);
            report.check(warned, || {
                format!(
                    "agent {mode:?}: no warning within 15 s; see {}",
                    log.display()
                )
            });
        }
        if matches!(mode, Fault::Down) {
            // The outage goes on: more payloads fail (one send cycle is about 4 s), no more
            // lines. Then the agent comes back where it was.
            keep_requesting(&mut report, Duration::from_secs(5), &|| false);
            let port = url.rsplit(':').next().and_then(|p| p.parse().ok());
            let back = port.map(crate::sink::start_discarding_agent_on);
            report.check(matches!(back, Some(Ok(_))), || {
                format!("agent {mode:?}: cannot bring the agent back on {url}: {back:?}")
            });
            let told = keep_requesting(&mut report, Duration::from_secs(15), &|| lines(BACK) > 0);
            report.check(told, || {
                format!(
                    "agent {mode:?}: no line within 15 s of the agent's return; see {}",
                    log.display()
                )
            });
        }
        let stopped = app.stop(Duration::from_secs(8));
        report.check(
            stopped.status.is_some_and(|s| s.success()) && stopped.elapsed < Duration::from_secs(5),
            || {
                format!(
                    "agent {mode:?}: SIGTERM must exit 0 within 5 s, got {stopped:?}; see {}",
                    app.log().display()
                )
            },
        );
        let text = std::fs::read_to_string(app.log()).unwrap_or_default();
        let warnings = lines(WARNING);
        // A hanging agent's sends time out after the run; its warning may or may not come.
        let expected = if matches!(mode, Fault::Hangs) {
            0..=1
        } else {
            1..=1
        };
        report.check(expected.contains(&warnings), || {
            format!("agent {mode:?}: {warnings} outage warnings for {requests} requests, expected {expected:?}:\n{text}")
        });
        // The log is a file, not a terminal: the tracer's lines carry no colour codes.
        report.check(!text.contains('\u{1b}'), || {
            format!("agent {mode:?}: escape codes in a log written to a file:\n{text}")
        });
        report.check(
            lines(BACK) == usize::from(matches!(mode, Fault::Down)),
            || format!("agent {mode:?}: {} recovery lines:\n{text}", lines(BACK)),
        );
        // Nothing else from the tracer but the shutdown's own line when its final flush cannot
        // finish, and nothing at all per request (the framework's own banners are fine).
        // The app's and its framework's own events (JSON lines on stdout, `init`'s) are not
        // the tracer's; there are only a few (start and stop banners), never one per request.
        let app_target = |l: &str| {
            serde_json::from_str::<Value>(l)
                .ok()
                .and_then(|v| v["target"].as_str().map(str::to_string))
                .filter(|t| t != "ddtrace" && !t.starts_with("libdd") && !t.starts_with("datadog"))
        };
        let app_lines = text.lines().filter(|l| app_target(l).is_some()).count();
        report.check(app_lines < 12, || {
            format!("agent {mode:?}: {app_lines} lines of the app's own for {requests} requests:\n{text}")
        });
        let other: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains(WARNING) && !l.contains(BACK))
            .filter(|l| !l.contains("shutting the Datadog pipeline down"))
            .filter(|l| app_target(l).is_none())
            .filter(|l| !l.trim().is_empty())
            .collect();
        let tracer_lines = other.iter().filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("ddtrace") || l.contains("datadog") || l.contains("libdd")
        });
        report.check(tracer_lines.count() == 0 && other.len() < 5, || {
            format!(
                "agent {mode:?}: the app logged during the outage:\n{}",
                other.join("\n")
            )
        });
    }
    report.finish(&format!("{} agent failures", spec.framework));
}
