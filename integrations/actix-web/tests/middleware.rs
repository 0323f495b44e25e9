//! In-process tests of the middleware: spans go to an in-memory exporter installed as the
//! global OpenTelemetry provider (used when `ddtrace_core::init` was not called).

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{test, App, HttpResponse, ResponseError};
use ddtrace_actix_web::DatadogTracing;
use ddtrace_conformance::inproc::{attr, exporter, server_spans};
use futures_util::FutureExt;
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::{global, Context};
use std::panic::AssertUnwindSafe;

#[derive(Debug)]
struct Unavailable;

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("inventory unavailable")
    }
}

impl ResponseError for Unavailable {
    fn status_code(&self) -> StatusCode {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

fn app_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/users/{id}",
        web::get().to(|id: web::Path<String>| async move { format!("user {id}") }),
    )
    .route(
        "/teapot",
        web::get().to(|| async {
            HttpResponse::build(StatusCode::IM_A_TEAPOT)
                .insert_header(("x-kind", "teapot"))
                .body("short and stout")
        }),
    )
    .route(
        "/unavailable",
        web::get().to(|| async { Err::<String, _>(Unavailable) }),
    )
    .service(web::scope("/api").route("/orders/{order}", web::get().to(|| async { "order" })));
}

async fn body_of<B: MessageBody>(res: ServiceResponse<B>) -> (u16, Vec<(String, String)>, Bytes)
where
    B::Error: std::fmt::Debug,
{
    let status = res.status().as_u16();
    let mut headers: Vec<(String, String)> = res
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    headers.sort();
    let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
    (status, headers, body)
}

#[actix_web::test]
async fn names_the_resource_from_the_route_pattern() {
    exporter();
    let app = test::init_service(
        App::new()
            .wrap(DatadogTracing::with_config(ddtrace_core::Config::default()))
            .configure(app_routes),
    )
    .await;
    for path in ["/users/rp1", "/api/orders/rp1", "/nothing/rp1"] {
        test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
    }
    let users = &server_spans("/users/rp1")[0];
    assert_eq!(
        attr(users, "datadog.resource").as_deref(),
        Some("GET /users/{id}")
    );
    assert_eq!(attr(users, "http.route").as_deref(), Some("/users/{id}"));
    assert_eq!(
        attr(users, "datadog.name").as_deref(),
        Some("actix-web.request")
    );
    assert_eq!(attr(users, "component").as_deref(), Some("actix-web"));
    let scoped = &server_spans("/api/orders/rp1")[0];
    assert_eq!(
        attr(scoped, "datadog.resource").as_deref(),
        Some("GET /api/orders/{order}")
    );
    let missing = &server_spans("/nothing/rp1")[0];
    assert_eq!(
        attr(missing, "datadog.resource").as_deref(),
        Some("GET 404")
    );
    assert_eq!(attr(missing, "http.route"), None);
}

#[actix_web::test]
async fn responses_are_unchanged_and_errors_recorded() {
    exporter();
    let bare = test::init_service(App::new().configure(app_routes)).await;
    let traced = test::init_service(
        App::new()
            .wrap(DatadogTracing::with_config(ddtrace_core::Config::default()))
            .configure(app_routes),
    )
    .await;
    for path in [
        "/users/same2",
        "/teapot",
        "/unavailable",
        "/api/orders/9",
        "/missing/same2",
    ] {
        let a = body_of(
            test::call_service(&bare, test::TestRequest::get().uri(path).to_request()).await,
        )
        .await;
        let b = body_of(
            test::call_service(&traced, test::TestRequest::get().uri(path).to_request()).await,
        )
        .await;
        assert_eq!(a, b, "{path}");
    }
    let span = &server_spans("/unavailable")[0];
    assert_eq!(
        attr(span, "datadog.error.msg").as_deref(),
        Some("inventory unavailable")
    );
    assert_eq!(
        attr(span, "datadog.error.type").as_deref(),
        Some("Unavailable")
    );
    assert_eq!(
        attr(span, "datadog.http_status_code").as_deref(),
        Some("503")
    );
}

#[actix_web::test]
async fn a_panic_is_recorded_then_unwinds_as_without_the_middleware() {
    exporter();
    let app = test::init_service(
        App::new()
            .wrap(DatadogTracing::with_config(ddtrace_core::Config::default()))
            .route(
                "/boom/p2",
                web::get().to(|| async {
                    panic!("actix test panic");
                    #[allow(unreachable_code)]
                    ""
                }),
            ),
    )
    .await;
    let req = test::TestRequest::get().uri("/boom/p2").to_request();
    let outcome = AssertUnwindSafe(app.call(req)).catch_unwind().await;
    let Err(payload) = outcome else {
        panic!("the panic must reach the caller");
    };
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"actix test panic"));
    let span = &server_spans("/boom/p2")[0];
    assert_eq!(attr(span, "datadog.error.type").as_deref(), Some("panic"));
    assert_eq!(
        attr(span, "datadog.error.msg").as_deref(),
        Some("actix test panic")
    );
    assert_eq!(
        attr(span, "datadog.resource").as_deref(),
        Some("GET /boom/p2")
    );
}

#[actix_web::test]
async fn the_span_ends_with_the_body_and_once_when_dropped() {
    exporter();
    let app = test::init_service(
        App::new()
            .wrap(DatadogTracing::with_config(ddtrace_core::Config::default()))
            .route(
                "/stream/e2",
                web::get().to(|| async {
                    let chunks = futures_util::stream::iter(
                        ["a", "b", "c"].map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
                    );
                    HttpResponse::Ok().streaming(chunks)
                }),
            )
            .route("/stream/d2", web::get().to(|| async { "never read" })),
    )
    .await;
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/stream/e2").to_request(),
    )
    .await;
    assert!(
        server_spans("/stream/e2").is_empty(),
        "ended before the body was sent"
    );
    let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
    assert_eq!(&body[..], b"abc");
    assert_eq!(server_spans("/stream/e2").len(), 1);

    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/stream/d2").to_request(),
    )
    .await;
    drop(res);
    assert_eq!(server_spans("/stream/d2").len(), 1);
}

#[actix_web::test]
async fn handlers_run_inside_the_request_span() {
    exporter();
    let app = test::init_service(
        App::new()
            .wrap(DatadogTracing::with_config(ddtrace_core::Config::default()))
            .route(
                "/child/c2",
                web::get().to(|| async {
                    let child = global::tracer("handler").start("handler.child");
                    Context::current().with_span(child).span().end();
                    "ok"
                }),
            ),
    )
    .await;
    test::call_service(&app, test::TestRequest::get().uri("/child/c2").to_request()).await;
    let server = &server_spans("/child/c2")[0];
    ddtrace_conformance::inproc::assert_child_of(server, "handler.child");
}

#[actix_web::test]
async fn hostile_headers_never_panic_or_change_the_response() {
    exporter();
    let bare = test::init_service(App::new().configure(app_routes)).await;
    let traced = test::init_service(
        App::new()
            .wrap(
                DatadogTracing::builder()
                    .header_tags("x-big,x-bin")
                    .client_ip(true)
                    .build()
                    .unwrap(),
            )
            .configure(app_routes),
    )
    .await;
    for (i, headers) in ddtrace_conformance::inproc::hostile_header_cases()
        .into_iter()
        .enumerate()
    {
        let build = || {
            let mut req = test::TestRequest::get().uri("/users/hostile2");
            for (k, v) in &headers {
                req = req.append_header((
                    *k,
                    actix_web::http::header::HeaderValue::from_bytes(v).unwrap(),
                ));
            }
            req.to_request()
        };
        let a = body_of(test::call_service(&bare, build()).await).await;
        let b = body_of(test::call_service(&traced, build()).await).await;
        assert_eq!(a, b, "case {i}");
    }
}
