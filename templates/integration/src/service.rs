use crate::future::ResponseFuture;
use ddtrace_core::{Config, ConfigBuilder, Integration, RequestInfo, RequestTracer};
use http::Request;
use std::net::IpAddr;

/// The integration's name in `component` and its operation name `<name>.request`.
pub(crate) const FOO: Integration = Integration::new("foo", "foo.request");

/// Builds a [`FooTracing`]: the same options as every integration, each overriding its
/// `DD_*` variable; `build()` reports the first invalid value.
#[doc = ddtrace_core::builder_options_doc!()]
pub type FooTracingBuilder = ConfigBuilder<FooTracing>;

/// Traces every request of a foo service to Datadog.
///
/// ```
/// use ddtrace_foo::FooTracing;
///
/// let tracing = FooTracing::builder().service("shop-api").build().unwrap();
/// # let _ = tracing;
/// assert!(FooTracing::builder().tags("no-colon").build().is_err());
/// ```
#[derive(Clone, Debug)]
pub struct FooTracing {
    tracer: RequestTracer,
}

impl FooTracing {
    /// Configured from the `DD_*` environment.
    pub fn new() -> Self {
        Self::with_config(Config::from_env())
    }

    /// With a configuration built elsewhere.
    pub fn with_config(config: Config) -> Self {
        FooTracing {
            tracer: RequestTracer::new(FOO, config),
        }
    }

    /// Starts a builder from the environment, to override settings in code.
    pub fn builder() -> FooTracingBuilder {
        Config::builder().map(FooTracing::with_config)
    }

    /// Wraps the application's service.
    pub fn wrap<S>(&self, inner: S) -> TracedService<S> {
        TracedService {
            inner,
            tracer: self.tracer.clone(),
            peer: None,
        }
    }
}

impl Default for FooTracing {
    fn default() -> Self {
        Self::new()
    }
}

/// The application's service, traced.
#[derive(Clone, Debug)]
pub struct TracedService<S> {
    inner: S,
    tracer: RequestTracer,
    peer: Option<IpAddr>,
}

impl<S> TracedService<S> {
    /// The connection's peer address, for client IP resolution (one service per connection).
    pub fn with_peer(mut self, peer: Option<IpAddr>) -> Self {
        self.peer = peer;
        self
    }
}

impl<S, B, ResBody> hyper::service::Service<Request<B>> for TracedService<S>
where
    S: hyper::service::Service<Request<B>, Response = http::Response<ResBody>>,
    S::Error: std::fmt::Display,
{
    type Response = http::Response<ddtrace_core::TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn call(&self, req: Request<B>) -> Self::Future {
        // DDTRACE (1): the request span starts here, before any application code, from what
        // the framework knows of the request (method, target, headers, peer).
        let span = self
            .tracer
            .start(RequestInfo::from_request(&req).peer_ip(self.peer));
        // The inner service may start work synchronously: run it in the span's context.
        let future = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        ResponseFuture::new(future, span)
    }
}
