//! The tower client layer on the native pipeline, end to end: spans that the real Datadog test
//! agent receives, for an answer, a 4xx and a transport error, and headers injected from the
//! client span. A test binary of its own: it installs the pipeline for the process.

use ddtrace_conformance::TestAgent;
use ddtrace_core::ClientLayer;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// A client that answers with `status` (or fails when 0) and remembers the headers it got.
#[derive(Clone)]
struct Fake {
    seen: Arc<Mutex<Vec<http::HeaderMap>>>,
}

impl Service<http::Request<()>> for Fake {
    type Response = http::Response<()>;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<http::Response<()>, std::io::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<()>) -> Self::Future {
        self.seen.lock().unwrap().push(req.headers().clone());
        let status: u16 = req
            .uri()
            .path()
            .trim_start_matches('/')
            .parse()
            .unwrap_or(0);
        std::future::ready(match status {
            0 => Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "connection refused",
            )),
            s => Ok(http::Response::builder().status(s).body(()).unwrap()),
        })
    }
}

fn send(client: &mut impl Service<http::Request<()>>, path: &str) {
    let req = http::Request::get(format!("http://inventory:8080{path}?token=x&n=1"))
        .body(())
        .unwrap();
    let fut = client.call(req);
    let _ = block_on(fut);
}

/// Polls a ready future (the fake answers at once).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn answers_4xx_and_transport_errors_reach_the_agent_as_datadog_client_spans() {
    let agent = TestAgent::start();
    let guard = agent.install_pipeline("shop");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut client = ClientLayer::new("hyper", "hyper.request").layer(Fake { seen: seen.clone() });
    send(&mut client, "/200");
    send(&mut client, "/404");
    send(&mut client, "/0");
    let mut peers = ClientLayer::with_config(
        "hyper",
        "hyper.request",
        ddtrace_core::ClientConfig::from_env().peer_service(true),
    )
    .layer(Fake { seen: seen.clone() });
    send(&mut peers, "/201");
    guard.flush();
    let spans = agent.spans_once(4);
    guard.shutdown();
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let by_resource = |r: &str| {
        spans
            .iter()
            .find(|s| s["resource"] == r)
            .unwrap_or_else(|| panic!("no span {r} in {spans:#?}"))
    };
    let ok = by_resource("GET /200");
    assert_eq!(ok["name"], "hyper.request");
    assert_eq!(ok["type"], "http");
    assert_eq!(ok["meta"]["span.kind"], "client");
    assert_eq!(ok["meta"]["component"], "hyper");
    assert_eq!(ok["meta"]["out.host"], "inventory");
    assert_eq!(
        ok["meta"]["http.url"],
        "http://inventory:8080/200?<redacted>&n=1"
    );
    assert_eq!(ok["meta"]["http.status_code"], "200");
    assert_eq!(
        ok["error"].as_i64().unwrap_or(0),
        0,
        "an error field absent is 0"
    );
    let missing = by_resource("GET /404");
    assert_eq!(missing["error"], 1);
    assert_eq!(missing["meta"]["error.message"], "404: Not Found");
    let refused = by_resource("GET /0");
    assert_eq!(refused["error"], 1);
    assert_eq!(refused["meta"]["error.message"], "connection refused");
    assert!(refused["meta"].get("http.status_code").is_none());
    // Peer services: off by default, the host called when on.
    assert!(ok["meta"].get("peer.service").is_none());
    let peer = by_resource("GET /201");
    assert_eq!(peer["meta"]["peer.service"], "inventory");
    assert_eq!(peer["meta"]["_dd.peer.service.source"], "out.host");
    // Each request carried its own client span's id.
    let seen = seen.lock().unwrap();
    for (headers, resource) in seen.iter().zip(["GET /200", "GET /404", "GET /0"]) {
        let parent = headers
            .get("x-datadog-parent-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(parent, by_resource(resource)["span_id"].to_string());
    }
}
