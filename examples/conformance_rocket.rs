//! The rocket conformance app: the routes of docs/conformance.md, with `DatadogFairing` attached
//! and the routes mounted through `traced`, the way a user installs them. Driven by the suite
//! in `tests/`.
//!
//! `PORT=18080 DD_TRACE_AGENT_URL=http://127.0.0.1:8126 cargo run -p ddtrace-examples --bin conformance-rocket`

use ddtrace_examples::{log_marker, log_started, outbound, query_pairs, w3c_harness, W3cCall};
use ddtrace_rocket::{traced, DatadogFairing};
use rocket::http::uri::Origin;
use rocket::http::{Header, Status};
use rocket::request::Request;
use rocket::response::status::Custom;
use rocket::response::stream::TextStream;
use rocket::response::{self, Responder, Response};
use rocket::{get, post, routes};
use std::io::Cursor;
use std::time::Duration;

#[get("/users/<id>")]
fn user(id: &str) -> String {
    format!("user {id}")
}

#[get("/status/<code>")]
fn status(code: u16) -> Custom<()> {
    Custom(Status::new(code), ())
}

/// The app's own error type; its responder answers 500.
#[derive(Debug)]
struct ConformanceError;

impl std::fmt::Display for ConformanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("conformance failure")
    }
}

impl std::error::Error for ConformanceError {}

impl<'r> Responder<'r, 'static> for ConformanceError {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        // The one line a rocket user adds to see handler errors on the request span.
        ddtrace_core::record_error(&self);
        let body = self.to_string();
        Response::build()
            .status(Status::InternalServerError)
            .sized_body(body.len(), Cursor::new(body))
            .ok()
    }
}

#[get("/fail")]
fn fail() -> Result<String, ConformanceError> {
    Err(ConformanceError)
}

#[get("/panic")]
fn panic_route() -> &'static str {
    panic!("conformance panic")
}

#[get("/stream")]
fn stream() -> TextStream![String] {
    TextStream! {
        for i in 0..5 {
            if i > 0 {
                rocket::tokio::time::sleep(Duration::from_millis(100)).await;
            }
            yield format!("chunk {i}\n");
        }
    }
}

#[get("/child")]
async fn child() -> &'static str {
    ddtrace_examples::child_work().await;
    "ok"
}

/// `/headers`: `x-conformance: yes` plus each `set=name:value`.
struct WithHeaders(Vec<(String, String)>);

impl<'r> Responder<'r, 'static> for WithHeaders {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut res = Response::build();
        res.header(Header::new("x-conformance", "yes"));
        for (name, value) in self.0 {
            res.header_adjoin(Header::new(name, value));
        }
        res.sized_body(7, Cursor::new("headers")).ok()
    }
}

#[get("/headers")]
fn headers(uri: &Origin<'_>) -> WithHeaders {
    let query = uri.query().map(|q| q.as_str()).unwrap_or("");
    WithHeaders(
        query_pairs(query)
            .into_iter()
            .filter(|(k, _)| k == "set")
            .filter_map(|(_, v)| {
                v.split_once(':')
                    .map(|(n, v)| (n.to_string(), v.to_string()))
            })
            .collect(),
    )
}

#[post("/echo", data = "<body>")]
fn echo(body: Vec<u8>) -> Vec<u8> {
    body
}

#[get("/outbound")]
async fn outbound_route(uri: &Origin<'_>) -> Custom<()> {
    let status = outbound(uri.query().map(|q| q.as_str()).unwrap_or("")).await;
    Custom(Status::new(status.as_u16()), ())
}

#[get("/log")]
fn log_route(uri: &Origin<'_>) -> Status {
    log_marker(uri.query().map(|q| q.as_str()).unwrap_or(""));
    Status::Ok
}

#[post("/w3c", data = "<body>")]
async fn w3c(body: Vec<u8>) -> Status {
    match serde_json::from_slice::<Vec<W3cCall>>(&body) {
        Ok(calls) => {
            w3c_harness(calls).await;
            Status::Ok
        }
        Err(_) => Status::BadRequest,
    }
}

#[rocket::main]
async fn main() -> Result<(), Box<rocket::Error>> {
    let guard = ddtrace_core::init().with_shutdown_timeout(Duration::from_secs(3));
    log_started();
    let port = ddtrace_examples::port();
    let config = rocket::Config {
        port,
        address: std::net::Ipv4Addr::LOCALHOST.into(),
        log_level: rocket::config::LogLevel::Critical,
        shutdown: rocket::config::Shutdown {
            grace: 2,
            mercy: 1,
            ..Default::default()
        },
        ..rocket::Config::default()
    };
    let launched = rocket::custom(config)
        .attach(ddtrace_examples::integration(
            DatadogFairing::new,
            DatadogFairing::builder,
        ))
        .mount(
            "/",
            traced(routes![
                user,
                status,
                fail,
                panic_route,
                stream,
                child,
                headers,
                echo,
                outbound_route,
                log_route,
                w3c
            ]),
        )
        .launch()
        .await;
    // rocket stops on SIGTERM/SIGINT after in-flight requests; then flush every span.
    guard.shutdown();
    launched.map(|_| ()).map_err(Box::new)
}
