//! What a default configuration sends, and what it never does (privacy).

use super::*;

/// Defaults and privacy: nothing configured, so no client IP, no header tags, and credentials
/// never reach a tag.
pub fn defaults_and_privacy(spec: &AppSpec) {
    let mut report = Report::default();
    let agent = TestAgent::start();
    let (responses, stopped, spans, service) = run_app(spec, &agent, "defaults", &[], |app| {
        vec![
            get(
                app,
                "/users/101?api_key=s3cr3t&token=abc&visible=1",
                "d1",
                &[
                    ("x-forwarded-for", "8.8.8.8"),
                    ("authorization", "Bearer very-secret-token"),
                    ("cookie", "session=very-secret-cookie"),
                ],
            ),
            get(
                app,
                "/headers?set=set-cookie:session%3Dvery-secret-set-cookie",
                "d2",
                &[],
            ),
        ]
    });
    check_stop(&mut report, &stopped);
    report.check(
        responses
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.status == 200)),
        || format!("defaults: responses {responses:?}"),
    );
    // The readiness probe (`/users/0`) is traced too; it is not one of this group's requests.
    let servers: Vec<&Value> = spans
        .all()
        .iter()
        .filter(|s| meta(s, "span.kind") == Some("server"))
        .filter(|s| !meta(s, "http.url").is_some_and(|u| u.ends_with("/users/0")))
        .collect();
    report.check(servers.len() == 2, || {
        format!("defaults: expected 2 server spans, got {}", servers.len())
    });
    for s in &servers {
        common(&mut report, spec, s, "defaults", &service);
        meta_absent(&mut report, s, "defaults", "http.client_ip");
        meta_absent(&mut report, s, "defaults", "network.client.ip");
        let leaked: Vec<String> = s["meta"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| {
                // The set-cookie value travels in d2's own query string, so http.url is exempt.
                k.starts_with("http.request.headers.")
                    || k.starts_with("http.response.headers.")
                    || (k.as_str() != "http.url"
                        && v.as_str()
                            .is_some_and(|v| v.contains("very-secret") || v.contains("s3cr3t")))
            })
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        report.check(leaked.is_empty(), || {
            format!("defaults: tags that must not exist: {leaked:?}")
        });
    }
    if let Some(s) = servers
        .iter()
        .find(|s| meta(s, "http.url").is_some_and(|u| u.contains("/users/101")))
    {
        report.check(
            meta(s, "http.url")
                .is_some_and(|u| u.ends_with("/users/101?<redacted>&<redacted>&visible=1")),
            || {
                format!(
                    "defaults: query must be obfuscated by default: {:?}",
                    meta(s, "http.url")
                )
            },
        );
    }
    report.finish(&format!("{} defaults and privacy", spec.framework));
}
