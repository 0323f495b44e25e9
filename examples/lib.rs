//! What every conformance app shares, whatever its framework: the outbound HTTP client with
//! trace-context injection, the W3C harness contract, query parsing and shutdown signals.

use http::{HeaderMap, StatusCode};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{global, Context, KeyValue};
use std::time::Duration;

/// Decoded `key=value` pairs of a raw query string.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn decode(component: &str) -> String {
    form_urlencoded::parse(format!("x={component}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// One client per thread: actix-web runs a runtime per worker thread, and a client's pooled
/// connections belong to the runtime that opened them.
fn client() -> reqwest::Client {
    thread_local! {
        static CLIENT: reqwest::Client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
    }
    CLIENT.with(reqwest::Client::clone)
}

/// Starts a client span under the current context and returns the context to inject from.
fn client_context(method: &'static str, url: &str, baggage: Vec<KeyValue>) -> Context {
    let parent = Context::current();
    let tracer = global::tracer("conformance");
    let span = tracer
        .span_builder("http.client.request")
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new("http.request.method", method),
            KeyValue::new("url.full", url.to_string()),
        ])
        .start_with_context(&tracer, &parent);
    let cx = parent.with_span(span);
    if baggage.is_empty() {
        return cx;
    }
    let mut items: Vec<KeyValue> = cx
        .baggage()
        .iter()
        .map(|(k, (v, _))| KeyValue::new(k.clone(), v.to_string()))
        .collect();
    items.extend(baggage);
    cx.with_baggage(items)
}

fn finish_client(cx: &Context, status: StatusCode) {
    let span = cx.span();
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status.as_u16()),
    ));
    span.end();
}

/// `GET /outbound?url=U[&baggage=k=v…]`: calls `U` from a client span with the context
/// injected, and answers with the downstream status.
pub async fn outbound(query: &str) -> StatusCode {
    let mut url = None;
    let mut baggage = Vec::new();
    for param in query.split('&') {
        // `baggage=k=v` is split on its first raw `=` before decoding, so a key or value that
        // itself holds `=` is sent percent-encoded (`%3D`) and stays unambiguous.
        if let Some(item) = param.strip_prefix("baggage=") {
            if let Some((k, v)) = item.split_once('=') {
                baggage.push(KeyValue::new(decode(k), decode(v)));
            }
        }
    }
    for (k, v) in query_pairs(query) {
        if k == "url" {
            url = Some(v);
        }
    }
    let Some(url) = url else {
        return StatusCode::BAD_REQUEST;
    };
    let cx = client_context("GET", &url, baggage);
    let mut headers = HeaderMap::new();
    ddtrace_core::propagation::inject(&cx, &mut headers);
    let status = match client().get(&url).headers(headers).send().await {
        Ok(res) => res.status(),
        Err(_) => StatusCode::BAD_GATEWAY,
    };
    finish_client(&cx, status);
    status
}

/// One element of the W3C trace-context harness's request body.
#[derive(Debug, serde::Deserialize)]
pub struct W3cCall {
    /// Where to POST.
    pub url: String,
    /// The JSON body to POST.
    #[serde(default)]
    pub arguments: serde_json::Value,
}

/// `POST /w3c`: each call in order, from its own client span, with the context injected.
pub async fn w3c_harness(calls: Vec<W3cCall>) {
    for call in calls {
        let cx = client_context("POST", &call.url, Vec::new());
        let mut headers = HeaderMap::new();
        ddtrace_core::propagation::inject(&cx, &mut headers);
        let status = match client()
            .post(&call.url)
            .headers(headers)
            .json(&call.arguments)
            .send()
            .await
        {
            Ok(res) => res.status(),
            Err(_) => StatusCode::BAD_GATEWAY,
        };
        finish_client(&cx, status);
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
