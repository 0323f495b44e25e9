use crate::endpoint::DatadogEndpoint;
use ddtrace_core::{Config, ConfigBuilder, Integration, RequestTracer};
use poem::{Endpoint, Middleware};

/// The integration's name in `component` and its operation name.
pub(crate) const POEM: Integration = Integration::new("poem", "poem.request");

/// Builds a [`DatadogMiddleware`]: the same options as every integration, each overriding its
/// `DD_*` variable; `build()` reports the first invalid value.
#[doc = ddtrace_core::builder_options_doc!()]
pub type DatadogMiddlewareBuilder = ConfigBuilder<DatadogMiddleware>;

/// poem middleware that traces every request to Datadog.
///
/// Add it to the `Route` with `.with(...)`; it names each span's resource from poem's matched
/// path pattern (`GET /users/:id`, nested routes included), or `GET 404` when nothing matched.
///
/// ```no_run
/// use ddtrace_poem::DatadogMiddleware;
/// use poem::{get, handler, listener::TcpListener, web::Path, EndpointExt, Route, Server};
///
/// #[handler]
/// fn user(Path(id): Path<String>) -> String {
///     format!("user {id}")
/// }
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     let _guard = ddtrace_core::init();
///     let app = Route::new().at("/users/:id", get(user)).with(DatadogMiddleware::new());
///     Server::new(TcpListener::bind("127.0.0.1:8080")).run(app).await
/// }
/// ```
#[derive(Clone, Debug)]
pub struct DatadogMiddleware {
    tracer: RequestTracer,
}

impl DatadogMiddleware {
    /// A middleware configured from the `DD_*` environment.
    pub fn new() -> Self {
        Self::with_config(Config::from_env())
    }

    /// A middleware with a configuration built elsewhere.
    pub fn with_config(config: Config) -> Self {
        DatadogMiddleware {
            tracer: RequestTracer::new(POEM, config),
        }
    }

    /// Starts a builder from the environment, to override settings in code.
    ///
    /// ```
    /// use ddtrace_poem::DatadogMiddleware;
    ///
    /// let middleware = DatadogMiddleware::builder()
    ///     .service("shop-api")
    ///     .tags("env:staging, app:shop")
    ///     .build()
    ///     .unwrap();
    /// # let _ = middleware;
    /// assert!(DatadogMiddleware::builder().client_ip_header("bad header").build().is_err());
    /// ```
    pub fn builder() -> DatadogMiddlewareBuilder {
        Config::builder().map(DatadogMiddleware::with_config)
    }
}

impl Default for DatadogMiddleware {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Endpoint> Middleware<E> for DatadogMiddleware {
    type Output = DatadogEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        DatadogEndpoint::new(ep, self.tracer.clone())
    }
}
