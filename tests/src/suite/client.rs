//! The client span of an outgoing call (`/outbound`, through `ddtrace-reqwest`): Datadog's
//! client tags, its place under the server span, and errors for a 4xx answer and for a
//! connection refused.

use super::*;

/// `url` as one query parameter's value.
fn encode(url: &str) -> String {
    url.replace('%', "%25")
        .replace('?', "%3F")
        .replace('&', "%26")
        .replace('=', "%3D")
}

/// Client spans: tags, parent, and the two kinds of error.
pub fn client_spans(spec: &AppSpec) {
    let mut report = Report::default();
    let agent = TestAgent::start();
    let capture = CaptureServer::start();
    let ok_url = capture.url("/client/ok?token=abc&page=2");
    let refused_port = crate::agent::free_port();
    let tags = env(&[("DD_TRACE_HEADER_TAGS", REQUEST_ID_HEADER_TAGS)]);
    let (responses, stopped, spans, _) = run_app(spec, &agent, "client", &tags, |app| {
        let missing = format!("http://127.0.0.1:{}/status/404", app.port);
        let refused = format!("http://127.0.0.1:{refused_port}/gone");
        [
            ("ok", &ok_url),
            ("not-found", &missing),
            ("refused", &refused),
        ]
        .map(|(id, url)| {
            (
                id,
                get(app, &format!("/outbound?url={}", encode(url)), id, &[]),
            )
        })
    });
    check_stop(&mut report, &stopped);
    let status = |id: &str| {
        responses
            .iter()
            .find(|(i, _)| *i == id)
            .and_then(|(_, r)| r.as_ref().ok())
            .map(|r| r.status)
    };
    report.check(status("ok") == Some(200), || {
        format!(
            "client ok: expected the downstream 200, got {:?}",
            status("ok")
        )
    });
    report.check(status("not-found") == Some(404), || {
        format!(
            "client not-found: expected the downstream 404, got {:?}",
            status("not-found")
        )
    });
    report.check(status("refused") == Some(502), || {
        format!("client refused: expected 502, got {:?}", status("refused"))
    });
    let client_of = |id: &str| -> Option<&Value> {
        let server = spans
            .with_meta(REQUEST_ID_TAG, id)
            .into_iter()
            .find(|s| meta(s, "span.kind") == Some("server"))?;
        spans
            .children_of(server)
            .into_iter()
            .find(|c| meta(c, "span.kind") == Some("client"))
    };
    for id in ["ok", "not-found", "refused"] {
        let Some(c) = client_of(id) else {
            report.check(false, || {
                format!("client {id}: no client span under the server span")
            });
            continue;
        };
        report.check(
            c["name"] == "reqwest.request" && c["type"] == "http",
            || {
                format!(
                    "client {id}: name {} type {}, expected reqwest.request http",
                    c["name"], c["type"]
                )
            },
        );
        meta_eq(&mut report, c, id, "component", "reqwest");
        meta_eq(&mut report, c, id, "http.method", "GET");
        meta_eq(&mut report, c, id, "out.host", "127.0.0.1");
        report.check(c["metrics"]["_dd.measured"].as_f64() == Some(1.0), || {
            format!("client {id}: _dd.measured should be 1: {}", c["metrics"])
        });
    }
    if let Some(c) = client_of("ok") {
        let port = ok_url
            .trim_start_matches("http://127.0.0.1:")
            .split('/')
            .next()
            .unwrap_or_default();
        meta_eq(
            &mut report,
            c,
            "ok",
            "http.url",
            &format!("http://127.0.0.1:{port}/client/ok?<redacted>&page=2"),
        );
        meta_eq(&mut report, c, "ok", "http.status_code", "200");
        report.check(c["resource"] == "GET /client/ok", || {
            format!(
                "client ok: resource {}, expected GET /client/ok",
                c["resource"]
            )
        });
        report.check(error_flag(c) == 0, || "client ok: not an error".to_string());
    }
    if let Some(c) = client_of("not-found") {
        meta_eq(&mut report, c, "not-found", "http.status_code", "404");
        report.check(error_flag(c) == 1, || {
            "client not-found: a 404 answer is a client error".to_string()
        });
        meta_eq(
            &mut report,
            c,
            "not-found",
            "error.message",
            "404: Not Found",
        );
    }
    if let Some(c) = client_of("refused") {
        report.check(error_flag(c) == 1, || {
            "client refused: a refused connection is an error".to_string()
        });
        meta_absent(&mut report, c, "refused", "http.status_code");
        report.check(
            meta(c, "error.message").is_some_and(|m| m.to_ascii_lowercase().contains("refused")),
            || {
                format!(
                    "client refused: error.message should say the connection was refused: {:?}",
                    meta(c, "error.message")
                )
            },
        );
        report.check(meta(c, "error.type").is_some(), || {
            "client refused: error.type missing".to_string()
        });
    }
    report.finish(&format!("{} client spans", spec.framework));
}
