//! The README's tonic snippet (`examples/readme.rs`), run as a user runs it: three calls, a
//! SIGTERM 0.3 s after the last, and every call's span at the real test agent.

use ddtrace_conformance::app::{build, App, AppSpec};
use ddtrace_conformance::TestAgent;
use std::time::Duration;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const README: AppSpec = AppSpec {
    framework: "tonic",
    package: "ddtrace-tonic",
    binary: "readme-tonic",
    example: true,
    users_route: "",
    status_route: "",
    route_known_on_panic: true,
};

#[test]
fn the_readme_snippet_stopped_right_after_its_calls_loses_no_trace() {
    let agent = TestAgent::start();
    let binary = build(&README);
    let service = format!("readme-tonic-{}", std::process::id());
    let mut app = App::start_listening(&binary, &agent.url(), &service, &[]);
    let port = app.port;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        let mut client = HealthClient::new(channel);
        for _ in 0..3 {
            let answer = client.check(HealthCheckRequest::default()).await;
            assert!(answer.is_ok(), "Health/Check answered {answer:?}");
        }
    });
    drop(runtime);
    std::thread::sleep(Duration::from_millis(300));
    let stopped = app.stop(Duration::from_secs(10));
    assert!(
        stopped.status.is_some_and(|s| s.success()),
        "the snippet did not stop cleanly: {stopped:?}"
    );
    let spans = agent.spans_once(3);
    let calls: Vec<_> = spans
        .iter()
        .filter(|s| {
            s["service"] == service.as_str()
                && s["name"] == "grpc.server"
                && s["resource"] == "/grpc.health.v1.Health/Check"
                && s["metrics"]["grpc.status.code"].as_f64() == Some(0.0)
        })
        .collect();
    assert_eq!(calls.len(), 3, "{spans:#?}");
}
