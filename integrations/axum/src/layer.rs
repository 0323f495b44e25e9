use crate::service::DatadogService;
use ddtrace_core::{Config, ConfigBuilder, Integration, RequestTracer};
use tower_layer::Layer;

/// Builds a [`DatadogLayer`]: the same options as every integration, each overriding its
/// `DD_*` variable; `build()` reports the first invalid value.
#[doc = ddtrace_core::builder_options_doc!()]
pub type DatadogLayerBuilder = ConfigBuilder<DatadogLayer>;

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
        Config::builder().map(DatadogLayer::with_config)
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
