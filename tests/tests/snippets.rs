//! The README's snippets, as users copy them: identical to the examples that compile them, and
//! stopped with SIGTERM 0.3 s after their last request, they lose no trace.

use ddtrace_conformance::app::{self, App, AppSpec};
use ddtrace_conformance::spans::meta;
use ddtrace_conformance::{http1, TestAgent};
use std::time::Duration;

/// (framework, example binary, example file); each crate's README (`integrations/<framework>/`)
/// shows the snippet too.
const SNIPPETS: [(&str, &str, &str); 4] = [
    ("axum", "readme-axum", "examples/readme_axum.rs"),
    (
        "actix-web",
        "readme-actix-web",
        "examples/readme_actix_web.rs",
    ),
    ("rocket", "readme-rocket", "examples/readme_rocket.rs"),
    ("poem", "readme-poem", "examples/readme_poem.rs"),
];

/// The ```rust block that follows the README's marker naming `file`.
fn readme_block(readme: &str, file: &str) -> Option<String> {
    let marker = format!("<!-- the same as {file}:");
    let after = &readme[readme.find(&marker)?..];
    let start = after.find("```rust,ignore\n")? + "```rust,ignore\n".len();
    let end = after[start..].find("```\n")?;
    Some(after[start..start + end].to_string())
}

#[test]
fn the_readme_shows_the_snippets_that_are_compiled() {
    let root = ddtrace_conformance::workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for (framework, _, file) in SNIPPETS {
        let example = std::fs::read_to_string(root.join(file)).unwrap();
        assert_eq!(
            readme_block(&readme, file).as_deref(),
            Some(example.as_str()),
            "the README's {framework} snippet and {file} differ"
        );
        let crate_readme = format!("integrations/{framework}/README.md");
        let text = std::fs::read_to_string(root.join(&crate_readme)).unwrap();
        assert_eq!(
            readme_block(&text, file).as_deref(),
            Some(example.as_str()),
            "{crate_readme}'s snippet and {file} differ"
        );
    }
}

/// The gRPC snippet: the README and ddtrace-tonic's README show it; ddtrace-tonic's own test
/// (`integrations/tonic/tests/readme.rs`) runs it.
#[test]
fn the_readme_shows_the_grpc_snippet_that_is_compiled() {
    let root = ddtrace_conformance::workspace_root();
    let file = "integrations/tonic/examples/readme.rs";
    let example = std::fs::read_to_string(root.join(file)).unwrap();
    for readme in ["README.md", "integrations/tonic/README.md"] {
        let text = std::fs::read_to_string(root.join(readme)).unwrap();
        assert_eq!(
            readme_block(&text, file).as_deref(),
            Some(example.as_str()),
            "{readme}'s tonic snippet and {file} differ"
        );
    }
}

#[test]
fn a_snippet_stopped_right_after_its_requests_loses_no_trace() {
    for (framework, binary, _) in SNIPPETS {
        let spec = AppSpec {
            framework,
            package: "ddtrace-examples",
            binary,
            example: false,
            users_route: "/users/{id}",
            status_route: "",
            route_known_on_panic: false,
        };
        let agent = TestAgent::start();
        let service = format!("snippet-{framework}-{}", std::process::id());
        let mut app = App::start(&app::build(&spec), &agent.url(), &service, &[]);
        for id in 1..=3 {
            let answer = http1::request(app.port, "GET", &format!("/users/{id}"), &[], b"");
            assert!(
                answer.is_ok_and(|r| r.status == 200),
                "{framework}: GET /users/{id}"
            );
        }
        std::thread::sleep(Duration::from_millis(300));
        let stopped = app.stop(Duration::from_secs(6));
        assert!(
            stopped.status.is_some_and(|s| s.success()),
            "{framework}: SIGTERM must end the snippet cleanly: {stopped:?}"
        );
        let spans = ddtrace_conformance::spans::Spans::of_service(agent.traces(), &service);
        let requests = spans
            .all()
            .iter()
            .filter(|s| meta(s, "span.kind") == Some("server"))
            .filter(|s| !meta(s, "http.url").is_some_and(|u| u.ends_with("/users/0")))
            .count();
        assert_eq!(
            requests, 3,
            "{framework}: every request's trace reaches the agent"
        );
    }
}
