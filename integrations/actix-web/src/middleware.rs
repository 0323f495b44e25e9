use crate::future::ResponseFuture;
use crate::headers::ActixHeaders;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use ddtrace_core::{Config, ConfigBuilder, Integration, RequestInfo, RequestTracer};
use std::future::{ready, Ready};
use std::task::{Context, Poll};

/// The integration's name in `component` and its operation name.
pub(crate) const ACTIX_WEB: Integration = Integration::new("actix-web", "actix-web.request");

/// Builds a [`DatadogTracing`]: the same options as every integration, each overriding its
/// `DD_*` variable; `build()` reports the first invalid value.
#[doc = ddtrace_core::builder_options_doc!()]
pub type DatadogTracingBuilder = ConfigBuilder<DatadogTracing>;

/// actix-web middleware that traces every request to Datadog.
///
/// Install it on the `App` with `wrap`; it names each span's resource from actix's matched
/// route pattern (`GET /users/{id}`, scopes included), or `GET 404` when nothing matched.
///
/// ```no_run
/// use actix_web::{web, App, HttpServer};
/// use ddtrace_actix_web::DatadogTracing;
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let _guard = ddtrace_core::init();
///     HttpServer::new(|| {
///         App::new()
///             .wrap(DatadogTracing::new())
///             .route("/users/{id}", web::get().to(|| async { "user" }))
///     })
///     .bind(("127.0.0.1", 8080))?
///     .run()
///     .await
/// }
/// ```
#[derive(Clone, Debug)]
pub struct DatadogTracing {
    tracer: RequestTracer,
}

impl DatadogTracing {
    /// A middleware configured from the `DD_*` environment.
    pub fn new() -> Self {
        Self::with_config(Config::from_env())
    }

    /// A middleware with a configuration built elsewhere.
    pub fn with_config(config: Config) -> Self {
        DatadogTracing {
            tracer: RequestTracer::new(ACTIX_WEB, config),
        }
    }

    /// Starts a builder from the environment, to override settings in code.
    ///
    /// ```
    /// use ddtrace_actix_web::DatadogTracing;
    ///
    /// let middleware = DatadogTracing::builder()
    ///     .service("shop-api")
    ///     .tags("env:staging, app:shop")
    ///     .build()
    ///     .unwrap();
    /// # let _ = middleware;
    /// assert!(DatadogTracing::builder().server_error_statuses("5xx").build().is_err());
    /// ```
    pub fn builder() -> DatadogTracingBuilder {
        Config::builder().map(DatadogTracing::with_config)
    }
}

impl Default for DatadogTracing {
    fn default() -> Self {
        Self::new()
    }
}

impl<S, B> Transform<S, ServiceRequest> for DatadogTracing
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<crate::TracedBody<B>>;
    type Error = actix_web::Error;
    type Transform = DatadogTracingMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(DatadogTracingMiddleware {
            service,
            tracer: self.tracer.clone(),
        }))
    }
}

/// The service [`DatadogTracing`] wraps the application in.
#[derive(Debug)]
pub struct DatadogTracingMiddleware<S> {
    service: S,
    tracer: RequestTracer,
}

impl<S, B> Service<ServiceRequest> for DatadogTracingMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<crate::TracedBody<B>>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let headers = ActixHeaders(req.headers());
        let query = Some(req.query_string()).filter(|q| !q.is_empty());
        let scheme = if req.app_config().secure() {
            "https"
        } else {
            "http"
        };
        let info = RequestInfo::new(req.method().as_str(), req.path(), query, &headers)
            .scheme(scheme)
            .authority(req.uri().authority().map(|a| a.as_str()))
            .peer_ip(req.peer_addr().map(|a| a.ip()));
        let mut span = self.tracer.start(info);
        // Read before routing (actix matches the path against its resource map), so a request
        // whose handler panics still gets its route.
        if let Some(pattern) = req.match_pattern() {
            span.set_route(pattern);
        }
        // Routing and the handler may start work synchronously in `call`.
        let future = {
            let _entered = span.enter();
            self.service.call(req)
        };
        ResponseFuture::new(future, span)
    }
}
