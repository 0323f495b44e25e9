//! The routes of the conformance app: one request each, the spans checked.

use super::*;

/// Every route of docs/conformance.md, with env, version, `DD_TAGS`, header tags and client IP on.
pub fn routes(spec: &AppSpec) {
    let mut report = Report::default();
    let agent = TestAgent::start();
    let capture = CaptureServer::start();
    let environment = env(&[
        ("DD_ENV", "conformance-env"),
        ("DD_VERSION", "1.2.3"),
        ("DD_TAGS", "team:apm,tier:web"),
        (
            "DD_TRACE_HEADER_TAGS",
            "x-request-id:conformance.request_id,x-conformance,x-extra-header:extra",
        ),
        ("DD_TRACE_CLIENT_IP_ENABLED", "true"),
    ]);
    let users_resource = format!("GET {}", spec.users_route);
    let status_resource = format!("GET {}", spec.status_route);

    let (responses, stopped, spans, service) =
        run_app(spec, &agent, "routes", &environment, |app| {
            let mut r: BTreeMap<&str, Result<Response, String>> = BTreeMap::new();
            r.insert(
                "users",
                get(
                    app,
                    "/users/42?password=hunter2&q=1",
                    "users",
                    &[("x-forwarded-for", "8.8.8.8")],
                ),
            );
            for code in ["400", "404", "500", "503"] {
                let id: &'static str = Box::leak(format!("status-{code}").into_boxed_str());
                r.insert(id, get(app, &format!("/status/{code}"), id, &[]));
            }
            r.insert("fail", get(app, "/fail", "fail", &[]));
            r.insert("panic", get(app, "/panic", "panic", &[]));
            r.insert("after-panic", get(app, "/users/7", "after-panic", &[]));
            r.insert("stream", get(app, "/stream", "stream", &[]));
            r.insert("child", get(app, "/child", "child", &[]));
            r.insert(
                "headers",
                get(app, "/headers?set=x-extra-header:hello", "headers", &[]),
            );
            r.insert(
                "echo",
                http1::request(
                    app.port,
                    "POST",
                    "/echo",
                    &[
                        ("x-request-id", "echo"),
                        ("user-agent", USER_AGENT),
                        ("content-type", "text/plain"),
                    ],
                    b"ping pong",
                )
                .map_err(|e| e.to_string()),
            );
            r.insert("unmatched", get(app, "/no/such/route", "unmatched", &[]));
            let out_url = capture.url("/routes/outbound");
            r.insert(
                "outbound",
                get(app, &format!("/outbound?url={out_url}"), "outbound", &[]),
            );
            r.insert(
                "datadog-parent",
                get(
                    app,
                    "/users/5",
                    "datadog-parent",
                    &[
                        ("x-datadog-trace-id", "1234567890123"),
                        ("x-datadog-parent-id", "987654321"),
                        ("x-datadog-sampling-priority", "2"),
                        ("x-datadog-origin", "synthetics"),
                    ],
                ),
            );
            r.insert(
                "w3c-parent",
                get(
                    app,
                    "/users/6",
                    "w3c-parent",
                    &[
                        (
                            "traceparent",
                            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                        ),
                        ("tracestate", "dd=s:2;o:rum,other=x"),
                    ],
                ),
            );
            let harness = format!(
                r#"[{{"url": "{}", "arguments": []}}]"#,
                capture.url("/routes/w3c")
            );
            r.insert(
                "w3c-harness",
                http1::request(
                    app.port,
                    "POST",
                    "/w3c",
                    &[
                        ("x-request-id", "w3c-harness"),
                        ("user-agent", USER_AGENT),
                        ("content-type", "application/json"),
                    ],
                    harness.as_bytes(),
                )
                .map_err(|e| e.to_string()),
            );
            r
        });
    check_stop(&mut report, &stopped);
    report.result("agent payload checks", agent.check_failures());

    let status_of = |id: &str| {
        responses
            .get(id)
            .and_then(|r| r.as_ref().ok())
            .map(|r| r.status)
    };
    report.check(status_of("users") == Some(200), || {
        format!("users: status {:?}", responses.get("users"))
    });
    report.check(
        responses["users"]
            .as_ref()
            .is_ok_and(|r| r.text() == "user 42"),
        || "users: body should be `user 42`".to_string(),
    );
    for code in [400u16, 404, 500, 503] {
        let id = format!("status-{code}");
        report.check(status_of(&id) == Some(code), || {
            format!("{id}: status {:?}", status_of(&id))
        });
    }
    report.check(status_of("fail") == Some(500), || {
        format!("fail: status {:?}", status_of("fail"))
    });
    report.check(matches!(status_of("panic"), None | Some(500)), || {
        format!(
            "panic: a 500 or a closed connection, got {:?}",
            status_of("panic")
        )
    });
    report.check(status_of("after-panic") == Some(200), || {
        "the server must keep serving after a panic".into()
    });
    report.check(
        responses["stream"]
            .as_ref()
            .is_ok_and(|r| r.text() == "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n"),
        || "stream: body must be the 5 chunks, unchanged".to_string(),
    );
    report.check(
        responses["headers"].as_ref().is_ok_and(|r| {
            r.header("x-conformance") == Some("yes") && r.header("x-extra-header") == Some("hello")
        }),
        || "headers: response headers changed".to_string(),
    );
    report.check(
        responses["echo"]
            .as_ref()
            .is_ok_and(|r| r.status == 200 && r.body == b"ping pong"),
        || "echo: body not echoed".to_string(),
    );
    report.check(status_of("unmatched") == Some(404), || {
        "unmatched: expected 404".to_string()
    });
    report.check(status_of("outbound") == Some(200), || {
        "outbound: expected the downstream 200".to_string()
    });

    let port = |span: &Value| {
        meta(span, "http.url")
            .and_then(|u| u.strip_prefix("http://127.0.0.1:"))
            .and_then(|u| u.split('/').next())
            .map(str::to_string)
    };

    // Every request id got exactly one server span with the common tags.
    for id in responses.keys() {
        match spans.one_with_meta(REQUEST_ID_TAG, id) {
            Ok(span) => {
                common(&mut report, spec, span, id, &service);
                meta_eq(&mut report, span, id, "env", "conformance-env");
                meta_eq(&mut report, span, id, "version", "1.2.3");
                meta_eq(&mut report, span, id, "team", "apm");
                meta_eq(&mut report, span, id, "tier", "web");
                meta_eq(&mut report, span, id, "http.useragent", USER_AGENT);
                report.check(port(span).is_some(), || {
                    format!("{id}: http.url {:?}", meta(span, "http.url"))
                });
            }
            Err(e) => report.check(false, || format!("{id}: {e}")),
        }
    }
    let span = |id: &str| spans.one_with_meta(REQUEST_ID_TAG, id).ok();
    let base = span("users")
        .and_then(port)
        .map(|p| format!("http://127.0.0.1:{p}"))
        .unwrap_or_default();

    if let Some(s) = span("users") {
        report.check(s["resource"] == users_resource.as_str(), || {
            format!("users: resource {}", s["resource"])
        });
        meta_eq(&mut report, s, "users", "http.route", spec.users_route);
        meta_eq(&mut report, s, "users", "http.method", "GET");
        meta_eq(&mut report, s, "users", "http.status_code", "200");
        meta_eq(
            &mut report,
            s,
            "users",
            "http.url",
            &format!("{base}/users/42?<redacted>&q=1"),
        );
        meta_eq(&mut report, s, "users", "http.client_ip", "8.8.8.8");
        meta_eq(&mut report, s, "users", "network.client.ip", "127.0.0.1");
        report.check(error_flag(s) == 0, || {
            "users: error should be 0".to_string()
        });
        report.check(u64_field(s, "parent_id") == 0, || {
            "users: a new trace has no parent".to_string()
        });
        report.check(
            meta(s, "_dd.p.tid").is_some_and(|t| t.len() == 16 && t.ends_with("00000000")),
            || {
                format!(
                    "users: generated 128-bit trace id needs _dd.p.tid, got {:?}",
                    meta(s, "_dd.p.tid")
                )
            },
        );
    }
    for (code, error) in [(400, 0), (404, 0), (500, 1), (503, 1)] {
        let id = format!("status-{code}");
        if let Some(s) = span(&id) {
            report.check(s["resource"] == status_resource.as_str(), || {
                format!("{id}: resource {}", s["resource"])
            });
            meta_eq(&mut report, s, &id, "http.status_code", &code.to_string());
            meta_eq(&mut report, s, &id, "http.route", spec.status_route);
            report.check(error_flag(s) == error, || {
                format!("{id}: error {} expected {error}", s["error"])
            });
        }
    }
    for (id, message) in [
        ("fail", "conformance failure"),
        ("panic", "conformance panic"),
    ] {
        if let Some(s) = span(id) {
            report.check(error_flag(s) == 1, || format!("{id}: error flag not set"));
            report.check(
                meta(s, "error.message").is_some_and(|m| m.contains(message)),
                || {
                    format!(
                        "{id}: error.message {:?} should contain {message:?}",
                        meta(s, "error.message")
                    )
                },
            );
            report.check(meta(s, "error.type").is_some_and(|t| !t.is_empty()), || {
                format!("{id}: error.type missing")
            });
            meta_eq(&mut report, s, id, "http.status_code", "500");
            let expected = if id == "panic" && !spec.route_known_on_panic {
                "GET 500".to_string()
            } else {
                format!("GET /{id}")
            };
            report.check(s["resource"] == expected.as_str(), || {
                format!("{id}: resource {}, expected {expected}", s["resource"])
            });
        }
    }
    if let Some(s) = span("stream") {
        let duration = s["duration"].as_u64().unwrap_or(0);
        report.check(duration >= 400_000_000, || {
            format!(
                "stream: the span must last until the body ends (>= 400 ms), lasted {} ms",
                duration / 1_000_000
            )
        });
    }
    if let Some(s) = span("child") {
        let child = spans.all().iter().find(|c| {
            (c["name"] == "child.work" || c["resource"] == "child.work")
                && spans.is_descendant(c, s)
        });
        report.check(child.is_some(), || {
            "child: no child.work span under the server span".to_string()
        });
        if let Some(c) = child {
            report.check(c["parent_id"] == s["span_id"], || {
                "child: child.work should be a direct child".to_string()
            });
            let d = c["duration"].as_u64().unwrap_or(0);
            report.check(d >= 9_000_000, || {
                format!(
                    "child: child.work lasted {} ms, expected ~10 ms",
                    d / 1_000_000
                )
            });
        }
    }
    if let Some(s) = span("headers") {
        meta_eq(
            &mut report,
            s,
            "headers",
            "http.response.headers.x-conformance",
            "yes",
        );
        meta_eq(&mut report, s, "headers", "extra", "hello");
        meta_eq(
            &mut report,
            s,
            "headers",
            "http.url",
            &format!("{base}/headers?set=x-extra-header:hello"),
        );
    }
    if let Some(s) = span("echo") {
        meta_eq(&mut report, s, "echo", "http.method", "POST");
        report.check(s["resource"] == "POST /echo", || {
            format!("echo: resource {}", s["resource"])
        });
    }
    if let Some(s) = span("unmatched") {
        report.check(s["resource"] == "GET 404", || {
            format!("unmatched: resource {}", s["resource"])
        });
        meta_absent(&mut report, s, "unmatched", "http.route");
        meta_eq(&mut report, s, "unmatched", "http.status_code", "404");
        report.check(error_flag(s) == 0, || {
            "unmatched: a 404 is not an error".to_string()
        });
    }
    if let Some(s) = span("outbound") {
        let client = spans
            .children_of(s)
            .into_iter()
            .find(|c| meta(c, "span.kind") == Some("client"));
        report.check(client.is_some(), || {
            "outbound: no client span under the server span".to_string()
        });
        let captured = capture.headers("/routes/outbound").unwrap_or_default();
        let header = |n: &str| {
            captured
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        if let Some(c) = client {
            let cid = u64_field(c, "span_id");
            report.check(
                header("x-datadog-parent-id") == Some(cid.to_string()),
                || {
                    format!(
                        "outbound: x-datadog-parent-id {:?} should be the client span {cid}",
                        header("x-datadog-parent-id")
                    )
                },
            );
            report.check(
                header("x-datadog-trace-id") == Some(u64_field(s, "trace_id").to_string()),
                || "outbound: x-datadog-trace-id should be the trace's low 64 bits".to_string(),
            );
            report.check(
                header("traceparent")
                    .is_some_and(|tp| tp.split('-').nth(2) == Some(format!("{cid:016x}").as_str())),
                || {
                    format!(
                        "outbound: traceparent {:?} parent-id should be the client span",
                        header("traceparent")
                    )
                },
            );
            report.check(
                header("tracestate").is_some_and(|ts| ts.contains(&format!("p:{cid:016x}"))),
                || {
                    format!(
                        "outbound: tracestate {:?} should carry p:<client span>",
                        header("tracestate")
                    )
                },
            );
        }
    }
    if let Some(s) = span("datadog-parent") {
        report.check(u64_field(s, "trace_id") == 1_234_567_890_123, || {
            format!("datadog-parent: trace_id {}", s["trace_id"])
        });
        report.check(u64_field(s, "parent_id") == 987_654_321, || {
            format!("datadog-parent: parent_id {}", s["parent_id"])
        });
        report.check(
            s["metrics"]["_sampling_priority_v1"].as_f64() == Some(2.0),
            || "datadog-parent: priority 2 inherited".to_string(),
        );
        meta_eq(&mut report, s, "datadog-parent", "_dd.origin", "synthetics");
    }
    if let Some(s) = span("w3c-parent") {
        report.check(u64_field(s, "trace_id") == 0x8448_eb21_1c80_319c, || {
            format!("w3c-parent: trace_id {}", s["trace_id"])
        });
        report.check(u64_field(s, "parent_id") == 0xb7ad_6b71_6920_3331, || {
            format!("w3c-parent: parent_id {}", s["parent_id"])
        });
        meta_eq(
            &mut report,
            s,
            "w3c-parent",
            "_dd.p.tid",
            "0af7651916cd43dd",
        );
        report.check(
            s["metrics"]["_sampling_priority_v1"].as_f64() == Some(2.0),
            || "w3c-parent: s:2 from tracestate".to_string(),
        );
        meta_eq(&mut report, s, "w3c-parent", "_dd.origin", "rum");
    }
    if let Some(s) = span("w3c-harness") {
        let captured = capture.headers("/routes/w3c").unwrap_or_default();
        let tp = captured
            .iter()
            .find(|(k, _)| k == "traceparent")
            .map(|(_, v)| v.clone());
        let low = format!("{:016x}", u64_field(s, "trace_id"));
        report.check(
            tp.as_deref()
                .is_some_and(|tp| tp.split('-').nth(1).is_some_and(|t| t.ends_with(&low))),
            || format!("w3c-harness: downstream traceparent {tp:?} should continue trace {low}"),
        );
    }
    report.finish(&format!("{} routes", spec.framework));
}
