use crate::service::DatadogGrpcService;
use ddtrace_core::{Config, ConfigBuilder, Integration, RequestTracer};

/// The integration: `component` `tonic`, operation `grpc.server`.
pub(crate) const TONIC: Integration = Integration::grpc_server("tonic");

/// Builds a [`DatadogGrpcLayer`]: the same options as every integration, each overriding its
/// `DD_*` variable; `build()` reports the first invalid value. For a gRPC server, `ignore`
/// and `resource_name` see the call's full method as the request's path, and which codes are
/// errors is `grpc_server_error_statuses` (`DD_GRPC_SERVER_ERROR_STATUSES`).
#[doc = ddtrace_core::builder_options_doc!()]
pub type DatadogGrpcLayerBuilder = ConfigBuilder<DatadogGrpcLayer>;

/// Traces every call a tonic server handles: `Server::builder().layer(DatadogGrpcLayer::new())`.
///
/// ```
/// use ddtrace_tonic::DatadogGrpcLayer;
///
/// let layer = DatadogGrpcLayer::builder()
///     .service("inventory")
///     // Health checks get no span.
///     .ignore(|req| req.path().starts_with("/grpc.health.v1.Health/"))
///     // NOT_FOUND is an answer, not an error, for this service.
///     .grpc_server_error_statuses("2-4,6-16")
///     .build()
///     .unwrap();
/// # let _ = layer;
/// ```
#[derive(Clone, Debug)]
pub struct DatadogGrpcLayer {
    tracer: RequestTracer,
}

impl DatadogGrpcLayer {
    /// Configured from the `DD_*` environment.
    pub fn new() -> Self {
        Self::with_config(Config::from_env())
    }

    /// With a configuration built elsewhere.
    pub fn with_config(config: Config) -> Self {
        DatadogGrpcLayer {
            tracer: RequestTracer::new(TONIC, config),
        }
    }

    /// Starts a builder from the environment, to override settings in code.
    pub fn builder() -> DatadogGrpcLayerBuilder {
        Config::builder().map(DatadogGrpcLayer::with_config)
    }
}

impl Default for DatadogGrpcLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> tower_layer::Layer<S> for DatadogGrpcLayer {
    type Service = DatadogGrpcService<S>;

    fn layer(&self, inner: S) -> DatadogGrpcService<S> {
        DatadogGrpcService::new(inner, self.tracer.clone())
    }
}
