use async_trait::async_trait;
use ddtrace_core::{ClientConfig, ClientSpan, ErrorInfo};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next, Result};
use std::sync::Arc;

/// The reqwest middleware: a client span per request, and the trace context in its headers.
///
/// ```
/// use ddtrace_core::ClientConfig;
/// use ddtrace_reqwest::DatadogMiddleware;
///
/// // From the environment (`DD_TRACE_HTTP_CLIENT_*`)...
/// let middleware = DatadogMiddleware::new();
/// // ...or configured in code.
/// let middleware = DatadogMiddleware::with_config(ClientConfig::from_env().split_by_domain(true));
/// # let _ = middleware;
/// ```
#[derive(Clone, Debug)]
pub struct DatadogMiddleware {
    config: Arc<ClientConfig>,
}

impl Default for DatadogMiddleware {
    fn default() -> Self {
        DatadogMiddleware::new()
    }
}

impl DatadogMiddleware {
    /// Configured from the `DD_*` environment ([`ClientConfig::from_env`]).
    pub fn new() -> Self {
        DatadogMiddleware::with_config(ClientConfig::from_env())
    }

    /// With a configuration built in code.
    pub fn with_config(config: ClientConfig) -> Self {
        DatadogMiddleware {
            config: Arc::new(config),
        }
    }
}

/// Baggage items one request carries (and the rest of its trace after it), set through the
/// request's extensions.
///
/// ```
/// let baggage = ddtrace_reqwest::Baggage::new().with("user.id", "42");
/// # let _ = baggage;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Baggage(Vec<(String, String)>);

impl Baggage {
    /// No items.
    pub fn new() -> Self {
        Baggage::default()
    }

    /// Adds an item.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.push((key.into(), value.into()));
        self
    }
}

#[async_trait]
impl Middleware for DatadogMiddleware {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        let mut span = ClientSpan::start_with(
            &self.config,
            "reqwest",
            "reqwest.request",
            req.method().as_str(),
            req.url().as_str(),
        );
        if let Some(baggage) = extensions.get::<Baggage>() {
            for (key, value) in &baggage.0 {
                span.set_baggage(key, value);
            }
        }
        span.inject(req.headers_mut());
        let result = next.run(req, extensions).await;
        match &result {
            Ok(response) => span.record_status(response.status().as_u16()),
            Err(error) => span.record_error(ErrorInfo::new(error_type(error), chain(error))),
        }
        span.finish();
        result
    }
}

/// The error's type, as the kind of failure: reqwest's own when it is one.
fn error_type(error: &reqwest_middleware::Error) -> &'static str {
    match error {
        reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "reqwest::Error (timeout)",
        reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "reqwest::Error (connect)",
        reqwest_middleware::Error::Reqwest(_) => "reqwest::Error",
        reqwest_middleware::Error::Middleware(_) => "reqwest_middleware::Error",
    }
}

/// The error and its causes, `: `-separated: reqwest's own message names only the URL, the
/// cause (`Connection refused`) is further down the chain.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
