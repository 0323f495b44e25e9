//! In-process tests of the fairing and `traced` routes, through rocket's local client; spans
//! go to an in-memory exporter installed as the global OpenTelemetry provider.

use ddtrace_conformance::inproc::{attr, exporter, server_spans};
use ddtrace_rocket::{traced, DatadogFairing};
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::{global, Context};
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::response::stream::TextStream;
use rocket::{get, routes, Build, Rocket};

#[get("/users/<id>")]
fn user(id: &str) -> String {
    format!("user {id}")
}

#[get("/teapot")]
fn teapot() -> (Status, &'static str) {
    (Status::ImATeapot, "short and stout")
}

#[get("/boom")]
fn boom() -> &'static str {
    panic!("rocket test panic")
}

#[get("/stream")]
fn stream() -> TextStream![&'static str] {
    TextStream! {
        for c in ["a", "b", "c"] {
            rocket::tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            yield c;
        }
    }
}

#[get("/child")]
fn child() -> &'static str {
    let span = global::tracer("handler").start("handler.child");
    Context::current().with_span(span).span().end();
    "ok"
}

fn app(traced_app: bool) -> Rocket<Build> {
    let routes = routes![user, teapot, boom, stream, child];
    let rocket = rocket::build().configure(rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        ..rocket::Config::debug_default()
    });
    if traced_app {
        rocket
            .attach(DatadogFairing::with_config(ddtrace_core::Config::default()))
            .mount("/api", traced(routes))
    } else {
        rocket.mount("/api", routes)
    }
}

async fn respond(client: &Client, path: &str) -> (Status, Vec<String>, String) {
    let res = client.get(path.to_string()).dispatch().await;
    let status = res.status();
    let mut headers: Vec<String> = res.headers().iter().map(|h| h.to_string()).collect();
    headers.sort();
    (status, headers, res.into_string().await.unwrap_or_default())
}

#[rocket::async_test]
async fn names_the_resource_from_the_mounted_route() {
    exporter();
    let client = Client::untracked(app(true)).await.unwrap();
    respond(&client, "/api/users/mr4").await;
    respond(&client, "/nothing/mr4").await;
    let users = &server_spans("/api/users/mr4")[0];
    assert_eq!(
        attr(users, "datadog.resource").as_deref(),
        Some("GET /api/users/<id>")
    );
    assert_eq!(
        attr(users, "http.route").as_deref(),
        Some("/api/users/<id>")
    );
    assert_eq!(
        attr(users, "datadog.name").as_deref(),
        Some("rocket.request")
    );
    let missing = &server_spans("/nothing/mr4")[0];
    assert_eq!(
        attr(missing, "datadog.resource").as_deref(),
        Some("GET 404")
    );
    assert_eq!(attr(missing, "http.route"), None);
}

#[rocket::async_test]
async fn responses_are_unchanged() {
    exporter();
    let bare = Client::untracked(app(false)).await.unwrap();
    let traced_client = Client::untracked(app(true)).await.unwrap();
    for path in [
        "/api/users/same4",
        "/api/teapot",
        "/api/stream",
        "/missing/same4",
    ] {
        assert_eq!(
            respond(&bare, path).await,
            respond(&traced_client, path).await,
            "{path}"
        );
    }
}

#[rocket::async_test]
async fn a_panic_is_recorded_and_rocket_still_answers_500() {
    exporter();
    let client = Client::untracked(app(true)).await.unwrap();
    let (status, _, _) = respond(&client, "/api/boom").await;
    assert_eq!(status, Status::InternalServerError);
    let span = &server_spans("/api/boom")[0];
    assert_eq!(attr(span, "datadog.error.type").as_deref(), Some("panic"));
    assert_eq!(
        attr(span, "datadog.error.msg").as_deref(),
        Some("rocket test panic")
    );
    assert_eq!(
        attr(span, "datadog.resource").as_deref(),
        Some("GET /api/boom")
    );
    assert_eq!(
        attr(span, "datadog.http_status_code").as_deref(),
        Some("500")
    );
}

#[rocket::async_test]
async fn traced_handlers_run_inside_the_request_span() {
    exporter();
    let client = Client::untracked(app(true)).await.unwrap();
    respond(&client, "/api/child").await;
    let server = &server_spans("/api/child")[0];
    ddtrace_conformance::inproc::assert_child_of(server, "handler.child");
}

#[rocket::async_test]
async fn the_span_ends_with_the_body() {
    exporter();
    let client = Client::untracked(app(true)).await.unwrap();
    let res = client.get("/api/stream?e4").dispatch().await;
    assert_eq!(res.into_string().await.as_deref(), Some("abc"));
    let spans = server_spans("/api/stream?e4");
    assert_eq!(spans.len(), 1);
    // The body takes 3 x 50 ms to produce after the handler returned; the span covers it.
    let lasted = spans[0]
        .end_time
        .duration_since(spans[0].start_time)
        .unwrap();
    assert!(
        lasted >= std::time::Duration::from_millis(140),
        "lasted {lasted:?}"
    );
}

#[rocket::async_test]
async fn hostile_headers_never_panic_or_change_the_response() {
    exporter();
    let bare = Client::untracked(app(false)).await.unwrap();
    let traced_client = Client::untracked(
        rocket::build()
            .configure(rocket::Config {
                log_level: rocket::config::LogLevel::Off,
                ..rocket::Config::debug_default()
            })
            .attach(
                DatadogFairing::builder()
                    .header_tags("x-big")
                    .client_ip(true)
                    .build()
                    .unwrap(),
            )
            .mount("/api", traced(routes![user])),
    )
    .await
    .unwrap();
    // rocket's headers are text: the cases whose bytes are UTF-8.
    let cases = ddtrace_conformance::inproc::hostile_header_cases()
        .into_iter()
        .filter_map(|case| {
            case.into_iter()
                .map(|(k, v)| String::from_utf8(v).ok().map(|v| (k, v)))
                .collect::<Option<Vec<_>>>()
        });
    for (i, headers) in cases.enumerate() {
        let mut a = bare.get("/api/users/hostile4");
        let mut b = traced_client.get("/api/users/hostile4");
        for (k, v) in &headers {
            a = a.header(Header::new(k.to_string(), v.clone()));
            b = b.header(Header::new(k.to_string(), v.clone()));
        }
        let (a, b) = (a.dispatch().await, b.dispatch().await);
        assert_eq!(a.status(), b.status(), "case {i}");
        assert_eq!(a.into_string().await, b.into_string().await, "case {i}");
    }
}
