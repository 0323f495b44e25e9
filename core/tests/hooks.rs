//! The integration hooks set in code, end to end on the native pipeline: what the real Datadog
//! test agent receives. A test binary of its own: it installs the pipeline for the process.

use ddtrace_conformance::TestAgent;
use ddtrace_core::{Config, Integration, RequestInfo, RequestTracer};

fn request(path: &str, headers: &[(&str, &str)]) -> http::Request<()> {
    let mut req = http::Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.header("host", "shop").body(()).unwrap()
}

#[test]
fn ignore_resource_name_on_request_on_response_and_error_status_shape_the_spans_sent() {
    let agent = TestAgent::start();
    let guard = agent.install_pipeline("shop");
    let config = Config::builder()
        .ignore(|req| req.path() == "/healthz")
        // The route is set after the span starts here, as rocket and poem set it: the hook
        // still sees it, and the request's headers.
        .resource_name(|req, route| {
            (route == Some("/graphql"))
                .then(|| format!("graphql {}", req.header("x-operation").unwrap_or("?")))
        })
        .on_request(|req, span| {
            if let Some(user) = req.header("x-user-id") {
                span.set_tag("usr.id", user);
            }
        })
        .on_response(|resp, span| {
            span.set_tag("status.class", format!("{}xx", resp.status() / 100));
            if let Some(cache) = resp.header("x-cache") {
                span.set_tag("cache.result", cache);
            }
        })
        .error_status(|status| status == 404)
        .build()
        .unwrap();
    let tracer = RequestTracer::new(Integration::new("foo", "foo.request"), config);
    let run = |req: http::Request<()>, route: Option<&str>, status: u16| {
        let mut span = tracer.start(RequestInfo::from_request(&req));
        if let Some(route) = route {
            span.set_route(route);
        }
        // Every response says whether it came from the cache; the hook reads it.
        let mut response = http::HeaderMap::new();
        let cache = if status == 200 { "hit" } else { "miss" };
        response.insert("x-cache", cache.parse().unwrap());
        span.record_status(status, &response);
        span.finish();
    };
    run(request("/healthz", &[]), Some("/healthz"), 200);
    run(
        request(
            "/graphql?q=1",
            &[("x-user-id", "7"), ("x-operation", "GetUser")],
        ),
        Some("/graphql"),
        200,
    );
    run(request("/users/1", &[]), Some("/users/{id}"), 404);
    run(request("/boom", &[]), Some("/boom"), 500);
    guard.flush();
    let spans = agent.spans_once(3);
    guard.shutdown();
    let by_path = |p: &str| {
        spans.iter().find(|s| {
            s["meta"]["http.url"]
                .as_str()
                .is_some_and(|u| u.contains(p))
        })
    };
    assert!(
        by_path("/healthz").is_none(),
        "an ignored request has no span: {spans:#?}"
    );
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let graphql = by_path("/graphql").unwrap();
    assert_eq!(graphql["resource"], "graphql GetUser");
    assert_eq!(graphql["meta"]["usr.id"], "7");
    assert_eq!(graphql["meta"]["status.class"], "2xx");
    assert_eq!(
        graphql["meta"]["cache.result"], "hit",
        "on_response reads the response"
    );
    assert_eq!(graphql["error"].as_i64().unwrap_or(0), 0);
    let users = by_path("/users/1").unwrap();
    assert_eq!(users["resource"], "GET /users/{id}");
    assert_eq!(
        users["error"], 1,
        "the error_status hook makes a 404 an error"
    );
    assert!(users["meta"].get("usr.id").is_none());
    let boom = by_path("/boom").unwrap();
    assert_eq!(boom["error"].as_i64().unwrap_or(0), 0, "and a 500 not one");
    assert_eq!(boom["meta"]["status.class"], "5xx");
}
