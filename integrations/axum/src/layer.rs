use crate::service::DatadogService;
use ddtrace_core::{Config, ConfigBuilder, ConfigError, Integration, RequestTracer, Tags};
use tower_layer::Layer;

/// The integration's name in `component` and its operation name.
pub(crate) const AXUM: Integration = Integration::new("axum", "axum.request");

/// A [`tower::Layer`](tower_layer::Layer) that traces every request of an axum [`Router`]
/// to Datadog.
///
/// Add it with [`Router::layer`] after the routes (and fallback) so it sees which route
/// matched; it then names each span's resource from the route template (`GET /users/{id}`),
/// nested routers included.
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use ddtrace_axum::DatadogLayer;
///
/// # async fn run() {
/// let _guard = ddtrace_core::init();
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "user" }))
///     .layer(DatadogLayer::new());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
/// axum::serve(listener, app).await.unwrap();
/// # }
/// ```
///
/// [`Router`]: axum::Router
/// [`Router::layer`]: axum::Router::layer
#[derive(Clone, Debug)]
pub struct DatadogLayer {
    tracer: RequestTracer,
}

impl DatadogLayer {
    /// A layer configured from the `DD_*` environment.
    pub fn new() -> Self {
        Self::with_config(Config::from_env())
    }

    /// A layer with a configuration built elsewhere.
    pub fn with_config(config: Config) -> Self {
        DatadogLayer {
            tracer: RequestTracer::new(AXUM, config),
        }
    }

    /// Starts a builder from the environment, to override settings in code.
    ///
    /// ```
    /// use ddtrace_axum::DatadogLayer;
    ///
    /// let layer = DatadogLayer::builder()
    ///     .service("shop-api")
    ///     .tags("env:staging, app:shop")
    ///     .header_tags("x-request-id:request_id")
    ///     .build()
    ///     .unwrap();
    /// # let _ = layer;
    /// assert!(DatadogLayer::builder().tags("no-colon").build().is_err());
    /// ```
    pub fn builder() -> DatadogLayerBuilder {
        DatadogLayerBuilder {
            config: Config::builder(),
        }
    }
}

impl Default for DatadogLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for DatadogLayer {
    type Service = DatadogService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DatadogService::new(inner, self.tracer.clone())
    }
}

/// Builds a [`DatadogLayer`]; each setting overrides its `DD_*` variable.
#[derive(Debug)]
#[must_use = "call .build() to get the layer"]
pub struct DatadogLayerBuilder {
    config: ConfigBuilder,
}

impl DatadogLayerBuilder {
    /// The service name of the request spans (default `DD_SERVICE`).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.config = self.config.service(service);
        self
    }

    /// Tags on every request span: `"env:staging, app:shop"` or key-value pairs.
    pub fn tags(mut self, tags: impl Into<Tags>) -> Self {
        self.config = self.config.tags(tags);
        self
    }

    /// Continue traces from incoming headers (default true).
    pub fn distributed_tracing(mut self, enabled: bool) -> Self {
        self.config = self.config.distributed_tracing(enabled);
        self
    }

    /// Headers to tag, `DD_TRACE_HEADER_TAGS` grammar.
    pub fn header_tags(mut self, spec: &str) -> Self {
        self.config = self.config.header_tags(spec);
        self
    }

    /// Statuses that are errors, e.g. `"500-599,429"`.
    pub fn server_error_statuses(mut self, spec: &str) -> Self {
        self.config = self.config.server_error_statuses(spec);
        self
    }

    /// The query obfuscation regex; `""` keeps the query verbatim.
    pub fn query_obfuscation_regex(mut self, pattern: &str) -> Self {
        self.config = self.config.query_obfuscation_regex(pattern);
        self
    }

    /// Collect `http.client_ip` (default false).
    pub fn client_ip(mut self, enabled: bool) -> Self {
        self.config = self.config.client_ip(enabled);
        self
    }

    /// The only header the client IP is read from.
    pub fn client_ip_header(mut self, header: &str) -> Self {
        self.config = self.config.client_ip_header(header);
        self
    }

    /// Validates the settings.
    pub fn build(self) -> Result<DatadogLayer, ConfigError> {
        Ok(DatadogLayer::with_config(self.config.build()?))
    }
}
