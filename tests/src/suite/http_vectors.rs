//! The HTTP vectors (tags, header tags, error statuses, obfuscation, client IP) through the app.

use super::*;

/// The query part of a vector URL (between `?` and `#`).
fn query_of(url: &str) -> Option<&str> {
    let url = url.split('#').next().unwrap_or(url);
    url.split_once('?').map(|(_, q)| q)
}

/// The other vector files (`tags.json`, `obfuscation.json`, `client_ip.json`) over HTTP: each
/// vector's environment is given to the app and its input sent as a real request.
pub fn http_vectors(spec: &AppSpec) {
    let mut report = Report::default();
    let agent = TestAgent::start();
    let tags = load_vectors("tags.json");
    let mut outcomes: BTreeMap<String, Result<(), String>> = BTreeMap::new();

    // DD_TAGS: every pair on the server span.
    for (i, v) in tags["dd_tags_parse"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let input = v["input"].as_str().unwrap_or("");
        let environment = env(&[
            ("DD_TAGS", input),
            ("DD_TRACE_HEADER_TAGS", REQUEST_ID_HEADER_TAGS),
        ]);
        let (_, _, spans, _) = run_app(spec, &agent, "ddtags", &environment, |app| {
            let _ = get(app, "/users/1", "t", &[]);
        });
        let outcome = spans.one_with_meta(REQUEST_ID_TAG, "t").and_then(|s| {
            let missing: Vec<String> = v["expect"]["pairs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| meta(s, p[0].as_str().unwrap_or("")) != p[1].as_str())
                .map(|p| {
                    format!(
                        "{}={:?} (saw {:?})",
                        p[0],
                        p[1],
                        meta(s, p[0].as_str().unwrap_or(""))
                    )
                })
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(missing.join(", "))
            }
        });
        outcomes.insert(format!("tags.dd_tags_parse[{i}] {input:?}"), outcome);
    }

    // DD_TRACE_HEADER_TAGS: request headers sent, response headers set by /headers.
    for (i, v) in tags["header_tags_config"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let spec_value = v["env"]["DD_TRACE_HEADER_TAGS"].as_str().unwrap_or("");
        // Join in the vector's own grammar: a comma would turn a space-separated list into one item.
        let sep = if spec_value.contains(',') { "," } else { " " };
        let environment = env(&[(
            "DD_TRACE_HEADER_TAGS",
            &format!("{REQUEST_ID_HEADER_TAGS}{sep}{spec_value}"),
        )]);
        let request_headers: Vec<(String, String)> = v["request_headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        let mut target = "/headers?x=1".to_string();
        for (k, val) in v["response_headers"].as_object().into_iter().flatten() {
            target.push_str("&set=");
            target.push_str(&percent_encode(&format!(
                "{k}:{}",
                val.as_str().unwrap_or("")
            )));
        }
        let (_, _, spans, _) = run_app(spec, &agent, "headertags", &environment, |app| {
            let mut headers: Vec<(&str, &str)> = request_headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            headers.push(("x-request-id", "h"));
            let _ = http1::request(app.port, "GET", &target, &headers, b"");
        });
        let outcome = spans.one_with_meta(REQUEST_ID_TAG, "h").and_then(|s| {
            let mut problems = Vec::new();
            for key in ["request_span_tags", "response_span_tags"] {
                for (tag, value) in v["expect"][key].as_object().into_iter().flatten() {
                    if meta(s, tag) != value.as_str() {
                        problems.push(format!("{tag}={value} (saw {:?})", meta(s, tag)));
                    }
                }
            }
            for absent in v["expect"]["absent_tags"].as_array().into_iter().flatten() {
                if let Some(seen) = meta(s, absent.as_str().unwrap_or("")) {
                    problems.push(format!("{absent} should be absent (saw {seen:?})"));
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join(", "))
            }
        });
        outcomes.insert(format!("tags.header_tags_config[{i}]"), outcome);
    }

    // DD_TRACE_HTTP_SERVER_ERROR_STATUSES: one app per configuration (status 0 cannot be served).
    let mut by_config: BTreeMap<String, Vec<(u16, u64)>> = BTreeMap::new();
    for v in tags["http_server_error_statuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let code = v["status_code"].as_u64().unwrap_or(0) as u16;
        if code >= 100 {
            by_config
                .entry(v["config"].as_str().unwrap_or("").to_string())
                .or_default()
                .push((code, v["expect"]["error"].as_u64().unwrap_or(0)));
        }
    }
    for (config, cases) in &by_config {
        let environment = env(&[
            ("DD_TRACE_HTTP_SERVER_ERROR_STATUSES", config),
            ("DD_TRACE_HEADER_TAGS", REQUEST_ID_HEADER_TAGS),
        ]);
        let (_, _, spans, _) = run_app(spec, &agent, "errstatus", &environment, |app| {
            for (i, (code, _)) in cases.iter().enumerate() {
                let _ = get(app, &format!("/status/{code}"), &format!("e{i}"), &[]);
            }
        });
        for (i, (code, error)) in cases.iter().enumerate() {
            let outcome = spans
                .one_with_meta(REQUEST_ID_TAG, &format!("e{i}"))
                .and_then(|s| {
                    if error_flag(s) == *error
                        && meta(s, "http.status_code") == Some(code.to_string().as_str())
                    {
                        Ok(())
                    } else {
                        Err(format!(
                            "error {} status {:?}, expected error {error}",
                            s["error"],
                            meta(s, "http.status_code")
                        ))
                    }
                });
            outcomes.insert(
                format!("tags.http_server_error_statuses {config:?} {code}"),
                outcome,
            );
        }
    }

    // Query obfuscation: the vector's query as the real request's query.
    let obfuscation = load_vectors("obfuscation.json");
    let mut by_env: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for v in obfuscation["vectors"].as_array().into_iter().flatten() {
        let mut e = serde_json::Map::new();
        let regexp = v["regexp"].as_str().unwrap_or("default");
        if regexp != "default" {
            e.insert(
                "DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP".into(),
                Value::from(regexp),
            );
        }
        for (k, val) in v["env"].as_object().into_iter().flatten() {
            e.insert(k.clone(), val.clone());
        }
        by_env
            .entry(Value::Object(e).to_string())
            .or_default()
            .push(v);
    }
    for (env_json, members) in &by_env {
        let mut environment = env(&[("DD_TRACE_HEADER_TAGS", REQUEST_ID_HEADER_TAGS)]);
        let parsed: Value = serde_json::from_str(env_json).unwrap_or_default();
        for (k, val) in parsed.as_object().into_iter().flatten() {
            environment.push((k.clone(), val.as_str().unwrap_or("").to_string()));
        }
        let (statuses, _, spans, _) = run_app(spec, &agent, "obfuscation", &environment, |app| {
            members
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let input = v["input_url"].as_str().unwrap_or("");
                    let query = v["input_query"].as_str().or_else(|| query_of(input));
                    let target = match query {
                        Some(q) => format!("/users/1?{q}"),
                        None => "/users/1".to_string(),
                    };
                    get(app, &target, &format!("o{i}"), &[]).map(|r| r.status)
                })
                .collect::<Vec<_>>()
        });
        for (i, (v, status)) in members.iter().zip(statuses).enumerate() {
            let name = format!("obfuscation {}", v["name"].as_str().unwrap_or("?"));
            let expected_url = if v["verification"]["result"]
                .as_str()
                .is_some_and(|r| r.starts_with("differs-as-expected"))
            {
                v["verification"]["observed_http_url"].as_str()
            } else {
                v["expect"]["http_url"].as_str()
            }
            .unwrap_or("");
            let expected_path = match query_of(expected_url) {
                Some(q) => format!("/users/1?{q}"),
                None => "/users/1".to_string(),
            };
            let outcome = match status {
                Ok(200) => spans
                    .one_with_meta(REQUEST_ID_TAG, &format!("o{i}"))
                    .and_then(|s| {
                        let url = meta(s, "http.url").unwrap_or("");
                        let path = url
                            .split_once("://")
                            .and_then(|(_, r)| r.find('/').map(|p| &r[p..]))
                            .unwrap_or("");
                        if path == expected_path {
                            Ok(())
                        } else {
                            Err(format!("http.url {url:?}, expected path {expected_path:?}"))
                        }
                    }),
                other => Err(format!("the request was answered {other:?}")),
            };
            outcomes.insert(name, outcome);
        }
    }

    // Client IP: the socket peer is 127.0.0.1 here, so only vectors whose peer is private (or
    // absent with a header address) mean the same over loopback; the rest run in core's tests.
    let client_ip = load_vectors("client_ip.json");
    let mut ip_by_env: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for v in client_ip["vectors"].as_array().into_iter().flatten() {
        let peer_private = v["peer_ip"]
            .as_str()
            .and_then(|p| p.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| match ip {
                std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_loopback(),
                std::net::IpAddr::V6(v6) => v6.is_loopback(),
            });
        let expects_header_ip = v["expect"]["http.client_ip"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
            || v["expect"].get("http.client_ip_in").is_some();
        if peer_private || (v["peer_ip"].is_null() && expects_header_ip) {
            ip_by_env.entry(v["env"].to_string()).or_default().push(v);
        }
    }
    for (env_json, members) in &ip_by_env {
        let mut environment = env(&[
            ("DD_TRACE_HEADER_TAGS", REQUEST_ID_HEADER_TAGS),
            ("DD_TRACE_CLIENT_IP_ENABLED", "true"),
        ]);
        let parsed: Value = serde_json::from_str(env_json).unwrap_or_default();
        for (k, val) in parsed.as_object().into_iter().flatten() {
            environment.push((k.clone(), val.as_str().unwrap_or("").to_string()));
        }
        let (_, _, spans, _) = run_app(spec, &agent, "clientip", &environment, |app| {
            for (i, v) in members.iter().enumerate() {
                let headers: Vec<(String, String)> = v["request_headers"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect();
                let refs: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let _ = get(app, "/users/1", &format!("ip{i}"), &refs);
            }
        });
        for (i, v) in members.iter().enumerate() {
            let canonical = |s: &str| {
                s.parse::<std::net::IpAddr>()
                    .map(|ip| ip.to_string())
                    .unwrap_or_default()
            };
            let peer_private = !v["peer_ip"].is_null();
            let accepted: Vec<String> = match v["expect"].get("http.client_ip_in") {
                Some(list) => list
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| canonical(s.as_str().unwrap_or("")))
                    .collect(),
                None => {
                    let expected = v["expect"]["http.client_ip"].as_str().unwrap_or("");
                    // A private vector peer resolves like our loopback peer.
                    if peer_private && Some(expected) == v["peer_ip"].as_str() {
                        vec!["127.0.0.1".to_string()]
                    } else {
                        vec![canonical(expected)]
                    }
                }
            };
            let outcome = spans
                .one_with_meta(REQUEST_ID_TAG, &format!("ip{i}"))
                .and_then(|s| {
                    let got = meta(s, "http.client_ip").map(canonical).unwrap_or_default();
                    if accepted.contains(&got) {
                        Ok(())
                    } else {
                        Err(format!(
                            "http.client_ip {got:?}, expected one of {accepted:?}"
                        ))
                    }
                });
            let test = v["source"]["test"].as_str().unwrap_or("?");
            outcomes.insert(format!("client_ip {i} {test}"), outcome);
        }
    }

    report.check(outcomes.len() >= 100, || {
        format!("only {} HTTP vectors ran", outcomes.len())
    });
    settle_gaps(&mut report, spec.framework, &outcomes);
    report.result("agent payload checks", agent.check_failures());
    report.finish(&format!(
        "{} tag, header-tag, error-status, obfuscation and client-IP vectors",
        spec.framework
    ));
}
