//! In-process tests of the middleware: spans go to an in-memory exporter installed as the
//! global OpenTelemetry provider (used when `ddtrace_core::init` was not called).

use ddtrace_conformance::inproc::{attr, exporter, server_spans};
use ddtrace_poem::DatadogMiddleware;
use futures_util::FutureExt;
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::{global, Context};
use poem::http::{HeaderValue, StatusCode};
use poem::web::Path;
use poem::{get, handler, Body, Endpoint, EndpointExt, Request, Response, Route};
use std::panic::AssertUnwindSafe;

#[handler]
fn user(Path(id): Path<String>) -> String {
    format!("user {id}")
}

#[handler]
fn teapot() -> Response {
    Response::builder()
        .status(StatusCode::IM_A_TEAPOT)
        .header("x-kind", "teapot")
        .body("short and stout")
}

#[handler]
fn unavailable() -> poem::Result<String> {
    Err(poem::Error::from_string(
        "inventory unavailable",
        StatusCode::SERVICE_UNAVAILABLE,
    ))
}

fn routes() -> Route {
    Route::new()
        .at("/users/:id", get(user))
        .at("/teapot", get(teapot))
        .at("/unavailable", get(unavailable))
        .nest("/api", Route::new().at("/orders/:order", get(user)))
}

fn request(path: &str) -> Request {
    Request::builder()
        .uri_str(path)
        .header("host", "localhost")
        .finish()
}

async fn respond(
    app: &impl Endpoint,
    req: Request,
) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
    let res = app.get_response(req).await;
    let status = res.status();
    let mut headers: Vec<(String, String)> = res
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    headers.sort();
    let body = res.into_body().into_vec().await.unwrap_or_default();
    (status, headers, body)
}

#[tokio::test]
async fn names_the_resource_from_the_path_pattern() {
    exporter();
    let app = routes().with(DatadogMiddleware::with_config(
        ddtrace_core::Config::default(),
    ));
    for path in ["/users/pp1", "/api/orders/pp1", "/nothing/pp1"] {
        respond(&app, request(path)).await;
    }
    let users = &server_spans("/users/pp1")[0];
    assert_eq!(
        attr(users, "datadog.resource").as_deref(),
        Some("GET /users/:id")
    );
    assert_eq!(attr(users, "http.route").as_deref(), Some("/users/:id"));
    assert_eq!(attr(users, "datadog.name").as_deref(), Some("poem.request"));
    let nested = &server_spans("/api/orders/pp1")[0];
    assert_eq!(
        attr(nested, "datadog.resource").as_deref(),
        Some("GET /api/orders/:order")
    );
    let missing = &server_spans("/nothing/pp1")[0];
    assert_eq!(
        attr(missing, "datadog.resource").as_deref(),
        Some("GET 404")
    );
    assert_eq!(attr(missing, "datadog.error.msg"), None);
}

#[tokio::test]
async fn responses_are_unchanged_and_errors_recorded() {
    exporter();
    let bare = routes();
    let traced = routes().with(DatadogMiddleware::with_config(
        ddtrace_core::Config::default(),
    ));
    for path in [
        "/users/same3",
        "/teapot",
        "/unavailable",
        "/api/orders/9",
        "/missing/same3",
    ] {
        assert_eq!(
            respond(&bare, request(path)).await,
            respond(&traced, request(path)).await,
            "{path}"
        );
    }
    let span = &server_spans("/unavailable")[0];
    assert_eq!(
        attr(span, "datadog.error.msg").as_deref(),
        Some("inventory unavailable")
    );
    assert_eq!(
        attr(span, "datadog.resource").as_deref(),
        Some("GET /unavailable")
    );
    assert_eq!(
        attr(span, "datadog.http_status_code").as_deref(),
        Some("503")
    );
}

#[tokio::test]
async fn a_panic_is_recorded_then_unwinds_as_without_the_middleware() {
    exporter();
    #[handler]
    fn boom() -> &'static str {
        panic!("poem test panic")
    }
    let app = Route::new()
        .at("/boom/p3", get(boom))
        .with(DatadogMiddleware::with_config(
            ddtrace_core::Config::default(),
        ));
    let outcome = AssertUnwindSafe(app.call(request("/boom/p3")))
        .catch_unwind()
        .await;
    let Err(payload) = outcome else {
        panic!("the panic must reach the caller");
    };
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"poem test panic"));
    let span = &server_spans("/boom/p3")[0];
    assert_eq!(attr(span, "datadog.error.type").as_deref(), Some("panic"));
    assert_eq!(
        attr(span, "datadog.error.msg").as_deref(),
        Some("poem test panic")
    );
}

#[tokio::test]
async fn catch_panic_inside_still_works_and_the_span_says_error() {
    exporter();
    #[handler]
    fn boom() -> &'static str {
        panic!("caught panic")
    }
    let app = Route::new()
        .at("/boom/cp3", get(boom))
        .with(poem::middleware::CatchPanic::new())
        .with(DatadogMiddleware::with_config(
            ddtrace_core::Config::default(),
        ));
    let (status, _, _) = respond(&app, request("/boom/cp3")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let span = &server_spans("/boom/cp3")[0];
    assert_eq!(
        attr(span, "datadog.http_status_code").as_deref(),
        Some("500")
    );
}

#[tokio::test]
async fn the_span_ends_with_the_body_and_keeps_its_length() {
    exporter();
    #[handler]
    fn streamed() -> Body {
        Body::from_bytes_stream(futures_util::stream::iter(
            ["a", "b", "c"].map(|c| Ok::<_, std::io::Error>(bytes_of(c))),
        ))
    }
    fn bytes_of(s: &'static str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }
    let app = Route::new()
        .at("/stream/e3", get(streamed))
        .at(
            "/fixed/e3",
            get(poem::endpoint::make_sync(|_| "fixed length")),
        )
        .with(DatadogMiddleware::with_config(
            ddtrace_core::Config::default(),
        ));
    let res = app.call(request("/stream/e3")).await.unwrap();
    assert!(
        server_spans("/stream/e3").is_empty(),
        "ended before the body was sent"
    );
    assert_eq!(res.into_body().into_vec().await.unwrap(), b"abc");
    assert_eq!(server_spans("/stream/e3").len(), 1);

    let res = app.call(request("/fixed/e3")).await.unwrap();
    let body: http_body_util::combinators::BoxBody<_, _> = res.into_body().into();
    assert_eq!(http_body::Body::size_hint(&body).exact(), Some(12));
    drop(body); // the client went away
    assert_eq!(server_spans("/fixed/e3").len(), 1);
}

#[tokio::test]
async fn handlers_run_inside_the_request_span() {
    exporter();
    let app = Route::new()
        .at(
            "/child/c3",
            get(poem::endpoint::make(|_| async {
                let child = global::tracer("handler").start("handler.child");
                Context::current().with_span(child).span().end();
                "ok"
            })),
        )
        .with(DatadogMiddleware::with_config(
            ddtrace_core::Config::default(),
        ));
    respond(&app, request("/child/c3")).await;
    let server = &server_spans("/child/c3")[0];
    ddtrace_conformance::inproc::assert_child_of(server, "handler.child");
}

#[tokio::test]
async fn hostile_headers_never_panic_or_change_the_response() {
    exporter();
    let bare = routes();
    let traced = routes().with(
        DatadogMiddleware::builder()
            .header_tags("x-big,x-bin")
            .client_ip(true)
            .build()
            .unwrap(),
    );
    for (i, headers) in ddtrace_conformance::inproc::hostile_header_cases()
        .into_iter()
        .enumerate()
    {
        let build = || {
            let mut req = request("/users/hostile3");
            for (k, v) in &headers {
                req.headers_mut()
                    .append(*k, HeaderValue::from_bytes(v).unwrap());
            }
            req
        };
        assert_eq!(
            respond(&bare, build()).await,
            respond(&traced, build()).await,
            "case {i}"
        );
    }
}
