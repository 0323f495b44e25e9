//! The propagation vectors, through the app and its client span.

use super::*;

/// Every vector of `propagation.json`, through the app on the default (Datadog-native)
/// pipeline, where the core's propagation engine extracts and injects: the request carries the
/// vector's headers to `/outbound`, whose client span injects into a capture server. Every
/// vector passes.
pub fn propagation_vectors(spec: &AppSpec) {
    run_vectors(spec, None);
}

/// The same on the OpenTelemetry pipeline (`DDTRACE_RS_PIPELINE=opentelemetry`), whose
/// propagator fails the vectors of `OPENTELEMETRY_GAPS.md` as listed (and no other).
pub fn propagation_vectors_opentelemetry(spec: &AppSpec) {
    run_vectors(spec, Some(("DDTRACE_RS_PIPELINE", "opentelemetry")));
}

fn run_vectors(spec: &AppSpec, pipeline: Option<(&str, &str)>) {
    let mut report = Report::default();
    let agent = TestAgent::start();
    let capture = CaptureServer::start();
    let file = load_vectors("propagation.json");
    let vectors = file["vectors"].as_array().cloned().unwrap_or_default();
    report.check(vectors.len() >= 209, || {
        format!("expected 209 propagation vectors, found {}", vectors.len())
    });

    // One app per distinct configuration.
    let mut groups: BTreeMap<String, Vec<(usize, &Value)>> = BTreeMap::new();
    for (i, v) in vectors.iter().enumerate() {
        groups
            .entry(v["style_config"].to_string())
            .or_default()
            .push((i, v));
    }
    let mut outcomes: BTreeMap<String, Result<(), String>> = BTreeMap::new();
    for members in groups.values() {
        let mut environment = env(&[
            ("DD_TRACE_HEADER_TAGS", REQUEST_ID_HEADER_TAGS),
            // Without client-side stats the pipeline sends priority <= 0 traces too, so their
            // server spans can be checked.
            ("DD_TRACE_STATS_COMPUTATION_ENABLED", "false"),
        ]);
        environment.extend(pipeline.map(|(k, v)| (k.to_string(), v.to_string())));
        if let Some(cfg) = members[0].1["style_config"].as_object() {
            for (k, v) in cfg {
                environment.push((k.clone(), v.as_str().unwrap_or("").to_string()));
            }
        }
        let (sent, stopped, spans, service) =
            run_app(spec, &agent, "propagation", &environment, |app| {
                members
                    .iter()
                    .map(|(i, v)| {
                        let id = format!("pv{i}");
                        let mut headers: Vec<(String, String)> = v["request_headers"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|h| {
                                (
                                    h[0].as_str().unwrap_or("").to_string(),
                                    h[1].as_str().unwrap_or("").to_string(),
                                )
                            })
                            .collect();
                        headers.push(("x-request-id".to_string(), id.clone()));
                        let refs: Vec<(&str, &str)> = headers
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .collect();
                        let mut target =
                            format!("/outbound?url={}", capture.url(&format!("/pv/{i}")));
                        for item in v["set_baggage"].as_array().into_iter().flatten() {
                            let (k, val) = (
                                item[0].as_str().unwrap_or(""),
                                item[1].as_str().unwrap_or(""),
                            );
                            target.push_str("&baggage=");
                            target.push_str(&percent_encode(k));
                            target.push('=');
                            target.push_str(&percent_encode(val));
                        }
                        http1::request(app.port, "GET", &target, &refs, b"")
                            .map(|r| r.status)
                            .map_err(|e| e.to_string())
                    })
                    .collect::<Vec<_>>()
            });
        check_stop(&mut report, &stopped);
        // Malformed and conflicting propagation headers are a client's choice: they must never
        // make the app log per request (the pipeline has an error line for some of them).
        let log = std::fs::read_to_string(app::log_path(&service)).unwrap_or_default();
        let per_request: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("datadog_opentelemetry") || l.contains("libdd"))
            .collect();
        report.check(per_request.is_empty(), || {
            format!(
                "{} requests with propagation headers logged {} lines, first: {:?}",
                members.len(),
                per_request.len(),
                per_request.first()
            )
        });
        for ((i, v), sent) in members.iter().zip(sent) {
            let name = v["name"].as_str().unwrap_or("?").to_string();
            outcomes.insert(name, evaluate_vector(*i, v, sent, &spans, &capture));
        }
    }
    match pipeline {
        Some(_) => settle_gaps(&mut report, spec.framework, &outcomes),
        None => {
            for (name, outcome) in &outcomes {
                report.check(outcome.is_ok(), || format!("vector {name}: {outcome:?}"));
            }
            let passed = outcomes.values().filter(|o| o.is_ok()).count();
            println!(
                "{}: {passed} of {} vectors pass",
                spec.framework,
                outcomes.len()
            );
        }
    }
    report.result("agent payload checks", agent.check_failures());
    report.finish(&format!("{} propagation vectors", spec.framework));
}

fn evaluate_vector(
    i: usize,
    v: &Value,
    sent: Result<u16, String>,
    spans: &Spans,
    capture: &CaptureServer,
) -> Result<(), String> {
    match sent {
        Ok(200) => {}
        other => return Err(format!("request answered {other:?}")),
    }
    let server = spans.one_with_meta(REQUEST_ID_TAG, &format!("pv{i}"))?;
    let client = spans
        .children_of(server)
        .into_iter()
        .find(|c| meta(c, "span.kind") == Some("client"))
        .ok_or("no client span under the server span")?;
    let captured = capture
        .headers(&format!("/pv/{i}"))
        .ok_or("the downstream server received nothing")?;
    let span = assertions::span_model(server);
    let model = serde_json::json!({ "span": span, "out": assertions::outbound_model(&captured) });
    // Outbound headers are injected from the client span (docs/conformance.md), so references to
    // the injecting span's id resolve to it.
    let mut refs = model.clone();
    refs["span"]["span_id"] = Value::from(u64_field(client, "span_id"));
    assertions::check_all(&model, &refs, v)
}
