use ddtrace_core::grpc::{complete_grpc_client_response, GrpcBody, GrpcTarget};
use ddtrace_core::{ClientConfig, ClientSpan};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Traces every call made through a tonic channel: a `grpc.client` span, a child of the span
/// current when the call is made (the request being handled), whose trace context goes into
/// the call's metadata.
///
/// ```
/// use ddtrace_tonic::DatadogGrpcClientLayer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let channel = tonic::transport::Endpoint::from_static("http://inventory:50051").connect_lazy();
/// let traced = tower::ServiceBuilder::new()
///     .layer(DatadogGrpcClientLayer::new().target("inventory:50051"))
///     .service(channel);
/// # let _ = traced;
/// # }
/// ```
///
/// Which status codes make the span an error is `DD_GRPC_CLIENT_ERROR_STATUSES` (default
/// `1-16`), or [`ClientConfig::grpc_error_statuses`] with [`DatadogGrpcClientLayer::with_config`].
#[derive(Clone, Debug)]
pub struct DatadogGrpcClientLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: ClientConfig,
    // Read once here, shared by every call's span.
    target: Option<GrpcTarget>,
}

impl Default for DatadogGrpcClientLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl DatadogGrpcClientLayer {
    /// Configured from the `DD_*` environment ([`ClientConfig::from_env`]).
    pub fn new() -> Self {
        Self::with_config(ClientConfig::from_env())
    }

    /// With a configuration built in code.
    pub fn with_config(config: ClientConfig) -> Self {
        DatadogGrpcClientLayer {
            shared: Arc::new(Shared {
                config,
                target: None,
            }),
        }
    }

    /// Where the channel connects (`inventory:50051` or its URI): `out.host`,
    /// `network.destination.port` and `peer.service` come from it. A channel adds its
    /// endpoint's address inside itself, after this layer, so the layer cannot see it.
    /// A target that names no host adds none of these tags.
    pub fn target(self, target: impl AsRef<str>) -> Self {
        DatadogGrpcClientLayer {
            shared: Arc::new(Shared {
                config: self.shared.config.clone(),
                target: GrpcTarget::parse(target.as_ref()),
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for DatadogGrpcClientLayer {
    type Service = DatadogGrpcClientService<S>;

    fn layer(&self, inner: S) -> DatadogGrpcClientService<S> {
        DatadogGrpcClientService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// A channel, traced: made by [`DatadogGrpcClientLayer`].
#[derive(Clone, Debug)]
pub struct DatadogGrpcClientService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, B, R> tower_service::Service<http::Request<B>> for DatadogGrpcClientService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: std::fmt::Display,
{
    type Response = http::Response<GrpcBody<R>>;
    type Error = S::Error;
    type Future = ClientResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let shared = &self.shared;
        // A client built `with_origin` has the address in the URI already (read per call:
        // only the request knows it).
        let from_uri;
        let target = match &shared.target {
            Some(target) => Some(target),
            None => {
                from_uri = req
                    .uri()
                    .authority()
                    .and_then(|a| GrpcTarget::parse(a.as_str()));
                from_uri.as_ref()
            }
        };
        let mut span = ClientSpan::start_grpc(&shared.config, "tonic", req.uri().path(), target);
        span.inject(req.headers_mut());
        ClientResponseFuture {
            inner: self.inner.call(req),
            span: Some(span),
        }
    }
}

pin_project! {
    /// The response future of [`DatadogGrpcClientService`]: the span travels on with the
    /// response body, which reads the call's status from the trailers.
    pub struct ClientResponseFuture<F> {
        #[pin]
        inner: F,
        span: Option<ClientSpan>,
    }
}

impl<F, R, E> Future for ClientResponseFuture<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    E: std::fmt::Display,
{
    type Output = Result<http::Response<GrpcBody<R>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.inner.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        Poll::Ready(match this.span.take() {
            Some(span) => complete_grpc_client_response(span, result),
            None => result.map(|res| res.map(GrpcBody::untraced)),
        })
    }
}
