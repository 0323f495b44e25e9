//! The conformance suite, run for every integration. Each framework's app is built on demand
//! and driven over HTTP; the Datadog test agent (`scripts/install-test-agent.sh`) receives the
//! traces.

use ddtrace_conformance::{suite, AppSpec};

const AXUM: AppSpec = AppSpec {
    framework: "axum",
    package: "ddtrace-examples",
    example: false,
    binary: "conformance-axum",
    users_route: "/users/{id}",
    status_route: "/status/{code}",
    route_known_on_panic: true,
};

#[test]
fn axum_routes() {
    suite::routes(&AXUM);
}

#[test]
fn axum_log_correlation() {
    suite::log_correlation(&AXUM);
}

#[test]
fn axum_client_spans() {
    suite::client_spans(&AXUM);
}

#[test]
fn axum_switched_off() {
    suite::switched_off(&AXUM);
}

#[test]
fn axum_hooks() {
    suite::hooks(&AXUM);
}

#[test]
fn axum_defaults_and_privacy() {
    suite::defaults_and_privacy(&AXUM);
}

#[test]
fn axum_config_variants() {
    suite::config_variants(&AXUM);
}

#[test]
fn axum_propagation_vectors() {
    suite::propagation_vectors(&AXUM);
}

/// The optional OpenTelemetry pipeline, for one framework: its known gaps and nothing else.
#[test]
fn axum_propagation_vectors_opentelemetry() {
    suite::propagation_vectors_opentelemetry(&AXUM);
}

#[test]
fn axum_http_vectors() {
    suite::http_vectors(&AXUM);
}

#[test]
fn axum_concurrency_and_disconnects() {
    suite::concurrency_and_disconnects(&AXUM);
}

/// axum 0.7, through ddtrace-axum's `axum-07` feature: the same layer, 0.7's extractors and
/// route syntax. Every group that depends on the framework; the load and agent-failure groups
/// exercise the core and run once, on 0.8.
const AXUM_07: AppSpec = AppSpec {
    framework: "axum",
    package: "ddtrace-examples",
    example: false,
    binary: "conformance-axum07",
    users_route: "/users/:id",
    status_route: "/status/:code",
    route_known_on_panic: true,
};

#[test]
fn axum07_routes() {
    suite::routes(&AXUM_07);
}

#[test]
fn axum07_log_correlation() {
    suite::log_correlation(&AXUM_07);
}

#[test]
fn axum07_client_spans() {
    suite::client_spans(&AXUM_07);
}

#[test]
fn axum07_switched_off() {
    suite::switched_off(&AXUM_07);
}

#[test]
fn axum07_hooks() {
    suite::hooks(&AXUM_07);
}

#[test]
fn axum07_defaults_and_privacy() {
    suite::defaults_and_privacy(&AXUM_07);
}

#[test]
fn axum07_config_variants() {
    suite::config_variants(&AXUM_07);
}

#[test]
fn axum07_propagation_vectors() {
    suite::propagation_vectors(&AXUM_07);
}

#[test]
fn axum07_http_vectors() {
    suite::http_vectors(&AXUM_07);
}

const ACTIX_WEB: AppSpec = AppSpec {
    framework: "actix-web",
    package: "ddtrace-examples",
    example: false,
    binary: "conformance-actix-web",
    users_route: "/users/{id}",
    status_route: "/status/{code}",
    route_known_on_panic: true,
};

#[test]
fn actix_web_routes() {
    suite::routes(&ACTIX_WEB);
}

#[test]
fn actix_web_log_correlation() {
    suite::log_correlation(&ACTIX_WEB);
}

#[test]
fn actix_web_client_spans() {
    suite::client_spans(&ACTIX_WEB);
}

#[test]
fn actix_web_switched_off() {
    suite::switched_off(&ACTIX_WEB);
}

#[test]
fn actix_web_hooks() {
    suite::hooks(&ACTIX_WEB);
}

#[test]
fn actix_web_defaults_and_privacy() {
    suite::defaults_and_privacy(&ACTIX_WEB);
}

#[test]
fn actix_web_config_variants() {
    suite::config_variants(&ACTIX_WEB);
}

#[test]
fn actix_web_propagation_vectors() {
    suite::propagation_vectors(&ACTIX_WEB);
}

#[test]
fn actix_web_http_vectors() {
    suite::http_vectors(&ACTIX_WEB);
}

#[test]
fn actix_web_concurrency_and_disconnects() {
    suite::concurrency_and_disconnects(&ACTIX_WEB);
}

const POEM: AppSpec = AppSpec {
    framework: "poem",
    package: "ddtrace-examples",
    example: false,
    binary: "conformance-poem",
    users_route: "/users/:id",
    status_route: "/status/:code",
    route_known_on_panic: false,
};

#[test]
fn poem_routes() {
    suite::routes(&POEM);
}

#[test]
fn poem_log_correlation() {
    suite::log_correlation(&POEM);
}

#[test]
fn poem_client_spans() {
    suite::client_spans(&POEM);
}

#[test]
fn poem_switched_off() {
    suite::switched_off(&POEM);
}

#[test]
fn poem_hooks() {
    suite::hooks(&POEM);
}

#[test]
fn poem_defaults_and_privacy() {
    suite::defaults_and_privacy(&POEM);
}

#[test]
fn poem_config_variants() {
    suite::config_variants(&POEM);
}

#[test]
fn poem_propagation_vectors() {
    suite::propagation_vectors(&POEM);
}

#[test]
fn poem_http_vectors() {
    suite::http_vectors(&POEM);
}

#[test]
fn poem_concurrency_and_disconnects() {
    suite::concurrency_and_disconnects(&POEM);
}

const ROCKET: AppSpec = AppSpec {
    framework: "rocket",
    package: "ddtrace-examples",
    example: false,
    binary: "conformance-rocket",
    users_route: "/users/<id>",
    status_route: "/status/<code>",
    route_known_on_panic: true,
};

#[test]
fn rocket_routes() {
    suite::routes(&ROCKET);
}

#[test]
fn rocket_log_correlation() {
    suite::log_correlation(&ROCKET);
}

#[test]
fn rocket_client_spans() {
    suite::client_spans(&ROCKET);
}

#[test]
fn rocket_switched_off() {
    suite::switched_off(&ROCKET);
}

#[test]
fn rocket_hooks() {
    suite::hooks(&ROCKET);
}

#[test]
fn rocket_defaults_and_privacy() {
    suite::defaults_and_privacy(&ROCKET);
}

#[test]
fn rocket_config_variants() {
    suite::config_variants(&ROCKET);
}

#[test]
fn rocket_propagation_vectors() {
    suite::propagation_vectors(&ROCKET);
}

#[test]
fn rocket_http_vectors() {
    suite::http_vectors(&ROCKET);
}

#[test]
fn rocket_concurrency_and_disconnects() {
    suite::concurrency_and_disconnects(&ROCKET);
}

#[test]
fn axum_agent_failures() {
    suite::agent_failures(&AXUM);
}

#[test]
fn actix_web_agent_failures() {
    suite::agent_failures(&ACTIX_WEB);
}

#[test]
fn poem_agent_failures() {
    suite::agent_failures(&POEM);
}

#[test]
fn rocket_agent_failures() {
    suite::agent_failures(&ROCKET);
}
