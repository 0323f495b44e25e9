//! DDTRACE (5): the conformance suite in `tests/` (the same checks and vectors as every other
//! integration) run against this integration's conformance app.

use ddtrace_conformance::{suite, AppSpec};

const FOO: AppSpec = AppSpec {
    framework: "foo",
    package: "ddtrace-foo",
    binary: "conformance-foo",
    example: true,
    users_route: "/users/{id}",
    status_route: "/status/{code}",
    // The route is known from the response; a panicking handler has none (`GET 500`).
    route_known_on_panic: false,
};

#[test]
fn foo_routes() {
    suite::routes(&FOO);
}

#[test]
fn foo_log_correlation() {
    suite::log_correlation(&FOO);
}

#[test]
fn foo_client_spans() {
    suite::client_spans(&FOO);
}

#[test]
fn foo_switched_off() {
    suite::switched_off(&FOO);
}

#[test]
fn foo_hooks() {
    suite::hooks(&FOO);
}

#[test]
fn foo_defaults_and_privacy() {
    suite::defaults_and_privacy(&FOO);
}

#[test]
fn foo_config_variants() {
    suite::config_variants(&FOO);
}

#[test]
fn foo_propagation_vectors() {
    suite::propagation_vectors(&FOO);
}

#[test]
fn foo_http_vectors() {
    suite::http_vectors(&FOO);
}

#[test]
fn foo_agent_failures() {
    suite::agent_failures(&FOO);
}

#[test]
fn foo_concurrency_and_disconnects() {
    suite::concurrency_and_disconnects(&FOO);
}
