//! `DD_TRACE_<INTEGRATION>_ENABLED=false`: the integration passes every request through,
//! untraced and unchanged.

use super::*;

/// The integration switched off by the environment.
pub fn switched_off(spec: &AppSpec) {
    let mut report = Report::default();
    let agent = TestAgent::start();
    let name: String = spec
        .framework
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    let variable = format!("DD_TRACE_{name}_ENABLED");
    let (responses, stopped, spans, _) = run_app(
        spec,
        &agent,
        "switched-off",
        &env(&[(&variable, "false")]),
        |app| {
            [
                ("users", get(app, "/users/3", "off1", &[])),
                ("fail", get(app, "/fail", "off2", &[])),
                ("stream", get(app, "/stream", "off3", &[])),
            ]
        },
    );
    check_stop(&mut report, &stopped);
    for (id, response) in &responses {
        let expected = match *id {
            "users" => (200, "user 3".to_string()),
            "fail" => (500, String::new()),
            _ => (
                200,
                (0..5).map(|i| format!("chunk {i}\n")).collect::<String>(),
            ),
        };
        report.check(
            response.as_ref().is_ok_and(|r| {
                r.status == expected.0
                    && (expected.1.is_empty() || String::from_utf8_lossy(&r.body) == expected.1)
            }),
            || format!("{variable}=false: {id} answered {response:?}, expected {expected:?}"),
        );
    }
    report.check(spans.all().is_empty(), || {
        format!(
            "{variable}=false: no span should reach the agent, got {}",
            spans.all().len()
        )
    });
    report.finish(&format!("{} switched off", spec.framework));
}
