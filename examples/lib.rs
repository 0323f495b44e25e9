//! What every conformance app shares, whatever its framework: the outbound HTTP client with
//! trace-context injection, the W3C harness contract, query parsing and shutdown signals.

use http::StatusCode;
use std::time::Duration;

/// Decoded `key=value` pairs of a raw query string.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `GET /log?marker=M`: one INFO event, `conformance log M`, written inside the request (the
/// suite finds that line in the app's output and checks its trace and span ids).
pub fn log_marker(query: &str) {
    let marker = query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "marker")
        .map(|(_, v)| v)
        .unwrap_or_default();
    tracing::info!("conformance log {marker}");
}

/// The event every conformance app writes once it has started, outside any request: its line
/// carries no trace ids.
pub fn log_started() {
    tracing::info!("conformance start");
}

fn decode(component: &str) -> String {
    form_urlencoded::parse(format!("x={component}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// One client per thread: actix-web runs a runtime per worker thread, and a client's pooled
/// connections belong to the runtime that opened them. Traced by `ddtrace-reqwest`, as a user
/// sets it up.
fn client() -> reqwest_middleware::ClientWithMiddleware {
    thread_local! {
        static CLIENT: reqwest_middleware::ClientWithMiddleware =
            reqwest_middleware::ClientBuilder::new(
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap_or_default(),
            )
            .with(ddtrace_reqwest::DatadogMiddleware::new())
            .build();
    }
    CLIENT.with(reqwest_middleware::ClientWithMiddleware::clone)
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
                baggage.push((decode(k), decode(v)));
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
    let mut items = ddtrace_reqwest::Baggage::new();
    for (k, v) in baggage {
        items = items.with(k, v);
    }
    let sent = client().get(&url).with_extension(items).send().await;
    match sent {
        Ok(res) => res.status(),
        Err(_) => StatusCode::BAD_GATEWAY,
    }
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
        // Each call from its own client span (the middleware's), with the context injected.
        let _ = client().post(&call.url).json(&call.arguments).send().await;
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    ddtrace_core::shutdown_signal().await
}

/// The integration as the suite asks for it: `new()`, the way a user installs it, or, when
/// `CONFORMANCE_HOOKS=1`, built with the options the suite's `hooks` group checks (every
/// integration takes them from the core's builder, so one definition serves every app):
///
/// - `ignore`: `/users/ignored` gets no span;
/// - `resource_name`: with an `x-resource` header, the resource is that header, a space and
///   the matched route template;
/// - `on_request`: the `x-user-id` header becomes the tag `usr.id`;
/// - `on_response`: the tag `status.class` (`2xx`, `4xx`, …), and `response.marker` from the
///   response header `x-conformance` (which `/headers` sets);
/// - `error_status`: 404 and 5xx are errors.
pub fn integration<T>(new: fn() -> T, builder: fn() -> ddtrace_core::ConfigBuilder<T>) -> T {
    if std::env::var("CONFORMANCE_HOOKS").as_deref() != Ok("1") {
        return new();
    }
    let built = builder()
        .ignore(|req| req.path() == "/users/ignored")
        .resource_name(|req, route| {
            let resource = req.header("x-resource")?;
            Some(format!("{resource} {}", route.unwrap_or("(no route)")))
        })
        .on_request(|req, span| {
            if let Some(user) = req.header("x-user-id") {
                span.set_tag("usr.id", user);
            }
        })
        .on_response(|resp, span| {
            span.set_tag("status.class", format!("{}xx", resp.status() / 100));
            if let Some(marker) = resp.header("x-conformance") {
                span.set_tag("response.marker", marker);
            }
        })
        .error_status(|status| status == 404 || status >= 500)
        .build();
    match built {
        Ok(integration) => integration,
        Err(e) => {
            eprintln!("conformance app: invalid options: {e}");
            std::process::exit(2)
        }
    }
}

/// `GET /stream`'s body: `chunk 0\n` to `chunk 4\n`, 100 ms apart, so the request span, which
/// ends with the body, lasts at least 400 ms.
pub fn chunks() -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send {
    futures_util::stream::unfold(0u8, |i| async move {
        if i == 5 {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some((Ok(bytes::Bytes::from(format!("chunk {i}\n"))), i + 1))
    })
}

/// `GET /child`'s work: a `tracing` span named `child.work` (10 ms), which must arrive as a
/// child of the request span with that operation name.
#[tracing::instrument(name = "child.work")]
pub async fn child_work() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// The port a conformance app listens on: `PORT`, or 8080.
pub fn port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(8080)
}
