//! Configuration variants: one app per environment.

use super::*;

/// The same app under other configurations: each variable changes exactly what it should.
pub fn config_variants(spec: &AppSpec) {
    let mut report = Report::default();
    let agent = TestAgent::start();
    let base = [("DD_TRACE_HEADER_TAGS", REQUEST_ID_HEADER_TAGS)];
    type Variant<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<(&'a str, &'a str)>);
    // (name, env, [(request target, expected http.url suffix or tag check)])
    let variants: Vec<Variant> = vec![
        (
            "empty obfuscation regex keeps the query",
            vec![("DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP", "")],
            vec![("/users/1?password=hunter2", "/users/1?password=hunter2")],
        ),
        (
            "custom obfuscation regex replaces the default",
            vec![(
                "DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP",
                r"ssn=\d{3}-\d{2}-\d{4}",
            )],
            vec![(
                "/users/1?ssn=123-45-6789&token=x",
                "/users/1?<redacted>&token=x",
            )],
        ),
        (
            "query string tagging off",
            vec![("DD_HTTP_SERVER_TAG_QUERY_STRING", "false")],
            vec![("/users/1?password=hunter2&q=1", "/users/1")],
        ),
        (
            "invalid obfuscation regex drops the query",
            vec![("DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP", "(unclosed")],
            vec![("/users/1?password=hunter2", "/users/1")],
        ),
    ];
    for (name, extra, requests) in &variants {
        let mut environment = env(&base);
        environment.extend(env(extra));
        let (_, stopped, spans, _) = run_app(spec, &agent, "variant", &environment, |app| {
            for (i, (target, _)) in requests.iter().enumerate() {
                let _ = get(app, target, &format!("v{i}"), &[]);
            }
        });
        check_stop(&mut report, &stopped);
        for (i, (_, expected)) in requests.iter().enumerate() {
            match spans.one_with_meta(REQUEST_ID_TAG, &format!("v{i}")) {
                Ok(s) => report.check(
                    meta(s, "http.url").is_some_and(|u| {
                        u.ends_with(expected)
                            && u.split_once("://").is_some_and(|(_, rest)| {
                                rest.find('/').is_some_and(|p| &rest[p..] == *expected)
                            })
                    }),
                    || {
                        format!(
                            "{name}: http.url {:?}, expected path {expected:?}",
                            meta(s, "http.url")
                        )
                    },
                ),
                Err(e) => report.check(false, || format!("{name}: {e}")),
            }
        }
    }

    // Server error statuses: which statuses set error.
    let mut environment = env(&base);
    environment.extend(env(&[(
        "DD_TRACE_HTTP_SERVER_ERROR_STATUSES",
        "400-404,500",
    )]));
    let codes = [
        (400, 1),
        (403, 1),
        (404, 1),
        (405, 0),
        (500, 1),
        (503, 0),
        (200, 0),
    ];
    let (_, stopped, spans, _) = run_app(spec, &agent, "statuses", &environment, |app| {
        for (code, _) in codes {
            let _ = get(app, &format!("/status/{code}"), &format!("s{code}"), &[]);
        }
    });
    check_stop(&mut report, &stopped);
    for (code, error) in codes {
        match spans.one_with_meta(REQUEST_ID_TAG, &format!("s{code}")) {
            Ok(s) => report.check(error_flag(s) == error, || {
                format!("DD_TRACE_HTTP_SERVER_ERROR_STATUSES=400-404,500: status {code} error {} expected {error}", s["error"])
            }),
            Err(e) => report.check(false, || format!("status {code}: {e}")),
        }
    }

    // Client IP: a configured header is the only one read; alone it does not enable tagging.
    for (enabled, expected) in [("true", Some("5.6.7.9")), ("false", None)] {
        let mut environment = env(&base);
        environment.extend(env(&[
            ("DD_TRACE_CLIENT_IP_HEADER", "custom-ip-header"),
            ("DD_TRACE_CLIENT_IP_ENABLED", enabled),
        ]));
        let (_, stopped, spans, _) = run_app(spec, &agent, "clientip", &environment, |app| {
            let _ = get(
                app,
                "/users/1",
                "ip",
                &[
                    ("custom-ip-header", "5.6.7.9"),
                    ("x-forwarded-for", "8.8.8.8"),
                ],
            );
        });
        check_stop(&mut report, &stopped);
        match spans.one_with_meta(REQUEST_ID_TAG, "ip") {
            Ok(s) => report.check(meta(s, "http.client_ip") == expected, || {
                format!("DD_TRACE_CLIENT_IP_ENABLED={enabled} with a custom header: http.client_ip {:?}", meta(s, "http.client_ip"))
            }),
            Err(e) => report.check(false, || format!("client ip: {e}")),
        }
    }

    // Malformed configuration: logged, defaults used, the app serves normally.
    let mut environment = env(&base);
    environment.extend(env(&[
        ("DD_TRACE_HTTP_SERVER_ERROR_STATUSES", "abc,,-,9999999"),
        ("DD_TRACE_CLIENT_IP_ENABLED", "maybe"),
        (
            "DD_TRACE_HEADER_TAGS",
            "x-request-id:conformance.request_id,bad header:x",
        ),
        ("DD_TRACE_PROPAGATION_STYLE", "nonsense,,"),
        ("DD_TAGS", ":::,,,"),
    ]));
    let (response, stopped, spans, _) = run_app(spec, &agent, "malformed", &environment, |app| {
        get(app, "/users/9", "bad-config", &[])
    });
    check_stop(&mut report, &stopped);
    report.check(
        response.is_ok_and(|r| r.status == 200 && r.text() == "user 9"),
        || "malformed config: the app must serve unchanged".to_string(),
    );
    report.check(
        spans.one_with_meta(REQUEST_ID_TAG, "bad-config").is_ok(),
        || "malformed config: the request is still traced".to_string(),
    );
    report.result("agent payload checks", agent.check_failures());
    report.finish(&format!("{} config variants", spec.framework));
}
