//! The gRPC conformance test: the conformance service (`examples/conformance`) run twice, a
//! front and its downstream, driven by this process through the traced client and through a
//! bare one with trace headers of its own; every span checked as the real test agent decoded
//! it. tonic cannot serve the HTTP conformance contract, so this is its own small suite.

#[path = "../examples/conformance/service.rs"]
mod service;

use ddtrace_conformance::app::{build, App, AppSpec};
use ddtrace_conformance::spans::{meta, u64_field};
use ddtrace_conformance::{Report, TestAgent};
use ddtrace_tonic::DatadogGrpcClientLayer;
use serde_json::Value;
use service::{ConformanceClient, Echo, SERVICE};
use std::time::Duration;
use tonic::metadata::MetadataValue;
use tonic::Code;

const TONIC: AppSpec = AppSpec {
    framework: "tonic",
    package: "ddtrace-tonic",
    binary: "conformance-tonic",
    example: true,
    // Unused: the app serves gRPC, not the HTTP contract.
    users_route: "",
    status_route: "",
    route_known_on_panic: true,
};

fn method(name: &str) -> String {
    format!("/{SERVICE}/{name}")
}

fn metric(span: &Value, key: &str) -> Option<f64> {
    span["metrics"][key].as_f64()
}

/// What one call's client or server span must carry.
fn check_span(r: &mut Report, what: &str, span: &Value, kind: &str, method_name: &str) {
    let expect = |r: &mut Report, key: &str, want: &str| {
        let got = meta(span, key);
        r.check(got == Some(want), || {
            format!("{what}: meta {key} is {got:?}, want {want:?}")
        });
    };
    let name = format!("grpc.{kind}");
    r.check(span["name"] == name.as_str(), || {
        format!("{what}: name {}, want {name}", span["name"])
    });
    r.check(span["type"] == "grpc", || {
        format!("{what}: type {}", span["type"])
    });
    r.check(span["resource"] == method(method_name).as_str(), || {
        format!("{what}: resource {}", span["resource"])
    });
    expect(r, "span.kind", kind);
    expect(r, "component", "tonic");
    expect(r, "rpc.system", "grpc");
    expect(r, "rpc.service", SERVICE);
    expect(r, "rpc.method", method_name);
    expect(r, "grpc.method.path", &method(method_name));
    expect(r, "grpc.method.package", "conformance.v1");
    expect(r, "grpc.method.service", "Conformance");
    expect(r, "grpc.method.name", method_name);
}

/// The status tags and the error a span must have.
fn check_status(
    r: &mut Report,
    what: &str,
    span: &Value,
    code: Option<u16>,
    error: Option<(&str, &str)>,
) {
    let want = code.map(f64::from);
    for key in ["grpc.status.code", "rpc.grpc.status_code"] {
        let got = metric(span, key);
        r.check(got == want, || {
            format!("{what}: {key} is {got:?}, want {want:?}")
        });
    }
    let is_error = span["error"].as_i64() == Some(1);
    r.check(is_error == error.is_some(), || {
        format!(
            "{what}: error is {}, want {}",
            span["error"],
            error.is_some()
        )
    });
    if let Some((error_type, message)) = error {
        let (got_type, got_message) = (meta(span, "error.type"), meta(span, "error.message"));
        r.check(got_type == Some(error_type), || {
            format!("{what}: error.type {got_type:?}, want {error_type:?}")
        });
        r.check(got_message.is_some_and(|m| m.contains(message)), || {
            format!("{what}: error.message {got_message:?}, want it to contain {message:?}")
        });
    }
}

#[test]
fn tonic_conformance() {
    let agent = TestAgent::start();
    let binary = build(&TONIC);
    let pid = std::process::id();
    let (front_service, down_service, client_service) = (
        format!("tonic-front-{pid}"),
        format!("tonic-down-{pid}"),
        format!("tonic-client-{pid}"),
    );
    let mut down = App::start_listening(&binary, &agent.url(), &down_service, &[]);
    let env = [("DOWNSTREAM_PORT".to_string(), down.port.to_string())];
    let mut front = App::start_listening(&binary, &agent.url(), &front_service, &env);

    // This process is the first client: its own spans go to the same agent.
    let guard = agent.install_pipeline(&client_service);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let port = front.port;
    let outcomes = runtime.block_on(async move {
        let endpoint = format!("http://127.0.0.1:{port}");
        let channel = tonic::transport::Endpoint::from_shared(endpoint)
            .expect("endpoint")
            .connect_lazy();
        let traced = tower::ServiceBuilder::new()
            .layer(DatadogGrpcClientLayer::new().target(format!("127.0.0.1:{port}")))
            .service(channel.clone());
        let mut client = ConformanceClient::new(traced);
        let mut bare = ConformanceClient::new(channel);
        let fail = |code: Code, text: &str| Echo {
            text: text.to_string(),
            code: code as u32,
            count: 0,
        };
        let unary = client
            .unary(Echo::text("hello"))
            .await
            .map(|r| r.into_inner().text);
        let not_found = client
            .call("Fail", fail(Code::NotFound, "no such item"))
            .await
            .err();
        let cancelled = client
            .call("Fail", fail(Code::Cancelled, "gave up"))
            .await
            .err();
        let streamed = client
            .stream(Echo {
                text: String::new(),
                code: 0,
                count: 3,
            })
            .await;
        let broken = client
            .stream(Echo {
                text: "stream broke".into(),
                code: Code::Internal as u32,
                count: 2,
            })
            .await;
        let panicked = client.call("Panic", Echo::text("boom")).await.err();
        let missing = client.call("Missing", Echo::text("?")).await.err();
        let relayed = client
            .call("Relay", Echo::text("via front"))
            .await
            .map(|r| r.into_inner().text);
        // Trace headers of an upstream service, sent through the untraced channel.
        let mut datadog = tonic::Request::new(Echo::text("datadog"));
        for (key, value) in [
            ("x-datadog-trace-id", "1234567890123456789"),
            ("x-datadog-parent-id", "987654321"),
            ("x-datadog-sampling-priority", "2"),
            ("x-datadog-origin", "synthetics"),
        ] {
            datadog
                .metadata_mut()
                .insert(key, MetadataValue::from_static(value));
        }
        let datadog = bare.unary(datadog).await.map(|r| r.into_inner().text);
        let mut w3c = tonic::Request::new(Echo::text("w3c"));
        w3c.metadata_mut().insert(
            "traceparent",
            MetadataValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        );
        w3c.metadata_mut()
            .insert("tracestate", MetadataValue::from_static("dd=s:2;o:rum"));
        let w3c = bare.unary(w3c).await.map(|r| r.into_inner().text);
        (
            unary, not_found, cancelled, streamed, broken, panicked, missing, relayed, datadog, w3c,
        )
    });
    let (unary, not_found, cancelled, streamed, broken, panicked, missing, relayed, datadog, w3c) =
        outcomes;
    drop(runtime);
    guard.shutdown();
    for app in [&mut front, &mut down] {
        let stopped = app.stop(Duration::from_secs(10));
        assert!(
            stopped.status.is_some_and(|s| s.success()),
            "{} did not stop cleanly: {stopped:?}",
            app.service
        );
    }

    let mut r = Report::default();
    // The calls answered as they would without tracing.
    r.check(unary.as_deref().ok() == Some("hello"), || {
        format!("Unary answered {unary:?}")
    });
    let code = |status: &Option<tonic::Status>| status.as_ref().map(|s| s.code());
    r.check(code(&not_found) == Some(Code::NotFound), || {
        format!("Fail answered {not_found:?}")
    });
    r.check(code(&cancelled) == Some(Code::Cancelled), || {
        format!("Fail answered {cancelled:?}")
    });
    r.check(streamed.as_ref().is_ok_and(|m| m.len() == 3), || {
        format!("Stream answered {streamed:?}")
    });
    r.check(code(&broken.clone().err()) == Some(Code::Internal), || {
        format!("Stream answered {broken:?}")
    });
    r.check(panicked.is_some(), || "Panic answered OK".to_string());
    r.check(code(&missing) == Some(Code::Unimplemented), || {
        format!("Missing answered {missing:?}")
    });
    r.check(relayed.as_deref().ok() == Some("via front"), || {
        format!("Relay answered {relayed:?}")
    });
    r.check(datadog.as_deref().ok() == Some("datadog"), || {
        format!("Unary answered {datadog:?}")
    });
    r.check(w3c.as_deref().ok() == Some("w3c"), || {
        format!("Unary answered {w3c:?}")
    });

    let spans: Vec<Value> = agent.spans_once(24).into_iter().collect();
    let of = |service: &str, name: &str, method_name: &str| -> Vec<&Value> {
        spans
            .iter()
            .filter(|s| {
                s["service"] == service
                    && s["name"] == name
                    && s["resource"] == method(method_name).as_str()
            })
            .collect()
    };
    // The server span each of this process's client spans led to.
    let server_of = |client: &Value| -> Option<&Value> {
        spans.iter().find(|s| {
            s["name"] == "grpc.server"
                && s["trace_id"] == client["trace_id"]
                && s["parent_id"] == client["span_id"]
        })
    };
    // (method, client outcome: code and error, server outcome: code and error)
    type Outcome<'a> = (Option<u16>, Option<(&'a str, &'a str)>);
    let cases: [(&str, &str, Outcome, Outcome); 6] = [
        ("Unary", "OK", (Some(0), None), (Some(0), None)),
        (
            "Fail",
            "NOT_FOUND",
            (Some(5), Some(("NOT_FOUND", "no such item"))),
            (Some(5), Some(("NOT_FOUND", "no such item"))),
        ),
        // CANCELLED is an error for a client (1-16) and not for a server (2-16).
        (
            "Fail",
            "CANCELLED",
            (Some(1), Some(("CANCELLED", "gave up"))),
            (Some(1), None),
        ),
        ("Stream", "OK", (Some(0), None), (Some(0), None)),
        (
            "Stream",
            "INTERNAL",
            (Some(13), Some(("INTERNAL", "stream broke"))),
            (Some(13), Some(("INTERNAL", "stream broke"))),
        ),
        (
            "Missing",
            "UNIMPLEMENTED",
            (Some(12), Some(("UNIMPLEMENTED", "no method Missing"))),
            (Some(12), Some(("UNIMPLEMENTED", "no method Missing"))),
        ),
    ];
    for (method_name, label, client_outcome, server_outcome) in cases {
        let what = format!("{method_name} ({label})");
        let clients: Vec<&Value> = of(&client_service, "grpc.client", method_name)
            .into_iter()
            .filter(|s| metric(s, "grpc.status.code") == client_outcome.0.map(f64::from))
            .collect();
        let [client] = clients.as_slice() else {
            r.check(false, || {
                format!(
                    "{what}: {} client spans with its status, want 1",
                    clients.len()
                )
            });
            continue;
        };
        check_span(
            &mut r,
            &format!("{what} client"),
            client,
            "client",
            method_name,
        );
        check_status(
            &mut r,
            &format!("{what} client"),
            client,
            client_outcome.0,
            client_outcome.1,
        );
        let host = meta(client, "out.host");
        r.check(host == Some("127.0.0.1"), || {
            format!("{what} client: out.host {host:?}")
        });
        let port_tag = meta(client, "network.destination.port");
        r.check(port_tag == Some(front.port.to_string().as_str()), || {
            format!("{what} client: network.destination.port {port_tag:?}")
        });
        let Some(server) = server_of(client) else {
            r.check(false, || {
                format!("{what}: no server span is the client span's child")
            });
            continue;
        };
        r.check(server["service"] == front_service.as_str(), || {
            format!("{what} server: service {}", server["service"])
        });
        check_span(
            &mut r,
            &format!("{what} server"),
            server,
            "server",
            method_name,
        );
        check_status(
            &mut r,
            &format!("{what} server"),
            server,
            server_outcome.0,
            server_outcome.1,
        );
        if method_name == "Stream" {
            // The span lasts until the trailers: after every message (50 ms apart).
            let messages = if label == "OK" { 3 } else { 2 };
            let duration = u64_field(server, "duration");
            r.check(duration >= messages * 50_000_000, || {
                format!("{what} server: lasted {duration} ns, ended before its {messages} messages")
            });
        }
        if method_name == "Unary" {
            // The handler's own span is the server span's child (on the OpenTelemetry pipeline
            // its operation is `internal` and its resource `child.work`).
            let child = spans.iter().find(|s| {
                (s["name"] == "child.work" || s["resource"] == "child.work")
                    && s["parent_id"] == server["span_id"]
            });
            r.check(child.is_some(), || {
                "Unary server: no child.work span under it".to_string()
            });
        }
    }

    // A panic: recorded on the server span, and the call still fails for the client.
    match of(&client_service, "grpc.client", "Panic").as_slice() {
        [client] => {
            r.check(client["error"] == 1, || {
                "Panic client: not an error".to_string()
            });
            match server_of(client) {
                Some(server) => {
                    check_span(&mut r, "Panic server", server, "server", "Panic");
                    r.check(server["error"] == 1, || {
                        "Panic server: not an error".to_string()
                    });
                    let t = meta(server, "error.type");
                    r.check(t == Some("panic"), || {
                        format!("Panic server: error.type {t:?}")
                    });
                    let m = meta(server, "error.message");
                    r.check(m.is_some_and(|m| m.contains("conformance panic")), || {
                        format!("Panic server: error.message {m:?}")
                    });
                }
                None => r.check(false, || "Panic: no server span".to_string()),
            }
        }
        other => r.check(false, || format!("Panic: {} client spans", other.len())),
    }

    // Two services, one trace: client -> front server -> front's client -> downstream server.
    match of(&client_service, "grpc.client", "Relay").as_slice() {
        [client] => {
            let front_server = server_of(client);
            let relay_client = front_server.and_then(|server| {
                spans.iter().find(|s| {
                    s["name"] == "grpc.client"
                        && s["parent_id"] == server["span_id"]
                        && s["trace_id"] == server["trace_id"]
                })
            });
            let down_server = relay_client.and_then(server_of);
            r.check(
                front_server.is_some_and(|s| s["service"] == front_service.as_str()),
                || "Relay: no front server span under the client span".to_string(),
            );
            match (relay_client, down_server) {
                (Some(relay_client), Some(down_server)) => {
                    check_span(
                        &mut r,
                        "Relay's downstream client",
                        relay_client,
                        "client",
                        "Unary",
                    );
                    check_status(
                        &mut r,
                        "Relay's downstream client",
                        relay_client,
                        Some(0),
                        None,
                    );
                    r.check(relay_client["service"] == front_service.as_str(), || {
                        format!("Relay's client: service {}", relay_client["service"])
                    });
                    r.check(
                        meta(relay_client, "network.destination.port")
                            == Some(down.port.to_string().as_str()),
                        || "Relay's client: wrong port".to_string(),
                    );
                    r.check(down_server["service"] == down_service.as_str(), || {
                        format!("downstream server: service {}", down_server["service"])
                    });
                    check_span(&mut r, "downstream server", down_server, "server", "Unary");
                    check_status(&mut r, "downstream server", down_server, Some(0), None);
                }
                _ => r.check(false, || {
                    "Relay: the trace does not reach the downstream server".to_string()
                }),
            }
        }
        other => r.check(false, || format!("Relay: {} client spans", other.len())),
    }

    // Distributed context from the metadata, in both default styles.
    let upstream = |trace_id: u64| {
        spans
            .iter()
            .find(|s| s["name"] == "grpc.server" && u64_field(s, "trace_id") == trace_id)
    };
    match upstream(1234567890123456789) {
        Some(server) => {
            r.check(u64_field(server, "parent_id") == 987654321, || {
                format!("Datadog headers: parent_id {}", server["parent_id"])
            });
            r.check(metric(server, "_sampling_priority_v1") == Some(2.0), || {
                format!(
                    "Datadog headers: priority {:?}",
                    metric(server, "_sampling_priority_v1")
                )
            });
            r.check(meta(server, "_dd.origin") == Some("synthetics"), || {
                format!("Datadog headers: origin {:?}", meta(server, "_dd.origin"))
            });
            check_status(&mut r, "Datadog headers", server, Some(0), None);
        }
        None => r.check(false, || {
            "Datadog headers: no server span continues the trace".to_string()
        }),
    }
    match upstream(0x8448eb211c80319c) {
        Some(server) => {
            r.check(u64_field(server, "parent_id") == 0xb7ad6b7169203331, || {
                format!("W3C headers: parent_id {}", server["parent_id"])
            });
            r.check(
                meta(server, "_dd.p.tid") == Some("0af7651916cd43dd"),
                || format!("W3C headers: _dd.p.tid {:?}", meta(server, "_dd.p.tid")),
            );
            r.check(metric(server, "_sampling_priority_v1") == Some(2.0), || {
                format!(
                    "W3C headers: priority {:?}",
                    metric(server, "_sampling_priority_v1")
                )
            });
            r.check(meta(server, "_dd.origin") == Some("rum"), || {
                format!("W3C headers: origin {:?}", meta(server, "_dd.origin"))
            });
        }
        None => r.check(false, || {
            "W3C headers: no server span continues the trace".to_string()
        }),
    }
    r.result("the agent's payload checks", agent.check_failures());
    r.finish("tonic conformance");
}
