//! Log correlation: the line an app writes inside a request names that request's trace and
//! server span, in Datadog's formats; a line written outside any request names none.

use super::*;

/// Log correlation, in 128-bit mode (the default) and in 64-bit mode.
pub fn log_correlation(spec: &AppSpec) {
    let mut report = Report::default();
    let agent = TestAgent::start();
    for (mode, full_ids) in [("128-bit", true), ("64-bit", false)] {
        let mut pairs = vec![("DD_ENV", "staging"), ("DD_VERSION", "2.1")];
        if !full_ids {
            pairs.push(("DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED", "false"));
        }
        let marker = format!("m{}", mode.replace('-', ""));
        let target = format!("/log?marker={marker}");
        let group = format!("logs{}", mode.replace('-', ""));
        let (response, stopped, spans, service) =
            run_app(spec, &agent, &group, &env(&pairs), |app| {
                get(app, &target, "log1", &[])
            });
        check_stop(&mut report, &stopped);
        report.check(response.as_ref().is_ok_and(|r| r.status == 200), || {
            format!("logs {mode}: GET {target}: {response:?}")
        });
        let output = std::fs::read_to_string(app::log_path(&service)).unwrap_or_default();
        let line = output
            .lines()
            .find(|l| l.contains(&format!("conformance log {marker}")));
        let Some(line) = line else {
            report.check(false, || {
                format!("logs {mode}: no line with `conformance log {marker}` in:\n{output}")
            });
            continue;
        };
        let record: Value = match serde_json::from_str(line) {
            Ok(record) => record,
            Err(e) => {
                report.check(false, || {
                    format!("logs {mode}: not a JSON line ({e}): {line}")
                });
                continue;
            }
        };
        let server = spans
            .all()
            .iter()
            .find(|s| meta(s, "http.url").is_some_and(|u| u.contains("/log?")));
        let Some(server) = server else {
            report.check(false, || {
                format!("logs {mode}: no server span for {target}")
            });
            continue;
        };
        let low = u64_field(server, "trace_id");
        let high = meta(server, "_dd.p.tid").and_then(|h| u64::from_str_radix(h, 16).ok());
        let trace_id = match high {
            Some(high) if full_ids && high != 0 => format!("{high:016x}{low:016x}"),
            _ => low.to_string(),
        };
        let expected = [
            ("dd.trace_id", trace_id),
            ("dd.span_id", u64_field(server, "span_id").to_string()),
            ("dd.service", service.clone()),
            ("dd.env", "staging".to_string()),
            ("dd.version", "2.1".to_string()),
        ];
        for (key, value) in expected {
            report.check(record[key].as_str() == Some(value.as_str()), || {
                format!(
                    "logs {mode}: {key} = {}, expected {value:?}: {line}",
                    record[key]
                )
            });
        }
        if full_ids {
            // Generated trace ids are 128-bit: this mode must show the 32-digit form.
            report.check(high.is_some_and(|h| h != 0), || {
                format!("logs {mode}: the server span has no 128-bit trace id to log")
            });
        }
        // The line written at start, outside any request, names no trace.
        let started = output.lines().find(|l| l.contains("conformance start"));
        report.check(
            started.is_some_and(|l| !l.contains("dd.trace_id") && !l.contains("dd.span_id")),
            || format!("logs {mode}: the start line should carry no ids: {started:?}"),
        );
    }
    report.finish(&format!("{} log correlation", spec.framework));
}
