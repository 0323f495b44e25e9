//! DDTRACE (5): the conformance app for foo (docs/conformance.md): every route, served with the
//! integration installed the way a user installs it. `tests/conformance.rs` runs the suite on it.
//!
//! `PORT=18080 DD_TRACE_AGENT_URL=http://127.0.0.1:8126 cargo run -p ddtrace-foo --example conformance-foo`

use bytes::Bytes;
use ddtrace_examples::{
    log_marker, log_started, outbound, query_pairs, shutdown_signal, w3c_harness, W3cCall,
};
use ddtrace_foo::{FooTracing, MatchedRoute};
use futures_util::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::time::Duration;

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

fn full(text: impl Into<Bytes>) -> Body {
    Full::new(text.into()).map_err(|never| match never {}).boxed_unsync()
}

fn with_status(status: StatusCode, body: Body) -> Response<Body> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    res
}

/// The app's own error type, turned into a 500 by the app.
#[derive(Debug)]
struct ConformanceError;

impl std::fmt::Display for ConformanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("conformance failure")
    }
}

impl std::error::Error for ConformanceError {}

fn stream() -> Body {
    let frames = ddtrace_examples::chunks().map(|chunk| chunk.map(Frame::data));
    UnsyncBoxBody::new(StreamBody::new(frames.boxed()))
}

/// The hand-written router: which route matched, then its handler.
async fn app(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (route, response) = match (&method, segments.as_slice()) {
        (&Method::GET, ["users", id]) => ("/users/{id}", Response::new(full(format!("user {id}")))),
        (&Method::GET, ["status", code]) => {
            let status = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::BAD_REQUEST);
            ("/status/{code}", with_status(status, full("")))
        }
        (&Method::GET, ["fail"]) => {
            let error = ConformanceError;
            ddtrace_core::record_error(&error);
            ("/fail", with_status(StatusCode::INTERNAL_SERVER_ERROR, full(error.to_string())))
        }
        (&Method::GET, ["panic"]) => panic!("conformance panic"),
        (&Method::GET, ["stream"]) => ("/stream", Response::new(stream())),
        (&Method::GET, ["child"]) => {
            ddtrace_examples::child_work().await;
            ("/child", Response::new(full("ok")))
        }
        (&Method::GET, ["headers"]) => {
            let mut res = Response::new(full("headers"));
            res.headers_mut().insert("x-conformance", "yes".parse().expect("static header"));
            for (key, value) in query_pairs(&query) {
                if let (true, Some((name, value))) = (key == "set", value.split_once(':')) {
                    if let (Ok(name), Ok(value)) = (
                        name.parse::<hyper::header::HeaderName>(),
                        value.parse::<hyper::header::HeaderValue>(),
                    ) {
                        res.headers_mut().append(name, value);
                    }
                }
            }
            ("/headers", res)
        }
        (&Method::POST, ["echo"]) => {
            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            ("/echo", Response::new(full(body)))
        }
        (&Method::GET, ["outbound"]) => {
            let status = outbound(&query).await;
            ("/outbound", with_status(status, full("")))
        }
        (&Method::GET, ["log"]) => {
            log_marker(&query);
            ("/log", Response::new(full("")))
        }
        (&Method::POST, ["w3c"]) => {
            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let status = match serde_json::from_slice::<Vec<W3cCall>>(&body) {
                Ok(calls) => {
                    w3c_harness(calls).await;
                    StatusCode::OK
                }
                Err(_) => StatusCode::BAD_REQUEST,
            };
            ("/w3c", with_status(status, full("")))
        }
        _ => return Ok(with_status(StatusCode::NOT_FOUND, full(""))),
    };
    let mut response = response;
    response.extensions_mut().insert(MatchedRoute(route));
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let guard = ddtrace_core::init().with_shutdown_timeout(Duration::from_secs(3));
    log_started();
    let port = ddtrace_examples::port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let tracing = ddtrace_examples::integration(FooTracing::new, FooTracing::builder);
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let service = tracing
                    .wrap(hyper::service::service_fn(app))
                    .with_peer(Some(peer.ip()));
                let conn = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = &mut signal => break,
        }
    }
    // Stop accepting, finish in-flight requests, then flush every span.
    let _ = tokio::time::timeout(Duration::from_secs(3), graceful.shutdown()).await;
    guard.shutdown();
    Ok(())
}
